-- introspection (drift check)
SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS
 WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = @p1;

-- create facetter
IF OBJECT_ID(N'facetter', N'U') IS NULL
CREATE TABLE [facetter] (
  [uuid] nvarchar(36) NOT NULL,
  [bvn] nvarchar(250),
  CONSTRAINT [facetter_mocdc_pkey] PRIMARY KEY ([uuid])
);

-- create klasser
IF OBJECT_ID(N'klasser', N'U') IS NULL
CREATE TABLE [klasser] (
  [uuid] nvarchar(36) NOT NULL,
  [bvn] nvarchar(250),
  [titel] nvarchar(250),
  [facet_uuid] nvarchar(36),
  [facet_bvn] nvarchar(250),
  CONSTRAINT [klasser_mocdc_pkey] PRIMARY KEY ([uuid])
);

-- create brugere
IF OBJECT_ID(N'brugere', N'U') IS NULL
CREATE TABLE [brugere] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [bvn] nvarchar(250),
  [fornavn] nvarchar(250),
  [efternavn] nvarchar(250),
  [kaldenavn_fornavn] nvarchar(250),
  [kaldenavn_efternavn] nvarchar(250),
  [cpr] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [brugere_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create enheder
IF OBJECT_ID(N'enheder', N'U') IS NULL
CREATE TABLE [enheder] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [navn] nvarchar(250),
  [bvn] nvarchar(250),
  [forældreenhed_uuid] nvarchar(36),
  [enhedstype_uuid] nvarchar(36),
  [enhedstype_titel] nvarchar(250),
  [enhedsniveau_uuid] nvarchar(36),
  [enhedsniveau_titel] nvarchar(250),
  [tidsregistrering_uuid] nvarchar(36),
  [tidsregistrering_titel] nvarchar(250),
  [organisatorisk_sti] nvarchar(1000),
  [leder_uuid] nvarchar(36),
  [fungerende_leder_uuid] nvarchar(36),
  [opmærkning_uuid] nvarchar(36),
  [opmærkning_titel] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [enheder_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create adresser
IF OBJECT_ID(N'adresser', N'U') IS NULL
CREATE TABLE [adresser] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [bvn] nvarchar(250),
  [bruger_uuid] nvarchar(36),
  [enhed_uuid] nvarchar(36),
  [engagement_uuid] nvarchar(36),
  [ituser_uuid] nvarchar(36),
  [værdi] nvarchar(250),
  [dar_uuid] nvarchar(36),
  [adressetype_uuid] nvarchar(36),
  [adressetype_bvn] nvarchar(250),
  [adressetype_scope] nvarchar(250),
  [adressetype_titel] nvarchar(250),
  [synlighed_uuid] nvarchar(36),
  [synlighed_scope] nvarchar(250),
  [synlighed_titel] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [adresser_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create engagementer
IF OBJECT_ID(N'engagementer', N'U') IS NULL
CREATE TABLE [engagementer] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [bruger_uuid] nvarchar(36),
  [enhed_uuid] nvarchar(36),
  [bvn] nvarchar(250),
  [arbejdstidsfraktion] int,
  [engagementstype_uuid] nvarchar(36),
  [engagementstype_titel] nvarchar(250),
  [primærtype_uuid] nvarchar(36),
  [primærtype_titel] nvarchar(250),
  [stillingsbetegnelse_uuid] nvarchar(36),
  [stillingsbetegnelse_titel] nvarchar(250),
  [primær_boolean] bit,
  [udvidelse_1] nvarchar(250),
  [udvidelse_2] nvarchar(250),
  [udvidelse_3] nvarchar(250),
  [udvidelse_4] nvarchar(250),
  [udvidelse_5] nvarchar(250),
  [udvidelse_6] nvarchar(250),
  [udvidelse_7] nvarchar(250),
  [udvidelse_8] nvarchar(250),
  [udvidelse_9] nvarchar(250),
  [udvidelse_10] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [engagementer_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create tilknytninger
IF OBJECT_ID(N'tilknytninger', N'U') IS NULL
CREATE TABLE [tilknytninger] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [bvn] nvarchar(250),
  [bruger_uuid] nvarchar(36),
  [enhed_uuid] nvarchar(36),
  [tilknytningstype_uuid] nvarchar(36),
  [tilknytningstype_titel] nvarchar(250),
  [stillingsbetegnelse_uuid] nvarchar(36),
  [stillingsbetegnelse_titel] nvarchar(250),
  [it_forbindelse_uuid] nvarchar(36),
  [primær_boolean] bit,
  [faglig_organisation] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [tilknytninger_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create orlover
IF OBJECT_ID(N'orlover', N'U') IS NULL
CREATE TABLE [orlover] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [bvn] nvarchar(250),
  [bruger_uuid] nvarchar(36),
  [orlovstype_uuid] nvarchar(36),
  [orlovstype_titel] nvarchar(250),
  [engagement_uuid] nvarchar(36),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [orlover_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create it_systemer
IF OBJECT_ID(N'it_systemer', N'U') IS NULL
CREATE TABLE [it_systemer] (
  [uuid] nvarchar(36) NOT NULL,
  [navn] nvarchar(250),
  CONSTRAINT [it_systemer_mocdc_pkey] PRIMARY KEY ([uuid])
);

-- create it_forbindelser
IF OBJECT_ID(N'it_forbindelser', N'U') IS NULL
CREATE TABLE [it_forbindelser] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [it_system_uuid] nvarchar(36),
  [bruger_uuid] nvarchar(36),
  [enhed_uuid] nvarchar(36),
  [brugernavn] nvarchar(250),
  [eksternt_id] nvarchar(250),
  [primær_boolean] bit,
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [it_forbindelser_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create it_forbindelse_engagementer
IF OBJECT_ID(N'it_forbindelse_engagementer', N'U') IS NULL
CREATE TABLE [it_forbindelse_engagementer] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [it_forbindelse_uuid] nvarchar(36) NOT NULL,
  [engagement_uuid] nvarchar(36) NOT NULL,
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [it_forbindelse_engagementer_mocdc_key] UNIQUE ([it_forbindelse_uuid], [engagement_uuid], [startdato])
);

-- create ledere
IF OBJECT_ID(N'ledere', N'U') IS NULL
CREATE TABLE [ledere] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [bruger_uuid] nvarchar(36),
  [enhed_uuid] nvarchar(36),
  [ledertype_uuid] nvarchar(36),
  [ledertype_titel] nvarchar(250),
  [niveautype_uuid] nvarchar(36),
  [niveautype_titel] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [ledere_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create leder_ansvar
IF OBJECT_ID(N'leder_ansvar', N'U') IS NULL
CREATE TABLE [leder_ansvar] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [leder_uuid] nvarchar(36) NOT NULL,
  [lederansvar_uuid] nvarchar(36) NOT NULL,
  [lederansvar_titel] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [leder_ansvar_mocdc_key] UNIQUE ([leder_uuid], [lederansvar_uuid], [startdato])
);

-- create kle
IF OBJECT_ID(N'kle', N'U') IS NULL
CREATE TABLE [kle] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [enhed_uuid] nvarchar(36),
  [kle_aspekt_uuid] nvarchar(36) NOT NULL,
  [kle_aspekt_titel] nvarchar(250),
  [kle_nummer_uuid] nvarchar(36),
  [kle_nummer_titel] nvarchar(250),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [kle_mocdc_key] UNIQUE ([uuid], [kle_aspekt_uuid], [startdato])
);

-- create enhedssammenkobling
IF OBJECT_ID(N'enhedssammenkobling', N'U') IS NULL
CREATE TABLE [enhedssammenkobling] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [enhed1_uuid] nvarchar(36),
  [enhed2_uuid] nvarchar(36),
  [startdato] nvarchar(10) NOT NULL,
  [slutdato] nvarchar(10) NOT NULL,
  CONSTRAINT [enhedssammenkobling_mocdc_key] UNIQUE ([uuid], [startdato])
);

-- create dar_adresser
IF OBJECT_ID(N'dar_adresser', N'U') IS NULL
CREATE TABLE [dar_adresser] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [uuid] nvarchar(36) NOT NULL,
  [vejkode] nvarchar(8),
  [vejnavn] nvarchar(250),
  [husnr] nvarchar(8),
  [etage] nvarchar(16),
  [dør] nvarchar(8),
  [postnr] nvarchar(8),
  [postnrnavn] nvarchar(250),
  [kommunekode] nvarchar(8),
  [adgangsadresseid] nvarchar(36),
  [betegnelse] nvarchar(250)
);

-- create kvittering
IF OBJECT_ID(N'kvittering', N'U') IS NULL
CREATE TABLE [kvittering] (
  [id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
  [query_tid] datetime2,
  [start_levering_tid] datetime2,
  [slut_levering_tid] datetime2
);

-- create mocdc_objects
IF OBJECT_ID(N'mocdc_objects', N'U') IS NULL
CREATE TABLE [mocdc_objects] (
  [type] nvarchar(32) NOT NULL,
  [uuid] nvarchar(36) NOT NULL,
  [json] nvarchar(max) NOT NULL,
  [next_change] nvarchar(10),
  CONSTRAINT [mocdc_objects_mocdc_pkey] PRIMARY KEY ([type], [uuid])
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'mocdc_objects', N'U') AND name = N'mocdc_objects_next_change_idx')
CREATE INDEX [mocdc_objects_next_change_idx] ON [mocdc_objects] ([next_change]);

-- create mocdc_refs
IF OBJECT_ID(N'mocdc_refs', N'U') IS NULL
CREATE TABLE [mocdc_refs] (
  [ref] nvarchar(36) NOT NULL,
  [type] nvarchar(32) NOT NULL,
  [uuid] nvarchar(36) NOT NULL,
  CONSTRAINT [mocdc_refs_mocdc_pkey] PRIMARY KEY ([ref], [type], [uuid])
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'mocdc_refs', N'U') AND name = N'mocdc_refs_uuid_type_idx')
CREATE INDEX [mocdc_refs_uuid_type_idx] ON [mocdc_refs] ([uuid], [type]);

-- create mocdc_offsets
IF OBJECT_ID(N'mocdc_offsets', N'U') IS NULL
CREATE TABLE [mocdc_offsets] (
  [topic] nvarchar(249) NOT NULL,
  [partition_no] int NOT NULL,
  [next_offset] bigint NOT NULL,
  CONSTRAINT [mocdc_offsets_mocdc_pkey] PRIMARY KEY ([topic], [partition_no])
);

-- create mocdc_meta
IF OBJECT_ID(N'mocdc_meta', N'U') IS NULL
CREATE TABLE [mocdc_meta] (
  [name] nvarchar(64) NOT NULL,
  [value] nvarchar(255),
  CONSTRAINT [mocdc_meta_mocdc_pkey] PRIMARY KEY ([name])
);

-- rebuild drops (one per table)
DROP TABLE IF EXISTS [enheder];

-- session setup
SET XACT_ABORT ON;

-- session staging: owner keys
IF OBJECT_ID(N'tempdb..#mocdc_stg_keys') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_keys] ([tbl] nvarchar(64) COLLATE DATABASE_DEFAULT, [k1] nvarchar(64) COLLATE DATABASE_DEFAULT, [k2] nvarchar(64) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_keys] ([tbl], [k1], [k2]);
END;
TRUNCATE TABLE [#mocdc_stg_keys];

-- mssql staging without bulk copy (bulk_copy: false), 2 rows
INSERT INTO [#mocdc_stg_keys] ([tbl], [k1], [k2]) VALUES (@p1, @p2, @p3), (@p4, @p5, @p6);

-- session setup on Babelfish
SET XACT_ABORT ON;
EXECUTE sp_babelfish_configure 'isolation_level_serializable', 'pg_isolation';
EXECUTE sp_babelfish_configure 'escape_hatch_table_hints', 'ignore';

-- start checks: Babelfish or SQL Server, isolation level of a serializable transaction
SELECT CASE WHEN SERVERPROPERTY('babelfish') IS NOT NULL OR @@VERSION LIKE '%Babelfish%' THEN 1 ELSE 0 END;
SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID;

-- staging facetter
IF OBJECT_ID(N'tempdb..#mocdc_stg_facetter') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_facetter] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_facetter] ([uuid]);
END;
TRUNCATE TABLE [#mocdc_stg_facetter];

-- delete vanished rows of facetter
DELETE t FROM [facetter] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'facetter' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_facetter] s WHERE s.[uuid] = t.[uuid]);

