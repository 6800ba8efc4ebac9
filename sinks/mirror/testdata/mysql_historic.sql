-- introspection (drift check)
SELECT column_name, data_type, character_maximum_length, column_type FROM information_schema.columns
 WHERE table_schema = DATABASE() AND table_name = ?;

-- create facetter
CREATE TABLE IF NOT EXISTS `facetter` (
  `uuid` VARCHAR(36) NOT NULL,
  `bvn` VARCHAR(250),
  PRIMARY KEY (`uuid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create klasser
CREATE TABLE IF NOT EXISTS `klasser` (
  `uuid` VARCHAR(36) NOT NULL,
  `bvn` VARCHAR(250),
  `titel` VARCHAR(250),
  `facet_uuid` VARCHAR(36),
  `facet_bvn` VARCHAR(250),
  PRIMARY KEY (`uuid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create brugere
CREATE TABLE IF NOT EXISTS `brugere` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `bvn` VARCHAR(250),
  `fornavn` VARCHAR(250),
  `efternavn` VARCHAR(250),
  `kaldenavn_fornavn` VARCHAR(250),
  `kaldenavn_efternavn` VARCHAR(250),
  `cpr` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create enheder
CREATE TABLE IF NOT EXISTS `enheder` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `navn` VARCHAR(250),
  `bvn` VARCHAR(250),
  `forældreenhed_uuid` VARCHAR(36),
  `enhedstype_uuid` VARCHAR(36),
  `enhedstype_titel` VARCHAR(250),
  `enhedsniveau_uuid` VARCHAR(36),
  `enhedsniveau_titel` VARCHAR(250),
  `tidsregistrering_uuid` VARCHAR(36),
  `tidsregistrering_titel` VARCHAR(250),
  `organisatorisk_sti` VARCHAR(1000),
  `leder_uuid` VARCHAR(36),
  `fungerende_leder_uuid` VARCHAR(36),
  `opmærkning_uuid` VARCHAR(36),
  `opmærkning_titel` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create adresser
CREATE TABLE IF NOT EXISTS `adresser` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `bvn` VARCHAR(250),
  `bruger_uuid` VARCHAR(36),
  `enhed_uuid` VARCHAR(36),
  `engagement_uuid` VARCHAR(36),
  `ituser_uuid` VARCHAR(36),
  `værdi` VARCHAR(250),
  `dar_uuid` VARCHAR(36),
  `adressetype_uuid` VARCHAR(36),
  `adressetype_bvn` VARCHAR(250),
  `adressetype_scope` VARCHAR(250),
  `adressetype_titel` VARCHAR(250),
  `synlighed_uuid` VARCHAR(36),
  `synlighed_scope` VARCHAR(250),
  `synlighed_titel` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create engagementer
CREATE TABLE IF NOT EXISTS `engagementer` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `bruger_uuid` VARCHAR(36),
  `enhed_uuid` VARCHAR(36),
  `bvn` VARCHAR(250),
  `arbejdstidsfraktion` INT,
  `engagementstype_uuid` VARCHAR(36),
  `engagementstype_titel` VARCHAR(250),
  `primærtype_uuid` VARCHAR(36),
  `primærtype_titel` VARCHAR(250),
  `stillingsbetegnelse_uuid` VARCHAR(36),
  `stillingsbetegnelse_titel` VARCHAR(250),
  `primær_boolean` BOOLEAN,
  `udvidelse_1` VARCHAR(250),
  `udvidelse_2` VARCHAR(250),
  `udvidelse_3` VARCHAR(250),
  `udvidelse_4` VARCHAR(250),
  `udvidelse_5` VARCHAR(250),
  `udvidelse_6` VARCHAR(250),
  `udvidelse_7` VARCHAR(250),
  `udvidelse_8` VARCHAR(250),
  `udvidelse_9` VARCHAR(250),
  `udvidelse_10` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create tilknytninger
CREATE TABLE IF NOT EXISTS `tilknytninger` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `bvn` VARCHAR(250),
  `bruger_uuid` VARCHAR(36),
  `enhed_uuid` VARCHAR(36),
  `tilknytningstype_uuid` VARCHAR(36),
  `tilknytningstype_titel` VARCHAR(250),
  `stillingsbetegnelse_uuid` VARCHAR(36),
  `stillingsbetegnelse_titel` VARCHAR(250),
  `it_forbindelse_uuid` VARCHAR(36),
  `primær_boolean` BOOLEAN,
  `faglig_organisation` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create orlover
CREATE TABLE IF NOT EXISTS `orlover` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `bvn` VARCHAR(250),
  `bruger_uuid` VARCHAR(36),
  `orlovstype_uuid` VARCHAR(36),
  `orlovstype_titel` VARCHAR(250),
  `engagement_uuid` VARCHAR(36),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create it_systemer
CREATE TABLE IF NOT EXISTS `it_systemer` (
  `uuid` VARCHAR(36) NOT NULL,
  `navn` VARCHAR(250),
  PRIMARY KEY (`uuid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create it_forbindelser
CREATE TABLE IF NOT EXISTS `it_forbindelser` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `it_system_uuid` VARCHAR(36),
  `bruger_uuid` VARCHAR(36),
  `enhed_uuid` VARCHAR(36),
  `brugernavn` VARCHAR(250),
  `eksternt_id` VARCHAR(250),
  `primær_boolean` BOOLEAN,
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create it_forbindelse_engagementer
CREATE TABLE IF NOT EXISTS `it_forbindelse_engagementer` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `it_forbindelse_uuid` VARCHAR(36) NOT NULL,
  `engagement_uuid` VARCHAR(36) NOT NULL,
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`it_forbindelse_uuid`, `engagement_uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create ledere
CREATE TABLE IF NOT EXISTS `ledere` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `bruger_uuid` VARCHAR(36),
  `enhed_uuid` VARCHAR(36),
  `ledertype_uuid` VARCHAR(36),
  `ledertype_titel` VARCHAR(250),
  `niveautype_uuid` VARCHAR(36),
  `niveautype_titel` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create leder_ansvar
CREATE TABLE IF NOT EXISTS `leder_ansvar` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `leder_uuid` VARCHAR(36) NOT NULL,
  `lederansvar_uuid` VARCHAR(36) NOT NULL,
  `lederansvar_titel` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`leder_uuid`, `lederansvar_uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create kle
CREATE TABLE IF NOT EXISTS `kle` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `enhed_uuid` VARCHAR(36),
  `kle_aspekt_uuid` VARCHAR(36) NOT NULL,
  `kle_aspekt_titel` VARCHAR(250),
  `kle_nummer_uuid` VARCHAR(36),
  `kle_nummer_titel` VARCHAR(250),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `kle_aspekt_uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create enhedssammenkobling
CREATE TABLE IF NOT EXISTS `enhedssammenkobling` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `enhed1_uuid` VARCHAR(36),
  `enhed2_uuid` VARCHAR(36),
  `startdato` VARCHAR(10) NOT NULL,
  `slutdato` VARCHAR(10) NOT NULL,
  UNIQUE KEY `mocdc_key` (`uuid`, `startdato`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create dar_adresser
CREATE TABLE IF NOT EXISTS `dar_adresser` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(36) NOT NULL,
  `vejkode` VARCHAR(8),
  `vejnavn` VARCHAR(250),
  `husnr` VARCHAR(8),
  `etage` VARCHAR(16),
  `dør` VARCHAR(8),
  `postnr` VARCHAR(8),
  `postnrnavn` VARCHAR(250),
  `kommunekode` VARCHAR(8),
  `adgangsadresseid` VARCHAR(36),
  `betegnelse` VARCHAR(250)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create kvittering
CREATE TABLE IF NOT EXISTS `kvittering` (
  `id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `query_tid` DATETIME(6),
  `start_levering_tid` DATETIME(6),
  `slut_levering_tid` DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create mocdc_objects
CREATE TABLE IF NOT EXISTS `mocdc_objects` (
  `type` VARCHAR(32) NOT NULL,
  `uuid` VARCHAR(36) NOT NULL,
  `json` LONGTEXT NOT NULL,
  `next_change` VARCHAR(10),
  PRIMARY KEY (`type`, `uuid`),
  KEY `mocdc_next_change` (`next_change`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create mocdc_refs
CREATE TABLE IF NOT EXISTS `mocdc_refs` (
  `ref` VARCHAR(36) NOT NULL,
  `type` VARCHAR(32) NOT NULL,
  `uuid` VARCHAR(36) NOT NULL,
  PRIMARY KEY (`ref`, `type`, `uuid`),
  KEY `mocdc_uuid_type` (`uuid`, `type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create mocdc_offsets
CREATE TABLE IF NOT EXISTS `mocdc_offsets` (
  `topic` VARCHAR(249) NOT NULL,
  `partition_no` INT NOT NULL,
  `next_offset` BIGINT NOT NULL,
  PRIMARY KEY (`topic`, `partition_no`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- create mocdc_meta
CREATE TABLE IF NOT EXISTS `mocdc_meta` (
  `name` VARCHAR(64) NOT NULL,
  `value` VARCHAR(255),
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- rebuild drops (one per table)
DROP TABLE IF EXISTS `enheder`;

-- session setup
SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_TRANS_TABLES');

-- session staging: owner keys
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_keys` (`tbl` VARCHAR(64), `k1` VARCHAR(64), `k2` VARCHAR(64), KEY `mocdc_key` (`tbl`, `k1`, `k2`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_keys`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_keys` (`tbl` VARCHAR(64), `k1` VARCHAR(64), `k2` VARCHAR(64), KEY `mocdc_key` (`tbl`, `k1`, `k2`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- mysql bulk load (staging)
LOAD DATA LOCAL INFILE 'Reader::mocdc_1' INTO TABLE `mocdc_stg_keys` CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' (`tbl`, `k1`, `k2`);

-- staging facetter
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_facetter` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), KEY `mocdc_key` (`uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_facetter`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_facetter` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), KEY `mocdc_key` (`uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of facetter
DELETE t FROM `facetter` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'facetter' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_facetter` s WHERE s.`uuid` = t.`uuid`);

-- upsert facetter
INSERT INTO `facetter` (`uuid`, `bvn`) SELECT `uuid`, `bvn` FROM `mocdc_stg_facetter` ON DUPLICATE KEY UPDATE `bvn` = VALUES(`bvn`);

-- staging klasser
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_klasser` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `titel` VARCHAR(250), `facet_uuid` VARCHAR(36), `facet_bvn` VARCHAR(250), KEY `mocdc_key` (`uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_klasser`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_klasser` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `titel` VARCHAR(250), `facet_uuid` VARCHAR(36), `facet_bvn` VARCHAR(250), KEY `mocdc_key` (`uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of klasser
DELETE t FROM `klasser` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'klasser' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_klasser` s WHERE s.`uuid` = t.`uuid`);

-- upsert klasser
INSERT INTO `klasser` (`uuid`, `bvn`, `titel`, `facet_uuid`, `facet_bvn`) SELECT `uuid`, `bvn`, `titel`, `facet_uuid`, `facet_bvn` FROM `mocdc_stg_klasser` ON DUPLICATE KEY UPDATE `bvn` = VALUES(`bvn`), `titel` = VALUES(`titel`), `facet_uuid` = VALUES(`facet_uuid`), `facet_bvn` = VALUES(`facet_bvn`);

-- staging brugere
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_brugere` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `fornavn` VARCHAR(250), `efternavn` VARCHAR(250), `kaldenavn_fornavn` VARCHAR(250), `kaldenavn_efternavn` VARCHAR(250), `cpr` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_brugere`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_brugere` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `fornavn` VARCHAR(250), `efternavn` VARCHAR(250), `kaldenavn_fornavn` VARCHAR(250), `kaldenavn_efternavn` VARCHAR(250), `cpr` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of brugere
DELETE t FROM `brugere` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'brugere' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_brugere` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert brugere
UPDATE `brugere` AS t JOIN `mocdc_stg_brugere` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`bvn` = s.`bvn`, t.`fornavn` = s.`fornavn`, t.`efternavn` = s.`efternavn`, t.`kaldenavn_fornavn` = s.`kaldenavn_fornavn`, t.`kaldenavn_efternavn` = s.`kaldenavn_efternavn`, t.`cpr` = s.`cpr`, t.`slutdato` = s.`slutdato`;
INSERT INTO `brugere` (`uuid`, `bvn`, `fornavn`, `efternavn`, `kaldenavn_fornavn`, `kaldenavn_efternavn`, `cpr`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`bvn`, s.`fornavn`, s.`efternavn`, s.`kaldenavn_fornavn`, s.`kaldenavn_efternavn`, s.`cpr`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_brugere` AS s LEFT JOIN `brugere` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging enheder
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_enheder` (`uuid` VARCHAR(36), `navn` VARCHAR(250), `bvn` VARCHAR(250), `forældreenhed_uuid` VARCHAR(36), `enhedstype_uuid` VARCHAR(36), `enhedstype_titel` VARCHAR(250), `enhedsniveau_uuid` VARCHAR(36), `enhedsniveau_titel` VARCHAR(250), `tidsregistrering_uuid` VARCHAR(36), `tidsregistrering_titel` VARCHAR(250), `organisatorisk_sti` VARCHAR(1000), `leder_uuid` VARCHAR(36), `fungerende_leder_uuid` VARCHAR(36), `opmærkning_uuid` VARCHAR(36), `opmærkning_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_enheder`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_enheder` (`uuid` VARCHAR(36), `navn` VARCHAR(250), `bvn` VARCHAR(250), `forældreenhed_uuid` VARCHAR(36), `enhedstype_uuid` VARCHAR(36), `enhedstype_titel` VARCHAR(250), `enhedsniveau_uuid` VARCHAR(36), `enhedsniveau_titel` VARCHAR(250), `tidsregistrering_uuid` VARCHAR(36), `tidsregistrering_titel` VARCHAR(250), `organisatorisk_sti` VARCHAR(1000), `leder_uuid` VARCHAR(36), `fungerende_leder_uuid` VARCHAR(36), `opmærkning_uuid` VARCHAR(36), `opmærkning_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of enheder
DELETE t FROM `enheder` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'enheder' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_enheder` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert enheder
UPDATE `enheder` AS t JOIN `mocdc_stg_enheder` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`navn` = s.`navn`, t.`bvn` = s.`bvn`, t.`forældreenhed_uuid` = s.`forældreenhed_uuid`, t.`enhedstype_uuid` = s.`enhedstype_uuid`, t.`enhedstype_titel` = s.`enhedstype_titel`, t.`enhedsniveau_uuid` = s.`enhedsniveau_uuid`, t.`enhedsniveau_titel` = s.`enhedsniveau_titel`, t.`tidsregistrering_uuid` = s.`tidsregistrering_uuid`, t.`tidsregistrering_titel` = s.`tidsregistrering_titel`, t.`organisatorisk_sti` = s.`organisatorisk_sti`, t.`leder_uuid` = s.`leder_uuid`, t.`fungerende_leder_uuid` = s.`fungerende_leder_uuid`, t.`opmærkning_uuid` = s.`opmærkning_uuid`, t.`opmærkning_titel` = s.`opmærkning_titel`, t.`slutdato` = s.`slutdato`;
INSERT INTO `enheder` (`uuid`, `navn`, `bvn`, `forældreenhed_uuid`, `enhedstype_uuid`, `enhedstype_titel`, `enhedsniveau_uuid`, `enhedsniveau_titel`, `tidsregistrering_uuid`, `tidsregistrering_titel`, `organisatorisk_sti`, `leder_uuid`, `fungerende_leder_uuid`, `opmærkning_uuid`, `opmærkning_titel`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`navn`, s.`bvn`, s.`forældreenhed_uuid`, s.`enhedstype_uuid`, s.`enhedstype_titel`, s.`enhedsniveau_uuid`, s.`enhedsniveau_titel`, s.`tidsregistrering_uuid`, s.`tidsregistrering_titel`, s.`organisatorisk_sti`, s.`leder_uuid`, s.`fungerende_leder_uuid`, s.`opmærkning_uuid`, s.`opmærkning_titel`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_enheder` AS s LEFT JOIN `enheder` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging adresser
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_adresser` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `engagement_uuid` VARCHAR(36), `ituser_uuid` VARCHAR(36), `værdi` VARCHAR(250), `dar_uuid` VARCHAR(36), `adressetype_uuid` VARCHAR(36), `adressetype_bvn` VARCHAR(250), `adressetype_scope` VARCHAR(250), `adressetype_titel` VARCHAR(250), `synlighed_uuid` VARCHAR(36), `synlighed_scope` VARCHAR(250), `synlighed_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_adresser`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_adresser` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `engagement_uuid` VARCHAR(36), `ituser_uuid` VARCHAR(36), `værdi` VARCHAR(250), `dar_uuid` VARCHAR(36), `adressetype_uuid` VARCHAR(36), `adressetype_bvn` VARCHAR(250), `adressetype_scope` VARCHAR(250), `adressetype_titel` VARCHAR(250), `synlighed_uuid` VARCHAR(36), `synlighed_scope` VARCHAR(250), `synlighed_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of adresser
DELETE t FROM `adresser` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'adresser' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_adresser` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert adresser
UPDATE `adresser` AS t JOIN `mocdc_stg_adresser` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`bvn` = s.`bvn`, t.`bruger_uuid` = s.`bruger_uuid`, t.`enhed_uuid` = s.`enhed_uuid`, t.`engagement_uuid` = s.`engagement_uuid`, t.`ituser_uuid` = s.`ituser_uuid`, t.`værdi` = s.`værdi`, t.`dar_uuid` = s.`dar_uuid`, t.`adressetype_uuid` = s.`adressetype_uuid`, t.`adressetype_bvn` = s.`adressetype_bvn`, t.`adressetype_scope` = s.`adressetype_scope`, t.`adressetype_titel` = s.`adressetype_titel`, t.`synlighed_uuid` = s.`synlighed_uuid`, t.`synlighed_scope` = s.`synlighed_scope`, t.`synlighed_titel` = s.`synlighed_titel`, t.`slutdato` = s.`slutdato`;
INSERT INTO `adresser` (`uuid`, `bvn`, `bruger_uuid`, `enhed_uuid`, `engagement_uuid`, `ituser_uuid`, `værdi`, `dar_uuid`, `adressetype_uuid`, `adressetype_bvn`, `adressetype_scope`, `adressetype_titel`, `synlighed_uuid`, `synlighed_scope`, `synlighed_titel`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`bvn`, s.`bruger_uuid`, s.`enhed_uuid`, s.`engagement_uuid`, s.`ituser_uuid`, s.`værdi`, s.`dar_uuid`, s.`adressetype_uuid`, s.`adressetype_bvn`, s.`adressetype_scope`, s.`adressetype_titel`, s.`synlighed_uuid`, s.`synlighed_scope`, s.`synlighed_titel`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_adresser` AS s LEFT JOIN `adresser` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging engagementer
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_engagementer` (`uuid` VARCHAR(36), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `bvn` VARCHAR(250), `arbejdstidsfraktion` INT, `engagementstype_uuid` VARCHAR(36), `engagementstype_titel` VARCHAR(250), `primærtype_uuid` VARCHAR(36), `primærtype_titel` VARCHAR(250), `stillingsbetegnelse_uuid` VARCHAR(36), `stillingsbetegnelse_titel` VARCHAR(250), `primær_boolean` BOOLEAN, `udvidelse_1` VARCHAR(250), `udvidelse_2` VARCHAR(250), `udvidelse_3` VARCHAR(250), `udvidelse_4` VARCHAR(250), `udvidelse_5` VARCHAR(250), `udvidelse_6` VARCHAR(250), `udvidelse_7` VARCHAR(250), `udvidelse_8` VARCHAR(250), `udvidelse_9` VARCHAR(250), `udvidelse_10` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_engagementer`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_engagementer` (`uuid` VARCHAR(36), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `bvn` VARCHAR(250), `arbejdstidsfraktion` INT, `engagementstype_uuid` VARCHAR(36), `engagementstype_titel` VARCHAR(250), `primærtype_uuid` VARCHAR(36), `primærtype_titel` VARCHAR(250), `stillingsbetegnelse_uuid` VARCHAR(36), `stillingsbetegnelse_titel` VARCHAR(250), `primær_boolean` BOOLEAN, `udvidelse_1` VARCHAR(250), `udvidelse_2` VARCHAR(250), `udvidelse_3` VARCHAR(250), `udvidelse_4` VARCHAR(250), `udvidelse_5` VARCHAR(250), `udvidelse_6` VARCHAR(250), `udvidelse_7` VARCHAR(250), `udvidelse_8` VARCHAR(250), `udvidelse_9` VARCHAR(250), `udvidelse_10` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of engagementer
DELETE t FROM `engagementer` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'engagementer' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_engagementer` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert engagementer
UPDATE `engagementer` AS t JOIN `mocdc_stg_engagementer` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`bruger_uuid` = s.`bruger_uuid`, t.`enhed_uuid` = s.`enhed_uuid`, t.`bvn` = s.`bvn`, t.`arbejdstidsfraktion` = s.`arbejdstidsfraktion`, t.`engagementstype_uuid` = s.`engagementstype_uuid`, t.`engagementstype_titel` = s.`engagementstype_titel`, t.`primærtype_uuid` = s.`primærtype_uuid`, t.`primærtype_titel` = s.`primærtype_titel`, t.`stillingsbetegnelse_uuid` = s.`stillingsbetegnelse_uuid`, t.`stillingsbetegnelse_titel` = s.`stillingsbetegnelse_titel`, t.`primær_boolean` = s.`primær_boolean`, t.`udvidelse_1` = s.`udvidelse_1`, t.`udvidelse_2` = s.`udvidelse_2`, t.`udvidelse_3` = s.`udvidelse_3`, t.`udvidelse_4` = s.`udvidelse_4`, t.`udvidelse_5` = s.`udvidelse_5`, t.`udvidelse_6` = s.`udvidelse_6`, t.`udvidelse_7` = s.`udvidelse_7`, t.`udvidelse_8` = s.`udvidelse_8`, t.`udvidelse_9` = s.`udvidelse_9`, t.`udvidelse_10` = s.`udvidelse_10`, t.`slutdato` = s.`slutdato`;
INSERT INTO `engagementer` (`uuid`, `bruger_uuid`, `enhed_uuid`, `bvn`, `arbejdstidsfraktion`, `engagementstype_uuid`, `engagementstype_titel`, `primærtype_uuid`, `primærtype_titel`, `stillingsbetegnelse_uuid`, `stillingsbetegnelse_titel`, `primær_boolean`, `udvidelse_1`, `udvidelse_2`, `udvidelse_3`, `udvidelse_4`, `udvidelse_5`, `udvidelse_6`, `udvidelse_7`, `udvidelse_8`, `udvidelse_9`, `udvidelse_10`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`bruger_uuid`, s.`enhed_uuid`, s.`bvn`, s.`arbejdstidsfraktion`, s.`engagementstype_uuid`, s.`engagementstype_titel`, s.`primærtype_uuid`, s.`primærtype_titel`, s.`stillingsbetegnelse_uuid`, s.`stillingsbetegnelse_titel`, s.`primær_boolean`, s.`udvidelse_1`, s.`udvidelse_2`, s.`udvidelse_3`, s.`udvidelse_4`, s.`udvidelse_5`, s.`udvidelse_6`, s.`udvidelse_7`, s.`udvidelse_8`, s.`udvidelse_9`, s.`udvidelse_10`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_engagementer` AS s LEFT JOIN `engagementer` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging tilknytninger
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_tilknytninger` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `tilknytningstype_uuid` VARCHAR(36), `tilknytningstype_titel` VARCHAR(250), `stillingsbetegnelse_uuid` VARCHAR(36), `stillingsbetegnelse_titel` VARCHAR(250), `it_forbindelse_uuid` VARCHAR(36), `primær_boolean` BOOLEAN, `faglig_organisation` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_tilknytninger`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_tilknytninger` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `tilknytningstype_uuid` VARCHAR(36), `tilknytningstype_titel` VARCHAR(250), `stillingsbetegnelse_uuid` VARCHAR(36), `stillingsbetegnelse_titel` VARCHAR(250), `it_forbindelse_uuid` VARCHAR(36), `primær_boolean` BOOLEAN, `faglig_organisation` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of tilknytninger
DELETE t FROM `tilknytninger` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'tilknytninger' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_tilknytninger` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert tilknytninger
UPDATE `tilknytninger` AS t JOIN `mocdc_stg_tilknytninger` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`bvn` = s.`bvn`, t.`bruger_uuid` = s.`bruger_uuid`, t.`enhed_uuid` = s.`enhed_uuid`, t.`tilknytningstype_uuid` = s.`tilknytningstype_uuid`, t.`tilknytningstype_titel` = s.`tilknytningstype_titel`, t.`stillingsbetegnelse_uuid` = s.`stillingsbetegnelse_uuid`, t.`stillingsbetegnelse_titel` = s.`stillingsbetegnelse_titel`, t.`it_forbindelse_uuid` = s.`it_forbindelse_uuid`, t.`primær_boolean` = s.`primær_boolean`, t.`faglig_organisation` = s.`faglig_organisation`, t.`slutdato` = s.`slutdato`;
INSERT INTO `tilknytninger` (`uuid`, `bvn`, `bruger_uuid`, `enhed_uuid`, `tilknytningstype_uuid`, `tilknytningstype_titel`, `stillingsbetegnelse_uuid`, `stillingsbetegnelse_titel`, `it_forbindelse_uuid`, `primær_boolean`, `faglig_organisation`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`bvn`, s.`bruger_uuid`, s.`enhed_uuid`, s.`tilknytningstype_uuid`, s.`tilknytningstype_titel`, s.`stillingsbetegnelse_uuid`, s.`stillingsbetegnelse_titel`, s.`it_forbindelse_uuid`, s.`primær_boolean`, s.`faglig_organisation`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_tilknytninger` AS s LEFT JOIN `tilknytninger` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging orlover
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_orlover` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `bruger_uuid` VARCHAR(36), `orlovstype_uuid` VARCHAR(36), `orlovstype_titel` VARCHAR(250), `engagement_uuid` VARCHAR(36), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_orlover`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_orlover` (`uuid` VARCHAR(36), `bvn` VARCHAR(250), `bruger_uuid` VARCHAR(36), `orlovstype_uuid` VARCHAR(36), `orlovstype_titel` VARCHAR(250), `engagement_uuid` VARCHAR(36), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of orlover
DELETE t FROM `orlover` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'orlover' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_orlover` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert orlover
UPDATE `orlover` AS t JOIN `mocdc_stg_orlover` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`bvn` = s.`bvn`, t.`bruger_uuid` = s.`bruger_uuid`, t.`orlovstype_uuid` = s.`orlovstype_uuid`, t.`orlovstype_titel` = s.`orlovstype_titel`, t.`engagement_uuid` = s.`engagement_uuid`, t.`slutdato` = s.`slutdato`;
INSERT INTO `orlover` (`uuid`, `bvn`, `bruger_uuid`, `orlovstype_uuid`, `orlovstype_titel`, `engagement_uuid`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`bvn`, s.`bruger_uuid`, s.`orlovstype_uuid`, s.`orlovstype_titel`, s.`engagement_uuid`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_orlover` AS s LEFT JOIN `orlover` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging it_systemer
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_it_systemer` (`uuid` VARCHAR(36), `navn` VARCHAR(250), KEY `mocdc_key` (`uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_it_systemer`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_it_systemer` (`uuid` VARCHAR(36), `navn` VARCHAR(250), KEY `mocdc_key` (`uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of it_systemer
DELETE t FROM `it_systemer` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'it_systemer' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_it_systemer` s WHERE s.`uuid` = t.`uuid`);

-- upsert it_systemer
INSERT INTO `it_systemer` (`uuid`, `navn`) SELECT `uuid`, `navn` FROM `mocdc_stg_it_systemer` ON DUPLICATE KEY UPDATE `navn` = VALUES(`navn`);

-- staging it_forbindelser
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_it_forbindelser` (`uuid` VARCHAR(36), `it_system_uuid` VARCHAR(36), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `brugernavn` VARCHAR(250), `eksternt_id` VARCHAR(250), `primær_boolean` BOOLEAN, `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_it_forbindelser`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_it_forbindelser` (`uuid` VARCHAR(36), `it_system_uuid` VARCHAR(36), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `brugernavn` VARCHAR(250), `eksternt_id` VARCHAR(250), `primær_boolean` BOOLEAN, `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of it_forbindelser
DELETE t FROM `it_forbindelser` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'it_forbindelser' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_it_forbindelser` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert it_forbindelser
UPDATE `it_forbindelser` AS t JOIN `mocdc_stg_it_forbindelser` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`it_system_uuid` = s.`it_system_uuid`, t.`bruger_uuid` = s.`bruger_uuid`, t.`enhed_uuid` = s.`enhed_uuid`, t.`brugernavn` = s.`brugernavn`, t.`eksternt_id` = s.`eksternt_id`, t.`primær_boolean` = s.`primær_boolean`, t.`slutdato` = s.`slutdato`;
INSERT INTO `it_forbindelser` (`uuid`, `it_system_uuid`, `bruger_uuid`, `enhed_uuid`, `brugernavn`, `eksternt_id`, `primær_boolean`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`it_system_uuid`, s.`bruger_uuid`, s.`enhed_uuid`, s.`brugernavn`, s.`eksternt_id`, s.`primær_boolean`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_it_forbindelser` AS s LEFT JOIN `it_forbindelser` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging it_forbindelse_engagementer
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_it_forbindelse_engagementer` (`it_forbindelse_uuid` VARCHAR(36), `engagement_uuid` VARCHAR(36), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`it_forbindelse_uuid`, `engagement_uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_it_forbindelse_engagementer`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_it_forbindelse_engagementer` (`it_forbindelse_uuid` VARCHAR(36), `engagement_uuid` VARCHAR(36), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`it_forbindelse_uuid`, `engagement_uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of it_forbindelse_engagementer
DELETE t FROM `it_forbindelse_engagementer` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'it_forbindelse_engagementer' AND k.`k1` = t.`it_forbindelse_uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_it_forbindelse_engagementer` s WHERE s.`it_forbindelse_uuid` = t.`it_forbindelse_uuid` AND s.`engagement_uuid` = t.`engagement_uuid` AND s.`startdato` = t.`startdato`);

-- upsert it_forbindelse_engagementer
UPDATE `it_forbindelse_engagementer` AS t JOIN `mocdc_stg_it_forbindelse_engagementer` AS s ON t.`it_forbindelse_uuid` = s.`it_forbindelse_uuid` AND t.`engagement_uuid` = s.`engagement_uuid` AND t.`startdato` = s.`startdato` SET t.`slutdato` = s.`slutdato`;
INSERT INTO `it_forbindelse_engagementer` (`it_forbindelse_uuid`, `engagement_uuid`, `startdato`, `slutdato`) SELECT s.`it_forbindelse_uuid`, s.`engagement_uuid`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_it_forbindelse_engagementer` AS s LEFT JOIN `it_forbindelse_engagementer` AS t ON t.`it_forbindelse_uuid` = s.`it_forbindelse_uuid` AND t.`engagement_uuid` = s.`engagement_uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging ledere
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_ledere` (`uuid` VARCHAR(36), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `ledertype_uuid` VARCHAR(36), `ledertype_titel` VARCHAR(250), `niveautype_uuid` VARCHAR(36), `niveautype_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_ledere`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_ledere` (`uuid` VARCHAR(36), `bruger_uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `ledertype_uuid` VARCHAR(36), `ledertype_titel` VARCHAR(250), `niveautype_uuid` VARCHAR(36), `niveautype_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of ledere
DELETE t FROM `ledere` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'ledere' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_ledere` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert ledere
UPDATE `ledere` AS t JOIN `mocdc_stg_ledere` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`bruger_uuid` = s.`bruger_uuid`, t.`enhed_uuid` = s.`enhed_uuid`, t.`ledertype_uuid` = s.`ledertype_uuid`, t.`ledertype_titel` = s.`ledertype_titel`, t.`niveautype_uuid` = s.`niveautype_uuid`, t.`niveautype_titel` = s.`niveautype_titel`, t.`slutdato` = s.`slutdato`;
INSERT INTO `ledere` (`uuid`, `bruger_uuid`, `enhed_uuid`, `ledertype_uuid`, `ledertype_titel`, `niveautype_uuid`, `niveautype_titel`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`bruger_uuid`, s.`enhed_uuid`, s.`ledertype_uuid`, s.`ledertype_titel`, s.`niveautype_uuid`, s.`niveautype_titel`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_ledere` AS s LEFT JOIN `ledere` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging leder_ansvar
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_leder_ansvar` (`leder_uuid` VARCHAR(36), `lederansvar_uuid` VARCHAR(36), `lederansvar_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`leder_uuid`, `lederansvar_uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_leder_ansvar`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_leder_ansvar` (`leder_uuid` VARCHAR(36), `lederansvar_uuid` VARCHAR(36), `lederansvar_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`leder_uuid`, `lederansvar_uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of leder_ansvar
DELETE t FROM `leder_ansvar` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'leder_ansvar' AND k.`k1` = t.`leder_uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_leder_ansvar` s WHERE s.`leder_uuid` = t.`leder_uuid` AND s.`lederansvar_uuid` = t.`lederansvar_uuid` AND s.`startdato` = t.`startdato`);

-- upsert leder_ansvar
UPDATE `leder_ansvar` AS t JOIN `mocdc_stg_leder_ansvar` AS s ON t.`leder_uuid` = s.`leder_uuid` AND t.`lederansvar_uuid` = s.`lederansvar_uuid` AND t.`startdato` = s.`startdato` SET t.`lederansvar_titel` = s.`lederansvar_titel`, t.`slutdato` = s.`slutdato`;
INSERT INTO `leder_ansvar` (`leder_uuid`, `lederansvar_uuid`, `lederansvar_titel`, `startdato`, `slutdato`) SELECT s.`leder_uuid`, s.`lederansvar_uuid`, s.`lederansvar_titel`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_leder_ansvar` AS s LEFT JOIN `leder_ansvar` AS t ON t.`leder_uuid` = s.`leder_uuid` AND t.`lederansvar_uuid` = s.`lederansvar_uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging kle
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_kle` (`uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `kle_aspekt_uuid` VARCHAR(36), `kle_aspekt_titel` VARCHAR(250), `kle_nummer_uuid` VARCHAR(36), `kle_nummer_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `kle_aspekt_uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_kle`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_kle` (`uuid` VARCHAR(36), `enhed_uuid` VARCHAR(36), `kle_aspekt_uuid` VARCHAR(36), `kle_aspekt_titel` VARCHAR(250), `kle_nummer_uuid` VARCHAR(36), `kle_nummer_titel` VARCHAR(250), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `kle_aspekt_uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of kle
DELETE t FROM `kle` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'kle' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_kle` s WHERE s.`uuid` = t.`uuid` AND s.`kle_aspekt_uuid` = t.`kle_aspekt_uuid` AND s.`startdato` = t.`startdato`);

-- upsert kle
UPDATE `kle` AS t JOIN `mocdc_stg_kle` AS s ON t.`uuid` = s.`uuid` AND t.`kle_aspekt_uuid` = s.`kle_aspekt_uuid` AND t.`startdato` = s.`startdato` SET t.`enhed_uuid` = s.`enhed_uuid`, t.`kle_aspekt_titel` = s.`kle_aspekt_titel`, t.`kle_nummer_uuid` = s.`kle_nummer_uuid`, t.`kle_nummer_titel` = s.`kle_nummer_titel`, t.`slutdato` = s.`slutdato`;
INSERT INTO `kle` (`uuid`, `enhed_uuid`, `kle_aspekt_uuid`, `kle_aspekt_titel`, `kle_nummer_uuid`, `kle_nummer_titel`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`enhed_uuid`, s.`kle_aspekt_uuid`, s.`kle_aspekt_titel`, s.`kle_nummer_uuid`, s.`kle_nummer_titel`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_kle` AS s LEFT JOIN `kle` AS t ON t.`uuid` = s.`uuid` AND t.`kle_aspekt_uuid` = s.`kle_aspekt_uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging enhedssammenkobling
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_enhedssammenkobling` (`uuid` VARCHAR(36), `enhed1_uuid` VARCHAR(36), `enhed2_uuid` VARCHAR(36), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_enhedssammenkobling`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_enhedssammenkobling` (`uuid` VARCHAR(36), `enhed1_uuid` VARCHAR(36), `enhed2_uuid` VARCHAR(36), `startdato` VARCHAR(10), `slutdato` VARCHAR(10), KEY `mocdc_key` (`uuid`, `startdato`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of enhedssammenkobling
DELETE t FROM `enhedssammenkobling` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'enhedssammenkobling' AND k.`k1` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_enhedssammenkobling` s WHERE s.`uuid` = t.`uuid` AND s.`startdato` = t.`startdato`);

-- upsert enhedssammenkobling
UPDATE `enhedssammenkobling` AS t JOIN `mocdc_stg_enhedssammenkobling` AS s ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` SET t.`enhed1_uuid` = s.`enhed1_uuid`, t.`enhed2_uuid` = s.`enhed2_uuid`, t.`slutdato` = s.`slutdato`;
INSERT INTO `enhedssammenkobling` (`uuid`, `enhed1_uuid`, `enhed2_uuid`, `startdato`, `slutdato`) SELECT s.`uuid`, s.`enhed1_uuid`, s.`enhed2_uuid`, s.`startdato`, s.`slutdato` FROM `mocdc_stg_enhedssammenkobling` AS s LEFT JOIN `enhedssammenkobling` AS t ON t.`uuid` = s.`uuid` AND t.`startdato` = s.`startdato` WHERE t.`id` IS NULL;

-- staging mocdc_objects
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_mocdc_objects` (`type` VARCHAR(32), `uuid` VARCHAR(36), `json` LONGTEXT, `next_change` VARCHAR(10), KEY `mocdc_key` (`type`, `uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_mocdc_objects`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_mocdc_objects` (`type` VARCHAR(32), `uuid` VARCHAR(36), `json` LONGTEXT, `next_change` VARCHAR(10), KEY `mocdc_key` (`type`, `uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of mocdc_objects
DELETE t FROM `mocdc_objects` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'mocdc_objects' AND k.`k1` = t.`type` AND k.`k2` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_mocdc_objects` s WHERE s.`type` = t.`type` AND s.`uuid` = t.`uuid`);

-- upsert mocdc_objects
INSERT INTO `mocdc_objects` (`type`, `uuid`, `json`, `next_change`) SELECT `type`, `uuid`, `json`, `next_change` FROM `mocdc_stg_mocdc_objects` ON DUPLICATE KEY UPDATE `json` = VALUES(`json`), `next_change` = VALUES(`next_change`);

-- staging mocdc_refs
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_mocdc_refs` (`ref` VARCHAR(36), `type` VARCHAR(32), `uuid` VARCHAR(36), KEY `mocdc_key` (`ref`, `type`, `uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
DROP TEMPORARY TABLE IF EXISTS `mocdc_stg_mocdc_refs`;
CREATE TEMPORARY TABLE IF NOT EXISTS `mocdc_stg_mocdc_refs` (`ref` VARCHAR(36), `type` VARCHAR(32), `uuid` VARCHAR(36), KEY `mocdc_key` (`ref`, `type`, `uuid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- delete vanished rows of mocdc_refs
DELETE t FROM `mocdc_refs` AS t WHERE EXISTS (SELECT 1 FROM `mocdc_stg_keys` k WHERE k.`tbl` = 'mocdc_refs' AND k.`k1` = t.`type` AND k.`k2` = t.`uuid`) AND NOT EXISTS (SELECT 1 FROM `mocdc_stg_mocdc_refs` s WHERE s.`ref` = t.`ref` AND s.`type` = t.`type` AND s.`uuid` = t.`uuid`);

-- upsert mocdc_refs
INSERT INTO `mocdc_refs` (`ref`, `type`, `uuid`) SELECT `ref`, `type`, `uuid` FROM `mocdc_stg_mocdc_refs` ON DUPLICATE KEY UPDATE `ref` = VALUES(`ref`);

-- offsets: lock, read, store, insert (2 partitions)
UPDATE `mocdc_offsets` SET `next_offset` = `next_offset` WHERE (`topic` = ? AND `partition_no` = ?) OR (`topic` = ? AND `partition_no` = ?);
SELECT `topic`, `partition_no`, `next_offset` FROM `mocdc_offsets` WHERE (`topic` = ? AND `partition_no` = ?) OR (`topic` = ? AND `partition_no` = ?);
UPDATE `mocdc_offsets` SET `next_offset` = ? WHERE `topic` = ? AND `partition_no` = ?;
INSERT INTO `mocdc_offsets` (`topic`, `partition_no`, `next_offset`) VALUES (?, ?, ?), (?, ?, ?);

-- offsets: lock and read in one, store in one (2 partitions)
SELECT `topic`, `partition_no`, `next_offset` FROM `mocdc_offsets` WHERE (`topic` = ? AND `partition_no` = ?) OR (`topic` = ? AND `partition_no` = ?) FOR UPDATE;
UPDATE `mocdc_offsets` SET `next_offset` = CASE WHEN `topic` = ? AND `partition_no` = ? THEN ? WHEN `topic` = ? AND `partition_no` = ? THEN ? END WHERE (`topic` = ? AND `partition_no` = ?) OR (`topic` = ? AND `partition_no` = ?);

-- offsets at partition assignment
SELECT `topic`, `partition_no`, `next_offset` FROM `mocdc_offsets`;

-- state reads
SELECT `uuid`, `json` FROM `mocdc_objects` WHERE `type` = ? AND `uuid` IN (?, ?, ?);
SELECT `ref`, `type`, `uuid` FROM `mocdc_refs` WHERE `ref` IN (?, ?, ?);
SELECT `ref`, `type`, `uuid` FROM `mocdc_refs` WHERE `ref` IN (?, ?, ?) AND `type` = ?;

-- meta and day rollover
SELECT `value` FROM `mocdc_meta` WHERE `name` = ?;
INSERT INTO `mocdc_meta` (`name`, `value`) VALUES (?, ?);
UPDATE `mocdc_meta` SET `value` = ? WHERE `name` = ?;
UPDATE `mocdc_meta` SET `value` = ? WHERE `name` = ? AND `value` = ?;
SELECT `type`, `uuid` FROM `mocdc_objects` WHERE `next_change` IS NOT NULL AND `next_change` <= ?;
SELECT MAX(`id`) FROM `kvittering`;
DELETE FROM `kvittering` WHERE `slut_levering_tid` < ? AND `id` < ?;

-- mapping version changed: every object due
UPDATE `mocdc_objects` SET `next_change` = ?;

-- kvittering
INSERT INTO `kvittering` (`query_tid`, `start_levering_tid`, `slut_levering_tid`) VALUES (?, ?, ?);

-- rows that show a changed class (or facet)
SELECT DISTINCT `uuid` FROM `klasser` WHERE `facet_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `enheder` WHERE `enhedstype_uuid` IN (?, ?) OR `enhedsniveau_uuid` IN (?, ?) OR `tidsregistrering_uuid` IN (?, ?) OR `opmærkning_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `adresser` WHERE `adressetype_uuid` IN (?, ?) OR `synlighed_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `engagementer` WHERE `engagementstype_uuid` IN (?, ?) OR `primærtype_uuid` IN (?, ?) OR `stillingsbetegnelse_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `tilknytninger` WHERE `tilknytningstype_uuid` IN (?, ?) OR `stillingsbetegnelse_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `orlover` WHERE `orlovstype_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `ledere` WHERE `ledertype_uuid` IN (?, ?) OR `niveautype_uuid` IN (?, ?);
SELECT DISTINCT `leder_uuid` FROM `leder_ansvar` WHERE `lederansvar_uuid` IN (?, ?);
SELECT DISTINCT `uuid` FROM `kle` WHERE `kle_aspekt_uuid` IN (?, ?) OR `kle_nummer_uuid` IN (?, ?);