-- upsert facetter
UPDATE t SET t.[bvn] = s.[bvn]
FROM [facetter] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_facetter] AS s ON t.[uuid] = s.[uuid]
WHERE EXISTS (SELECT s.[bvn] EXCEPT SELECT t.[bvn]);
INSERT INTO [facetter] ([uuid], [bvn])
SELECT s.[uuid], s.[bvn] FROM [#mocdc_stg_facetter] AS s
WHERE NOT EXISTS (SELECT 1 FROM [facetter] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid]);

-- staging klasser
IF OBJECT_ID(N'tempdb..#mocdc_stg_klasser') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_klasser] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [facet_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [facet_bvn] nvarchar(250) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_klasser] ([uuid]);
END;
TRUNCATE TABLE [#mocdc_stg_klasser];

-- delete vanished rows of klasser
DELETE t FROM [klasser] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'klasser' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_klasser] s WHERE s.[uuid] = t.[uuid]);

-- upsert klasser
UPDATE t SET t.[bvn] = s.[bvn], t.[titel] = s.[titel], t.[facet_uuid] = s.[facet_uuid], t.[facet_bvn] = s.[facet_bvn]
FROM [klasser] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_klasser] AS s ON t.[uuid] = s.[uuid]
WHERE EXISTS (SELECT s.[bvn], s.[titel], s.[facet_uuid], s.[facet_bvn] EXCEPT SELECT t.[bvn], t.[titel], t.[facet_uuid], t.[facet_bvn]);
INSERT INTO [klasser] ([uuid], [bvn], [titel], [facet_uuid], [facet_bvn])
SELECT s.[uuid], s.[bvn], s.[titel], s.[facet_uuid], s.[facet_bvn] FROM [#mocdc_stg_klasser] AS s
WHERE NOT EXISTS (SELECT 1 FROM [klasser] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid]);

-- staging brugere
IF OBJECT_ID(N'tempdb..#mocdc_stg_brugere') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_brugere] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [fornavn] nvarchar(250) COLLATE DATABASE_DEFAULT, [efternavn] nvarchar(250) COLLATE DATABASE_DEFAULT, [kaldenavn_fornavn] nvarchar(250) COLLATE DATABASE_DEFAULT, [kaldenavn_efternavn] nvarchar(250) COLLATE DATABASE_DEFAULT, [cpr] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_brugere] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_brugere];

-- delete vanished rows of brugere
DELETE t FROM [brugere] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'brugere' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_brugere] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert brugere
UPDATE t SET t.[bvn] = s.[bvn], t.[fornavn] = s.[fornavn], t.[efternavn] = s.[efternavn], t.[kaldenavn_fornavn] = s.[kaldenavn_fornavn], t.[kaldenavn_efternavn] = s.[kaldenavn_efternavn], t.[cpr] = s.[cpr], t.[slutdato] = s.[slutdato]
FROM [brugere] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_brugere] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[bvn], s.[fornavn], s.[efternavn], s.[kaldenavn_fornavn], s.[kaldenavn_efternavn], s.[cpr], s.[slutdato] EXCEPT SELECT t.[bvn], t.[fornavn], t.[efternavn], t.[kaldenavn_fornavn], t.[kaldenavn_efternavn], t.[cpr], t.[slutdato]);
INSERT INTO [brugere] ([uuid], [bvn], [fornavn], [efternavn], [kaldenavn_fornavn], [kaldenavn_efternavn], [cpr], [startdato], [slutdato])
SELECT s.[uuid], s.[bvn], s.[fornavn], s.[efternavn], s.[kaldenavn_fornavn], s.[kaldenavn_efternavn], s.[cpr], s.[startdato], s.[slutdato] FROM [#mocdc_stg_brugere] AS s
WHERE NOT EXISTS (SELECT 1 FROM [brugere] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging enheder
IF OBJECT_ID(N'tempdb..#mocdc_stg_enheder') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_enheder] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [navn] nvarchar(250) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [forældreenhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhedstype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhedstype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [enhedsniveau_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhedsniveau_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [tidsregistrering_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [tidsregistrering_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [organisatorisk_sti] nvarchar(1000) COLLATE DATABASE_DEFAULT, [leder_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [fungerende_leder_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [opmærkning_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [opmærkning_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_enheder] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_enheder];

-- delete vanished rows of enheder
DELETE t FROM [enheder] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'enheder' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_enheder] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert enheder
UPDATE t SET t.[navn] = s.[navn], t.[bvn] = s.[bvn], t.[forældreenhed_uuid] = s.[forældreenhed_uuid], t.[enhedstype_uuid] = s.[enhedstype_uuid], t.[enhedstype_titel] = s.[enhedstype_titel], t.[enhedsniveau_uuid] = s.[enhedsniveau_uuid], t.[enhedsniveau_titel] = s.[enhedsniveau_titel], t.[tidsregistrering_uuid] = s.[tidsregistrering_uuid], t.[tidsregistrering_titel] = s.[tidsregistrering_titel], t.[organisatorisk_sti] = s.[organisatorisk_sti], t.[leder_uuid] = s.[leder_uuid], t.[fungerende_leder_uuid] = s.[fungerende_leder_uuid], t.[opmærkning_uuid] = s.[opmærkning_uuid], t.[opmærkning_titel] = s.[opmærkning_titel], t.[slutdato] = s.[slutdato]
FROM [enheder] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_enheder] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[navn], s.[bvn], s.[forældreenhed_uuid], s.[enhedstype_uuid], s.[enhedstype_titel], s.[enhedsniveau_uuid], s.[enhedsniveau_titel], s.[tidsregistrering_uuid], s.[tidsregistrering_titel], s.[organisatorisk_sti], s.[leder_uuid], s.[fungerende_leder_uuid], s.[opmærkning_uuid], s.[opmærkning_titel], s.[slutdato] EXCEPT SELECT t.[navn], t.[bvn], t.[forældreenhed_uuid], t.[enhedstype_uuid], t.[enhedstype_titel], t.[enhedsniveau_uuid], t.[enhedsniveau_titel], t.[tidsregistrering_uuid], t.[tidsregistrering_titel], t.[organisatorisk_sti], t.[leder_uuid], t.[fungerende_leder_uuid], t.[opmærkning_uuid], t.[opmærkning_titel], t.[slutdato]);
INSERT INTO [enheder] ([uuid], [navn], [bvn], [forældreenhed_uuid], [enhedstype_uuid], [enhedstype_titel], [enhedsniveau_uuid], [enhedsniveau_titel], [tidsregistrering_uuid], [tidsregistrering_titel], [organisatorisk_sti], [leder_uuid], [fungerende_leder_uuid], [opmærkning_uuid], [opmærkning_titel], [startdato], [slutdato])
SELECT s.[uuid], s.[navn], s.[bvn], s.[forældreenhed_uuid], s.[enhedstype_uuid], s.[enhedstype_titel], s.[enhedsniveau_uuid], s.[enhedsniveau_titel], s.[tidsregistrering_uuid], s.[tidsregistrering_titel], s.[organisatorisk_sti], s.[leder_uuid], s.[fungerende_leder_uuid], s.[opmærkning_uuid], s.[opmærkning_titel], s.[startdato], s.[slutdato] FROM [#mocdc_stg_enheder] AS s
WHERE NOT EXISTS (SELECT 1 FROM [enheder] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging adresser
IF OBJECT_ID(N'tempdb..#mocdc_stg_adresser') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_adresser] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [bruger_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [engagement_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [ituser_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [værdi] nvarchar(250) COLLATE DATABASE_DEFAULT, [dar_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [adressetype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [adressetype_bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [adressetype_scope] nvarchar(250) COLLATE DATABASE_DEFAULT, [adressetype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [synlighed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [synlighed_scope] nvarchar(250) COLLATE DATABASE_DEFAULT, [synlighed_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_adresser] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_adresser];

-- delete vanished rows of adresser
DELETE t FROM [adresser] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'adresser' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_adresser] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert adresser
UPDATE t SET t.[bvn] = s.[bvn], t.[bruger_uuid] = s.[bruger_uuid], t.[enhed_uuid] = s.[enhed_uuid], t.[engagement_uuid] = s.[engagement_uuid], t.[ituser_uuid] = s.[ituser_uuid], t.[værdi] = s.[værdi], t.[dar_uuid] = s.[dar_uuid], t.[adressetype_uuid] = s.[adressetype_uuid], t.[adressetype_bvn] = s.[adressetype_bvn], t.[adressetype_scope] = s.[adressetype_scope], t.[adressetype_titel] = s.[adressetype_titel], t.[synlighed_uuid] = s.[synlighed_uuid], t.[synlighed_scope] = s.[synlighed_scope], t.[synlighed_titel] = s.[synlighed_titel], t.[slutdato] = s.[slutdato]
FROM [adresser] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_adresser] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[bvn], s.[bruger_uuid], s.[enhed_uuid], s.[engagement_uuid], s.[ituser_uuid], s.[værdi], s.[dar_uuid], s.[adressetype_uuid], s.[adressetype_bvn], s.[adressetype_scope], s.[adressetype_titel], s.[synlighed_uuid], s.[synlighed_scope], s.[synlighed_titel], s.[slutdato] EXCEPT SELECT t.[bvn], t.[bruger_uuid], t.[enhed_uuid], t.[engagement_uuid], t.[ituser_uuid], t.[værdi], t.[dar_uuid], t.[adressetype_uuid], t.[adressetype_bvn], t.[adressetype_scope], t.[adressetype_titel], t.[synlighed_uuid], t.[synlighed_scope], t.[synlighed_titel], t.[slutdato]);
INSERT INTO [adresser] ([uuid], [bvn], [bruger_uuid], [enhed_uuid], [engagement_uuid], [ituser_uuid], [værdi], [dar_uuid], [adressetype_uuid], [adressetype_bvn], [adressetype_scope], [adressetype_titel], [synlighed_uuid], [synlighed_scope], [synlighed_titel], [startdato], [slutdato])
SELECT s.[uuid], s.[bvn], s.[bruger_uuid], s.[enhed_uuid], s.[engagement_uuid], s.[ituser_uuid], s.[værdi], s.[dar_uuid], s.[adressetype_uuid], s.[adressetype_bvn], s.[adressetype_scope], s.[adressetype_titel], s.[synlighed_uuid], s.[synlighed_scope], s.[synlighed_titel], s.[startdato], s.[slutdato] FROM [#mocdc_stg_adresser] AS s
WHERE NOT EXISTS (SELECT 1 FROM [adresser] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging engagementer
IF OBJECT_ID(N'tempdb..#mocdc_stg_engagementer') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_engagementer] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bruger_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [arbejdstidsfraktion] int, [engagementstype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [engagementstype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [primærtype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [primærtype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [stillingsbetegnelse_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [stillingsbetegnelse_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [primær_boolean] bit, [udvidelse_1] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_2] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_3] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_4] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_5] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_6] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_7] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_8] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_9] nvarchar(250) COLLATE DATABASE_DEFAULT, [udvidelse_10] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_engagementer] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_engagementer];

-- delete vanished rows of engagementer
DELETE t FROM [engagementer] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'engagementer' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_engagementer] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert engagementer
UPDATE t SET t.[bruger_uuid] = s.[bruger_uuid], t.[enhed_uuid] = s.[enhed_uuid], t.[bvn] = s.[bvn], t.[arbejdstidsfraktion] = s.[arbejdstidsfraktion], t.[engagementstype_uuid] = s.[engagementstype_uuid], t.[engagementstype_titel] = s.[engagementstype_titel], t.[primærtype_uuid] = s.[primærtype_uuid], t.[primærtype_titel] = s.[primærtype_titel], t.[stillingsbetegnelse_uuid] = s.[stillingsbetegnelse_uuid], t.[stillingsbetegnelse_titel] = s.[stillingsbetegnelse_titel], t.[primær_boolean] = s.[primær_boolean], t.[udvidelse_1] = s.[udvidelse_1], t.[udvidelse_2] = s.[udvidelse_2], t.[udvidelse_3] = s.[udvidelse_3], t.[udvidelse_4] = s.[udvidelse_4], t.[udvidelse_5] = s.[udvidelse_5], t.[udvidelse_6] = s.[udvidelse_6], t.[udvidelse_7] = s.[udvidelse_7], t.[udvidelse_8] = s.[udvidelse_8], t.[udvidelse_9] = s.[udvidelse_9], t.[udvidelse_10] = s.[udvidelse_10], t.[slutdato] = s.[slutdato]
FROM [engagementer] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_engagementer] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[bruger_uuid], s.[enhed_uuid], s.[bvn], s.[arbejdstidsfraktion], s.[engagementstype_uuid], s.[engagementstype_titel], s.[primærtype_uuid], s.[primærtype_titel], s.[stillingsbetegnelse_uuid], s.[stillingsbetegnelse_titel], s.[primær_boolean], s.[udvidelse_1], s.[udvidelse_2], s.[udvidelse_3], s.[udvidelse_4], s.[udvidelse_5], s.[udvidelse_6], s.[udvidelse_7], s.[udvidelse_8], s.[udvidelse_9], s.[udvidelse_10], s.[slutdato] EXCEPT SELECT t.[bruger_uuid], t.[enhed_uuid], t.[bvn], t.[arbejdstidsfraktion], t.[engagementstype_uuid], t.[engagementstype_titel], t.[primærtype_uuid], t.[primærtype_titel], t.[stillingsbetegnelse_uuid], t.[stillingsbetegnelse_titel], t.[primær_boolean], t.[udvidelse_1], t.[udvidelse_2], t.[udvidelse_3], t.[udvidelse_4], t.[udvidelse_5], t.[udvidelse_6], t.[udvidelse_7], t.[udvidelse_8], t.[udvidelse_9], t.[udvidelse_10], t.[slutdato]);
INSERT INTO [engagementer] ([uuid], [bruger_uuid], [enhed_uuid], [bvn], [arbejdstidsfraktion], [engagementstype_uuid], [engagementstype_titel], [primærtype_uuid], [primærtype_titel], [stillingsbetegnelse_uuid], [stillingsbetegnelse_titel], [primær_boolean], [udvidelse_1], [udvidelse_2], [udvidelse_3], [udvidelse_4], [udvidelse_5], [udvidelse_6], [udvidelse_7], [udvidelse_8], [udvidelse_9], [udvidelse_10], [startdato], [slutdato])
SELECT s.[uuid], s.[bruger_uuid], s.[enhed_uuid], s.[bvn], s.[arbejdstidsfraktion], s.[engagementstype_uuid], s.[engagementstype_titel], s.[primærtype_uuid], s.[primærtype_titel], s.[stillingsbetegnelse_uuid], s.[stillingsbetegnelse_titel], s.[primær_boolean], s.[udvidelse_1], s.[udvidelse_2], s.[udvidelse_3], s.[udvidelse_4], s.[udvidelse_5], s.[udvidelse_6], s.[udvidelse_7], s.[udvidelse_8], s.[udvidelse_9], s.[udvidelse_10], s.[startdato], s.[slutdato] FROM [#mocdc_stg_engagementer] AS s
WHERE NOT EXISTS (SELECT 1 FROM [engagementer] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging tilknytninger
IF OBJECT_ID(N'tempdb..#mocdc_stg_tilknytninger') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_tilknytninger] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [bruger_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [tilknytningstype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [tilknytningstype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [stillingsbetegnelse_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [stillingsbetegnelse_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [it_forbindelse_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [primær_boolean] bit, [faglig_organisation] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_tilknytninger] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_tilknytninger];

-- delete vanished rows of tilknytninger
DELETE t FROM [tilknytninger] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'tilknytninger' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_tilknytninger] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert tilknytninger
UPDATE t SET t.[bvn] = s.[bvn], t.[bruger_uuid] = s.[bruger_uuid], t.[enhed_uuid] = s.[enhed_uuid], t.[tilknytningstype_uuid] = s.[tilknytningstype_uuid], t.[tilknytningstype_titel] = s.[tilknytningstype_titel], t.[stillingsbetegnelse_uuid] = s.[stillingsbetegnelse_uuid], t.[stillingsbetegnelse_titel] = s.[stillingsbetegnelse_titel], t.[it_forbindelse_uuid] = s.[it_forbindelse_uuid], t.[primær_boolean] = s.[primær_boolean], t.[faglig_organisation] = s.[faglig_organisation], t.[slutdato] = s.[slutdato]
FROM [tilknytninger] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_tilknytninger] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[bvn], s.[bruger_uuid], s.[enhed_uuid], s.[tilknytningstype_uuid], s.[tilknytningstype_titel], s.[stillingsbetegnelse_uuid], s.[stillingsbetegnelse_titel], s.[it_forbindelse_uuid], s.[primær_boolean], s.[faglig_organisation], s.[slutdato] EXCEPT SELECT t.[bvn], t.[bruger_uuid], t.[enhed_uuid], t.[tilknytningstype_uuid], t.[tilknytningstype_titel], t.[stillingsbetegnelse_uuid], t.[stillingsbetegnelse_titel], t.[it_forbindelse_uuid], t.[primær_boolean], t.[faglig_organisation], t.[slutdato]);
INSERT INTO [tilknytninger] ([uuid], [bvn], [bruger_uuid], [enhed_uuid], [tilknytningstype_uuid], [tilknytningstype_titel], [stillingsbetegnelse_uuid], [stillingsbetegnelse_titel], [it_forbindelse_uuid], [primær_boolean], [faglig_organisation], [startdato], [slutdato])
SELECT s.[uuid], s.[bvn], s.[bruger_uuid], s.[enhed_uuid], s.[tilknytningstype_uuid], s.[tilknytningstype_titel], s.[stillingsbetegnelse_uuid], s.[stillingsbetegnelse_titel], s.[it_forbindelse_uuid], s.[primær_boolean], s.[faglig_organisation], s.[startdato], s.[slutdato] FROM [#mocdc_stg_tilknytninger] AS s
WHERE NOT EXISTS (SELECT 1 FROM [tilknytninger] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging orlover
IF OBJECT_ID(N'tempdb..#mocdc_stg_orlover') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_orlover] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bvn] nvarchar(250) COLLATE DATABASE_DEFAULT, [bruger_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [orlovstype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [orlovstype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [engagement_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_orlover] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_orlover];

-- delete vanished rows of orlover
DELETE t FROM [orlover] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'orlover' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_orlover] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert orlover
UPDATE t SET t.[bvn] = s.[bvn], t.[bruger_uuid] = s.[bruger_uuid], t.[orlovstype_uuid] = s.[orlovstype_uuid], t.[orlovstype_titel] = s.[orlovstype_titel], t.[engagement_uuid] = s.[engagement_uuid], t.[slutdato] = s.[slutdato]
FROM [orlover] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_orlover] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[bvn], s.[bruger_uuid], s.[orlovstype_uuid], s.[orlovstype_titel], s.[engagement_uuid], s.[slutdato] EXCEPT SELECT t.[bvn], t.[bruger_uuid], t.[orlovstype_uuid], t.[orlovstype_titel], t.[engagement_uuid], t.[slutdato]);
INSERT INTO [orlover] ([uuid], [bvn], [bruger_uuid], [orlovstype_uuid], [orlovstype_titel], [engagement_uuid], [startdato], [slutdato])
SELECT s.[uuid], s.[bvn], s.[bruger_uuid], s.[orlovstype_uuid], s.[orlovstype_titel], s.[engagement_uuid], s.[startdato], s.[slutdato] FROM [#mocdc_stg_orlover] AS s
WHERE NOT EXISTS (SELECT 1 FROM [orlover] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging it_systemer
IF OBJECT_ID(N'tempdb..#mocdc_stg_it_systemer') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_it_systemer] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [navn] nvarchar(250) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_it_systemer] ([uuid]);
END;
TRUNCATE TABLE [#mocdc_stg_it_systemer];

-- delete vanished rows of it_systemer
DELETE t FROM [it_systemer] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'it_systemer' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_it_systemer] s WHERE s.[uuid] = t.[uuid]);

-- upsert it_systemer
UPDATE t SET t.[navn] = s.[navn]
FROM [it_systemer] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_it_systemer] AS s ON t.[uuid] = s.[uuid]
WHERE EXISTS (SELECT s.[navn] EXCEPT SELECT t.[navn]);
INSERT INTO [it_systemer] ([uuid], [navn])
SELECT s.[uuid], s.[navn] FROM [#mocdc_stg_it_systemer] AS s
WHERE NOT EXISTS (SELECT 1 FROM [it_systemer] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid]);

-- staging it_forbindelser
IF OBJECT_ID(N'tempdb..#mocdc_stg_it_forbindelser') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_it_forbindelser] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [it_system_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bruger_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [brugernavn] nvarchar(250) COLLATE DATABASE_DEFAULT, [eksternt_id] nvarchar(250) COLLATE DATABASE_DEFAULT, [primær_boolean] bit, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_it_forbindelser] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_it_forbindelser];

-- delete vanished rows of it_forbindelser
DELETE t FROM [it_forbindelser] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'it_forbindelser' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_it_forbindelser] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert it_forbindelser
UPDATE t SET t.[it_system_uuid] = s.[it_system_uuid], t.[bruger_uuid] = s.[bruger_uuid], t.[enhed_uuid] = s.[enhed_uuid], t.[brugernavn] = s.[brugernavn], t.[eksternt_id] = s.[eksternt_id], t.[primær_boolean] = s.[primær_boolean], t.[slutdato] = s.[slutdato]
FROM [it_forbindelser] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_it_forbindelser] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[it_system_uuid], s.[bruger_uuid], s.[enhed_uuid], s.[brugernavn], s.[eksternt_id], s.[primær_boolean], s.[slutdato] EXCEPT SELECT t.[it_system_uuid], t.[bruger_uuid], t.[enhed_uuid], t.[brugernavn], t.[eksternt_id], t.[primær_boolean], t.[slutdato]);
INSERT INTO [it_forbindelser] ([uuid], [it_system_uuid], [bruger_uuid], [enhed_uuid], [brugernavn], [eksternt_id], [primær_boolean], [startdato], [slutdato])
SELECT s.[uuid], s.[it_system_uuid], s.[bruger_uuid], s.[enhed_uuid], s.[brugernavn], s.[eksternt_id], s.[primær_boolean], s.[startdato], s.[slutdato] FROM [#mocdc_stg_it_forbindelser] AS s
WHERE NOT EXISTS (SELECT 1 FROM [it_forbindelser] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging it_forbindelse_engagementer
IF OBJECT_ID(N'tempdb..#mocdc_stg_it_forbindelse_engagementer') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_it_forbindelse_engagementer] ([it_forbindelse_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [engagement_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_it_forbindelse_engagementer] ([it_forbindelse_uuid], [engagement_uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_it_forbindelse_engagementer];

-- delete vanished rows of it_forbindelse_engagementer
DELETE t FROM [it_forbindelse_engagementer] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'it_forbindelse_engagementer' AND k.[k1] = t.[it_forbindelse_uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_it_forbindelse_engagementer] s WHERE s.[it_forbindelse_uuid] = t.[it_forbindelse_uuid] AND s.[engagement_uuid] = t.[engagement_uuid] AND s.[startdato] = t.[startdato]);

-- upsert it_forbindelse_engagementer
UPDATE t SET t.[slutdato] = s.[slutdato]
FROM [it_forbindelse_engagementer] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_it_forbindelse_engagementer] AS s ON t.[it_forbindelse_uuid] = s.[it_forbindelse_uuid] AND t.[engagement_uuid] = s.[engagement_uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[slutdato] EXCEPT SELECT t.[slutdato]);
INSERT INTO [it_forbindelse_engagementer] ([it_forbindelse_uuid], [engagement_uuid], [startdato], [slutdato])
SELECT s.[it_forbindelse_uuid], s.[engagement_uuid], s.[startdato], s.[slutdato] FROM [#mocdc_stg_it_forbindelse_engagementer] AS s
WHERE NOT EXISTS (SELECT 1 FROM [it_forbindelse_engagementer] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[it_forbindelse_uuid] = s.[it_forbindelse_uuid] AND t.[engagement_uuid] = s.[engagement_uuid] AND t.[startdato] = s.[startdato]);

-- staging ledere
IF OBJECT_ID(N'tempdb..#mocdc_stg_ledere') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_ledere] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [bruger_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [ledertype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [ledertype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [niveautype_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [niveautype_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_ledere] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_ledere];

-- delete vanished rows of ledere
DELETE t FROM [ledere] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'ledere' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_ledere] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert ledere
UPDATE t SET t.[bruger_uuid] = s.[bruger_uuid], t.[enhed_uuid] = s.[enhed_uuid], t.[ledertype_uuid] = s.[ledertype_uuid], t.[ledertype_titel] = s.[ledertype_titel], t.[niveautype_uuid] = s.[niveautype_uuid], t.[niveautype_titel] = s.[niveautype_titel], t.[slutdato] = s.[slutdato]
FROM [ledere] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_ledere] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[bruger_uuid], s.[enhed_uuid], s.[ledertype_uuid], s.[ledertype_titel], s.[niveautype_uuid], s.[niveautype_titel], s.[slutdato] EXCEPT SELECT t.[bruger_uuid], t.[enhed_uuid], t.[ledertype_uuid], t.[ledertype_titel], t.[niveautype_uuid], t.[niveautype_titel], t.[slutdato]);
INSERT INTO [ledere] ([uuid], [bruger_uuid], [enhed_uuid], [ledertype_uuid], [ledertype_titel], [niveautype_uuid], [niveautype_titel], [startdato], [slutdato])
SELECT s.[uuid], s.[bruger_uuid], s.[enhed_uuid], s.[ledertype_uuid], s.[ledertype_titel], s.[niveautype_uuid], s.[niveautype_titel], s.[startdato], s.[slutdato] FROM [#mocdc_stg_ledere] AS s
WHERE NOT EXISTS (SELECT 1 FROM [ledere] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging leder_ansvar
IF OBJECT_ID(N'tempdb..#mocdc_stg_leder_ansvar') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_leder_ansvar] ([leder_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [lederansvar_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [lederansvar_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_leder_ansvar] ([leder_uuid], [lederansvar_uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_leder_ansvar];

-- delete vanished rows of leder_ansvar
DELETE t FROM [leder_ansvar] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'leder_ansvar' AND k.[k1] = t.[leder_uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_leder_ansvar] s WHERE s.[leder_uuid] = t.[leder_uuid] AND s.[lederansvar_uuid] = t.[lederansvar_uuid] AND s.[startdato] = t.[startdato]);

-- upsert leder_ansvar
UPDATE t SET t.[lederansvar_titel] = s.[lederansvar_titel], t.[slutdato] = s.[slutdato]
FROM [leder_ansvar] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_leder_ansvar] AS s ON t.[leder_uuid] = s.[leder_uuid] AND t.[lederansvar_uuid] = s.[lederansvar_uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[lederansvar_titel], s.[slutdato] EXCEPT SELECT t.[lederansvar_titel], t.[slutdato]);
INSERT INTO [leder_ansvar] ([leder_uuid], [lederansvar_uuid], [lederansvar_titel], [startdato], [slutdato])
SELECT s.[leder_uuid], s.[lederansvar_uuid], s.[lederansvar_titel], s.[startdato], s.[slutdato] FROM [#mocdc_stg_leder_ansvar] AS s
WHERE NOT EXISTS (SELECT 1 FROM [leder_ansvar] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[leder_uuid] = s.[leder_uuid] AND t.[lederansvar_uuid] = s.[lederansvar_uuid] AND t.[startdato] = s.[startdato]);

-- staging kle
IF OBJECT_ID(N'tempdb..#mocdc_stg_kle') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_kle] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [kle_aspekt_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [kle_aspekt_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [kle_nummer_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [kle_nummer_titel] nvarchar(250) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_kle] ([uuid], [kle_aspekt_uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_kle];

-- delete vanished rows of kle
DELETE t FROM [kle] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'kle' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_kle] s WHERE s.[uuid] = t.[uuid] AND s.[kle_aspekt_uuid] = t.[kle_aspekt_uuid] AND s.[startdato] = t.[startdato]);

-- upsert kle
UPDATE t SET t.[enhed_uuid] = s.[enhed_uuid], t.[kle_aspekt_titel] = s.[kle_aspekt_titel], t.[kle_nummer_uuid] = s.[kle_nummer_uuid], t.[kle_nummer_titel] = s.[kle_nummer_titel], t.[slutdato] = s.[slutdato]
FROM [kle] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_kle] AS s ON t.[uuid] = s.[uuid] AND t.[kle_aspekt_uuid] = s.[kle_aspekt_uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[enhed_uuid], s.[kle_aspekt_titel], s.[kle_nummer_uuid], s.[kle_nummer_titel], s.[slutdato] EXCEPT SELECT t.[enhed_uuid], t.[kle_aspekt_titel], t.[kle_nummer_uuid], t.[kle_nummer_titel], t.[slutdato]);
INSERT INTO [kle] ([uuid], [enhed_uuid], [kle_aspekt_uuid], [kle_aspekt_titel], [kle_nummer_uuid], [kle_nummer_titel], [startdato], [slutdato])
SELECT s.[uuid], s.[enhed_uuid], s.[kle_aspekt_uuid], s.[kle_aspekt_titel], s.[kle_nummer_uuid], s.[kle_nummer_titel], s.[startdato], s.[slutdato] FROM [#mocdc_stg_kle] AS s
WHERE NOT EXISTS (SELECT 1 FROM [kle] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[kle_aspekt_uuid] = s.[kle_aspekt_uuid] AND t.[startdato] = s.[startdato]);

-- staging enhedssammenkobling
IF OBJECT_ID(N'tempdb..#mocdc_stg_enhedssammenkobling') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_enhedssammenkobling] ([uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed1_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [enhed2_uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [startdato] nvarchar(10) COLLATE DATABASE_DEFAULT, [slutdato] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_enhedssammenkobling] ([uuid], [startdato]);
END;
TRUNCATE TABLE [#mocdc_stg_enhedssammenkobling];

-- delete vanished rows of enhedssammenkobling
DELETE t FROM [enhedssammenkobling] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'enhedssammenkobling' AND k.[k1] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_enhedssammenkobling] s WHERE s.[uuid] = t.[uuid] AND s.[startdato] = t.[startdato]);

-- upsert enhedssammenkobling
UPDATE t SET t.[enhed1_uuid] = s.[enhed1_uuid], t.[enhed2_uuid] = s.[enhed2_uuid], t.[slutdato] = s.[slutdato]
FROM [enhedssammenkobling] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_enhedssammenkobling] AS s ON t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]
WHERE EXISTS (SELECT s.[enhed1_uuid], s.[enhed2_uuid], s.[slutdato] EXCEPT SELECT t.[enhed1_uuid], t.[enhed2_uuid], t.[slutdato]);
INSERT INTO [enhedssammenkobling] ([uuid], [enhed1_uuid], [enhed2_uuid], [startdato], [slutdato])
SELECT s.[uuid], s.[enhed1_uuid], s.[enhed2_uuid], s.[startdato], s.[slutdato] FROM [#mocdc_stg_enhedssammenkobling] AS s
WHERE NOT EXISTS (SELECT 1 FROM [enhedssammenkobling] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[uuid] = s.[uuid] AND t.[startdato] = s.[startdato]);

-- staging mocdc_objects
IF OBJECT_ID(N'tempdb..#mocdc_stg_mocdc_objects') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_mocdc_objects] ([type] nvarchar(32) COLLATE DATABASE_DEFAULT, [uuid] nvarchar(36) COLLATE DATABASE_DEFAULT, [json] nvarchar(max) COLLATE DATABASE_DEFAULT, [next_change] nvarchar(10) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_mocdc_objects] ([type], [uuid]);
END;
TRUNCATE TABLE [#mocdc_stg_mocdc_objects];

-- delete vanished rows of mocdc_objects
DELETE t FROM [mocdc_objects] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'mocdc_objects' AND k.[k1] = t.[type] AND k.[k2] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_mocdc_objects] s WHERE s.[type] = t.[type] AND s.[uuid] = t.[uuid]);

-- upsert mocdc_objects
UPDATE t SET t.[json] = s.[json], t.[next_change] = s.[next_change]
FROM [mocdc_objects] AS t WITH (UPDLOCK, HOLDLOCK)
JOIN [#mocdc_stg_mocdc_objects] AS s ON t.[type] = s.[type] AND t.[uuid] = s.[uuid]
WHERE EXISTS (SELECT s.[json], s.[next_change] EXCEPT SELECT t.[json], t.[next_change]);
INSERT INTO [mocdc_objects] ([type], [uuid], [json], [next_change])
SELECT s.[type], s.[uuid], s.[json], s.[next_change] FROM [#mocdc_stg_mocdc_objects] AS s
WHERE NOT EXISTS (SELECT 1 FROM [mocdc_objects] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[type] = s.[type] AND t.[uuid] = s.[uuid]);

-- staging mocdc_refs
IF OBJECT_ID(N'tempdb..#mocdc_stg_mocdc_refs') IS NULL
BEGIN
  CREATE TABLE [#mocdc_stg_mocdc_refs] ([ref] nvarchar(36) COLLATE DATABASE_DEFAULT, [type] nvarchar(32) COLLATE DATABASE_DEFAULT, [uuid] nvarchar(36) COLLATE DATABASE_DEFAULT);
  CREATE INDEX [mocdc_key] ON [#mocdc_stg_mocdc_refs] ([ref], [type], [uuid]);
END;
TRUNCATE TABLE [#mocdc_stg_mocdc_refs];

-- delete vanished rows of mocdc_refs
DELETE t FROM [mocdc_refs] AS t WHERE EXISTS (SELECT 1 FROM [#mocdc_stg_keys] k WHERE k.[tbl] = 'mocdc_refs' AND k.[k1] = t.[type] AND k.[k2] = t.[uuid]) AND NOT EXISTS (SELECT 1 FROM [#mocdc_stg_mocdc_refs] s WHERE s.[ref] = t.[ref] AND s.[type] = t.[type] AND s.[uuid] = t.[uuid]);

-- upsert mocdc_refs
INSERT INTO [mocdc_refs] ([ref], [type], [uuid])
SELECT s.[ref], s.[type], s.[uuid] FROM [#mocdc_stg_mocdc_refs] AS s
WHERE NOT EXISTS (SELECT 1 FROM [mocdc_refs] AS t WITH (UPDLOCK, HOLDLOCK) WHERE t.[ref] = s.[ref] AND t.[type] = s.[type] AND t.[uuid] = s.[uuid]);

-- offsets: lock, read, store, insert (2 partitions)
UPDATE [mocdc_offsets] SET [next_offset] = [next_offset] WHERE ([topic] = @p1 AND [partition_no] = @p2) OR ([topic] = @p3 AND [partition_no] = @p4);
SELECT [topic], [partition_no], [next_offset] FROM [mocdc_offsets] WHERE ([topic] = @p1 AND [partition_no] = @p2) OR ([topic] = @p3 AND [partition_no] = @p4);
UPDATE [mocdc_offsets] SET [next_offset] = @p1 WHERE [topic] = @p2 AND [partition_no] = @p3;
INSERT INTO [mocdc_offsets] ([topic], [partition_no], [next_offset]) VALUES (@p1, @p2, @p3), (@p4, @p5, @p6);

-- offsets at partition assignment
SELECT [topic], [partition_no], [next_offset] FROM [mocdc_offsets];

-- state reads
SELECT [uuid], [json] FROM [mocdc_objects] WHERE [type] = @p1 AND [uuid] IN (@p2, @p3, @p4);
SELECT [ref], [type], [uuid] FROM [mocdc_refs] WHERE [ref] IN (@p1, @p2, @p3);
SELECT [ref], [type], [uuid] FROM [mocdc_refs] WHERE [ref] IN (@p1, @p2, @p3) AND [type] = @p4;

-- meta and day rollover
SELECT [value] FROM [mocdc_meta] WHERE [name] = @p1;
INSERT INTO [mocdc_meta] ([name], [value]) VALUES (@p1, @p2);
UPDATE [mocdc_meta] SET [value] = @p1 WHERE [name] = @p2;
UPDATE [mocdc_meta] SET [value] = @p1 WHERE [name] = @p2 AND [value] = @p3;
SELECT [type], [uuid] FROM [mocdc_objects] WHERE [next_change] IS NOT NULL AND [next_change] <= @p1;
SELECT MAX([id]) FROM [kvittering];
DELETE FROM [kvittering] WHERE [slut_levering_tid] < @p1 AND [id] < @p2;

-- mapping version changed: every object due
UPDATE [mocdc_objects] SET [next_change] = @p1;

-- kvittering
INSERT INTO [kvittering] ([query_tid], [start_levering_tid], [slut_levering_tid]) VALUES (@p1, @p2, @p3);

-- rows that show a changed class (or facet)
SELECT DISTINCT [uuid] FROM [klasser] WHERE [facet_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [enheder] WHERE [enhedstype_uuid] IN (@p1, @p2) OR [enhedsniveau_uuid] IN (@p1, @p2) OR [tidsregistrering_uuid] IN (@p1, @p2) OR [opmærkning_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [adresser] WHERE [adressetype_uuid] IN (@p1, @p2) OR [synlighed_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [engagementer] WHERE [engagementstype_uuid] IN (@p1, @p2) OR [primærtype_uuid] IN (@p1, @p2) OR [stillingsbetegnelse_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [tilknytninger] WHERE [tilknytningstype_uuid] IN (@p1, @p2) OR [stillingsbetegnelse_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [orlover] WHERE [orlovstype_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [ledere] WHERE [ledertype_uuid] IN (@p1, @p2) OR [niveautype_uuid] IN (@p1, @p2);
SELECT DISTINCT [leder_uuid] FROM [leder_ansvar] WHERE [lederansvar_uuid] IN (@p1, @p2);
SELECT DISTINCT [uuid] FROM [kle] WHERE [kle_aspekt_uuid] IN (@p1, @p2) OR [kle_nummer_uuid] IN (@p1, @p2);

