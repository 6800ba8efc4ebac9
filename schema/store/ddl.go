package store

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// TimeZone is the time zone of the MO store database and of every session
// that writes it (mo-store.md §1).
const TimeZone = "Europe/Copenhagen"

// Extensions are the extensions the schema needs, all in schema public.
var Extensions = []string{"uuid-ossp", "btree_gist", "pg_trgm"}

// statement is one DDL statement. what names it in errors; privHint says
// what to do when the role lacks the privilege for it (SQLSTATE 42501).
type statement struct {
	what     string
	sql      string
	privHint string
}

// DDL returns the schema's DDL as one SQL script (statements separated by
// ";\n\n"), for reading and for applying by hand with psql. Init applies the
// same statements one by one.
func DDL() string {
	var b strings.Builder
	for _, s := range statements() {
		b.WriteString("-- " + s.what + "\n" + s.sql + ";\n\n")
	}
	return b.String()
}

// statements is the whole schema, in dependency order. Every statement is
// idempotent: CREATE ... IF NOT EXISTS, DO blocks that look in the catalog
// first (types, triggers, indexes, database settings) and CREATE OR REPLACE
// for functions, so a second Init changes nothing and takes no table lock
// that would wait for writers.
func statements() []statement {
	var out []statement
	for _, ext := range Extensions {
		out = append(out, statement{
			what: "create extension " + ext,
			sql:  fmt.Sprintf("CREATE EXTENSION IF NOT EXISTS %s SCHEMA public", quoteIdent(ext)),
			privHint: fmt.Sprintf("permission denied to create extension %s: connect as a superuser "+
				"or have an admin run CREATE EXTENSION %s in database %%[1]s", ext, quoteIdent(ext)),
		})
	}
	out = append(out, statement{
		what: "create schema " + lora.Schema,
		sql:  "CREATE SCHEMA IF NOT EXISTS " + lora.Schema,
	})
	out = append(out,
		enumType("aktoertypekode", []string{"Organisation", "OrganisationEnhed", "OrganisationFunktion", "Bruger", "ItSystem", "Interessefaellesskab"}),
		enumType("livscykluskode", []string{"Opstaaet", "Importeret", "Passiveret", "Slettet", "Rettet"}),
		compositeType("virkning", "timeperiod tstzrange, aktoerref uuid, aktoertypekode "+qual("aktoertypekode")+", notetekst text"),
		compositeType("registreringbase", "timeperiod tstzrange, livscykluskode "+qual("livscykluskode")+", brugerref uuid, note text"),
	)
	for _, c := range lora.Classes {
		out = append(out, classStatements(c)...)
	}
	out = append(out, auditStatements()...)
	out = append(out,
		databaseSetting("TimeZone", TimeZone, literal(TimeZone)),
		databaseSetting("search_path", lora.Schema+", public", lora.Schema+", public"))
	return out
}

// classStatements are the types, tables, indexes, functions and triggers of
// one class (mo-store.md §2-3).
func classStatements(c *lora.Class) []statement {
	reg := c.RegistreringTable()
	fk := c.RegistreringFK()
	out := []statement{
		enumType(tilsType(c), c.TilsValues()),
		enumType(relationType(c), c.RelationKinds()),
		{
			// Exclusion constraints need an IMMUTABLE expression; an enum's
			// text cast is only STABLE, so wrap it as OS2mo does.
			what: "create function " + relationKindText(c),
			sql: fmt.Sprintf("CREATE OR REPLACE FUNCTION %s(%s) RETURNS text LANGUAGE sql STRICT IMMUTABLE AS $$ SELECT $1::text $$",
				relationKindText(c), qual(relationType(c))),
		},
		createTable(c.Table(), "id uuid NOT NULL",
			constraint(c.Table(), "pkey", "PRIMARY KEY (id)")),
		createTable(reg,
			identity(reg),
			c.ObjectFK()+" uuid NOT NULL",
			"registrering "+qual("registreringbase")+" NOT NULL",
			constraint(reg, "pkey", "PRIMARY KEY (id)"),
			constraint(reg, c.Table()+"_fkey", fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s (id)", c.ObjectFK(), qual(c.Table()))),
			constraint(reg, "timeperiod_check", "CHECK ((registrering).timeperiod IS NOT NULL AND NOT isempty((registrering).timeperiod))"),
			constraint(reg, "excl", fmt.Sprintf("EXCLUDE USING gist (%s WITH =, ((registrering).timeperiod) WITH &&)", c.ObjectFK())),
		),
		createIndex(reg, c.ObjectFK(), ""),
	}

	attrCols := []string{identity(c.EgenskaberTable()), "brugervendtnoegle text NOT NULL"}
	out = append(out, createTable(c.EgenskaberTable(), append(attrCols, periodTable(c, c.EgenskaberTable(), columnDefs(c.Egenskaber))...)...),
		createIndex(c.EgenskaberTable(), fk, ""))
	if len(c.Udvidelser) > 0 {
		cols := append([]string{identity(c.UdvidelserTable())}, periodTable(c, c.UdvidelserTable(), columnDefs(c.Udvidelser))...)
		out = append(out, createTable(c.UdvidelserTable(), cols...), createIndex(c.UdvidelserTable(), fk, ""))
	}

	tils := c.TilsTable()
	out = append(out,
		createTable(tils,
			identity(tils),
			"virkning "+qual("virkning")+" NOT NULL",
			quoteIdent(c.Tils)+" "+qual(tilsType(c))+" NOT NULL",
			fk+" bigint NOT NULL",
			constraint(tils, "pkey", "PRIMARY KEY (id)"),
			constraint(tils, "reg_fkey", fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s (id)", fk, qual(reg))),
			constraint(tils, "virkning_check", virkningCheck),
			constraint(tils, "excl", fmt.Sprintf("EXCLUDE USING gist (%s WITH =, ((virkning).timeperiod) WITH &&)", fk)),
		),
		createIndex(tils, fk, ""))

	rel := c.RelationTable()
	relCols := []string{
		identity(rel),
		fk + " bigint NOT NULL",
		"virkning " + qual("virkning") + " NOT NULL",
		"rel_maal_uuid uuid",
		"rel_maal_urn text",
		"rel_type " + qual(relationType(c)) + " NOT NULL",
		"objekt_type text",
	}
	if c.ActiveTils {
		relCols = append(relCols, activeTilsColumn)
	}
	relCols = append(relCols,
		constraint(rel, "pkey", "PRIMARY KEY (id)"),
		constraint(rel, "reg_fkey", fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s (id)", fk, qual(reg))),
		constraint(rel, "virkning_check", virkningCheck),
		// OS2mo's rule: an empty URN counts as no URN.
		constraint(rel, "uuid_or_urn_check", "CHECK (NOT (rel_maal_uuid IS NOT NULL AND rel_maal_urn IS NOT NULL AND rel_maal_urn <> ''))"),
	)
	if len(c.ZeroToOne) > 0 {
		relCols = append(relCols, constraint(rel, "excl", fmt.Sprintf(
			"EXCLUDE USING gist (%s WITH =, %s(rel_type) WITH =, ((virkning).timeperiod) WITH &&) WHERE (rel_type IN (%s))",
			fk, relationKindText(c), literals(c.ZeroToOne))))
	}
	out = append(out, createTable(rel, relCols...), createIndex(rel, fk, ""), createIndex(rel, "rel_maal_uuid", ""))

	if c == lora.Klasse {
		so := c.EgenskaberTable() + "_soegeord"
		out = append(out, createTable(so,
			identity(so),
			"soegeordidentifikator text",
			"beskrivelse text",
			"soegeordskategori text",
			c.EgenskaberTable()+"_id bigint NOT NULL",
			constraint(so, "pkey", "PRIMARY KEY (id)"),
			constraint(so, "attr_fkey", fmt.Sprintf("FOREIGN KEY (%s_id) REFERENCES %s (id)", c.EgenskaberTable(), qual(c.EgenskaberTable()))),
		), createIndex(so, c.EgenskaberTable()+"_id", ""))
	}
	if c.ActiveTils {
		out = append(out, activeTilsStatements(c)...)
	}
	return out
}

const (
	virkningCheck    = "CHECK ((virkning).timeperiod IS NOT NULL AND NOT isempty((virkning).timeperiod))"
	activeTilsColumn = "active_tils tstzmultirange NOT NULL DEFAULT '{}'"
)

// periodTable returns the columns and constraints that attr tables share
// after their own columns: virkning, the registration FK, active_tils.
func periodTable(c *lora.Class, table string, own []string) []string {
	fk := c.RegistreringFK()
	cols := append(own, "virkning "+qual("virkning")+" NOT NULL", fk+" bigint NOT NULL")
	if c.ActiveTils {
		cols = append(cols, activeTilsColumn)
	}
	return append(cols,
		constraint(table, "pkey", "PRIMARY KEY (id)"),
		constraint(table, "reg_fkey", fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s (id)", fk, qual(c.RegistreringTable()))),
		constraint(table, "virkning_check", virkningCheck),
		constraint(table, "excl", fmt.Sprintf("EXCLUDE USING gist (%s WITH =, ((virkning).timeperiod) WITH &&)", fk)),
	)
}

// activeTilsStatements are the 2026 triggers: the BEFORE trigger that sets
// active_tils on attr and relation rows from the registration's active tils
// periods, and the AFTER trigger on the tils table that touches the attr and
// relation rows that already exist, so their BEFORE trigger runs again.
func activeTilsStatements(c *lora.Class) []statement {
	fk := c.RegistreringFK()
	periodTables := []string{c.EgenskaberTable()}
	if len(c.Udvidelser) > 0 {
		periodTables = append(periodTables, c.UdvidelserTable())
	}
	periodTables = append(periodTables, c.RelationTable())

	setFn := qual(c.Name + "_set_active_tils")
	touchFn := qual(c.Name + "_touch_period_rows")
	out := []statement{{
		what: "create function " + setFn,
		sql: fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.active_tils := COALESCE(
        (SELECT range_agg((t.virkning).timeperiod) FROM %[2]s t
          WHERE t.%[3]s = NEW.%[3]s AND t.%[4]s = %[5]s),
        '{}'::tstzmultirange);
    RETURN NEW;
END;
$fn$`, setFn, qual(c.TilsTable()), fk, quoteIdent(c.Tils), literal(c.ActiveValue())),
	}}
	var touches strings.Builder
	for _, t := range periodTables {
		fmt.Fprintf(&touches, "    UPDATE %s SET id = id WHERE %s = rid;\n", qual(t), fk)
	}
	out = append(out, statement{
		what: "create function " + touchFn,
		sql: fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    rid bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN rid := OLD.%[2]s; ELSE rid := NEW.%[2]s; END IF;
%[3]s    RETURN NULL;
END;
$fn$`, touchFn, fk, touches.String()),
	})
	for _, t := range periodTables {
		out = append(out, createTrigger(t, "set_active_tils",
			fmt.Sprintf("BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s()", qual(t), setFn)))
	}
	out = append(out, createTrigger(c.TilsTable(), "touch_period_rows",
		fmt.Sprintf("AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s()", qual(c.TilsTable()), touchFn)))
	return out
}

// auditStatements are the actor table and OS2mo's access log (mo-store.md §7).
func auditStatements() []statement {
	op, rd := lora.AccessLogOperationTable, lora.AccessLogReadTable
	return []statement{
		createTable(lora.ActorTable,
			"actor uuid NOT NULL",
			"name text NOT NULL",
			constraint(lora.ActorTable, "pkey", "PRIMARY KEY (actor)")),
		createTable(op,
			"id uuid NOT NULL DEFAULT public.uuid_generate_v4()",
			`"time" timestamptz DEFAULT now()`,
			"actor uuid NOT NULL",
			"model varchar(255) NOT NULL",
			"operation varchar(255) NOT NULL",
			"arguments json NOT NULL",
			constraint(op, "pkey", "PRIMARY KEY (id)")),
		createIndex(op, "actor", ""),
		createIndex(op, "model", ""),
		createIndex(op, `"time"`, "time"),
		createTable(rd,
			"id uuid NOT NULL DEFAULT public.uuid_generate_v4()",
			"operation_id uuid",
			"uuid uuid NOT NULL",
			constraint(rd, "pkey", "PRIMARY KEY (id)"),
			constraint(rd, "operation_id_fkey", fmt.Sprintf("FOREIGN KEY (operation_id) REFERENCES %s (id)", qual(op)))),
		createIndex(rd, "uuid", ""),
		createIndex(rd, "operation_id", ""),
	}
}

// databaseSetting sets a per-database default (ALTER DATABASE ... SET)
// unless it is already set, so that re-running Init needs no ownership.
// value is the setting as pg_db_role_setting stores it, sqlValue as SQL
// writes it (search_path is a list of identifiers, not one string).
func databaseSetting(name, value, sqlValue string) statement {
	return statement{
		what: fmt.Sprintf("set %s of the database to %s", name, value),
		sql: fmt.Sprintf(`DO $do$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) AS cfg
         WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.setrole = 0 AND lower(cfg) = lower(%s)) THEN
        EXECUTE format('ALTER DATABASE %%I SET %s = %s', current_database());
    END IF;
END
$do$`, literal(name+"="+value), name, strings.ReplaceAll(sqlValue, "'", "''")),
		privHint: fmt.Sprintf("only the owner of database %%[1]s may set its %s: run ALTER DATABASE %%[1]s SET %s = %s as the owner "+
			"(or a superuser), or connect as the owner", name, name, sqlValue),
	}
}

func enumType(name string, values []string) statement {
	// Create the type if missing, then add values that a newer lora.Class
	// declares (ALTER TYPE ... ADD VALUE is allowed in a transaction since 12).
	return statement{
		what: "create type " + qual(name),
		sql: fmt.Sprintf(`DO $do$
DECLARE
    v text;
BEGIN
    IF to_regtype(%[1]s) IS NULL THEN
        CREATE TYPE %[2]s AS ENUM (%[3]s);
    END IF;
    FOREACH v IN ARRAY ARRAY[%[3]s]::text[] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = %[1]s::regtype AND enumlabel = v) THEN
            EXECUTE format('ALTER TYPE %[2]s ADD VALUE %%L', v);
        END IF;
    END LOOP;
END
$do$`, literal(qual(name)), qual(name), literals(values)),
	}
}

func compositeType(name, fields string) statement {
	return statement{
		what: "create type " + qual(name),
		sql: fmt.Sprintf(`DO $do$
BEGIN
    IF to_regtype(%s) IS NULL THEN
        CREATE TYPE %s AS (%s);
    END IF;
END
$do$`, literal(qual(name)), qual(name), fields),
	}
}

func createTable(name string, items ...string) statement {
	return statement{
		what: "create table " + qual(name),
		sql:  fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n    %s\n)", qual(name), strings.Join(items, ",\n    ")),
	}
}

// createIndex creates a btree index on column (an expression when quoted)
// unless an index of that name exists; suffix overrides the name part.
func createIndex(table, column, suffix string) statement {
	if suffix == "" {
		suffix = column
	}
	name := pgName(table, "idx", suffix)
	return statement{
		what: "create index " + qual(name),
		sql: fmt.Sprintf(`DO $do$
BEGIN
    IF to_regclass(%s) IS NULL THEN
        CREATE INDEX %s ON %s (%s);
    END IF;
END
$do$`, literal(qual(name)), name, qual(table), column),
	}
}

func createTrigger(table, name, def string) statement {
	return statement{
		what: fmt.Sprintf("create trigger %s on %s", name, qual(table)),
		sql: fmt.Sprintf(`DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s) THEN
        CREATE TRIGGER %s %s;
    END IF;
END
$do$`, literal(qual(table)), literal(name), name, def),
	}
}

// identity is the bigint id column of a LoRa table; the sequence is named
// explicitly so that the writer can reserve ids from it.
func identity(table string) string {
	return fmt.Sprintf("id bigint GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME %s)", qual(sequence(table)))
}

func sequence(table string) string { return pgName(table, "id", "seq") }

func constraint(table, suffix, def string) string {
	return "CONSTRAINT " + pgName(table, suffix) + " " + def
}

func columnDefs(cols []lora.Column) []string {
	out := make([]string, len(cols))
	for i, col := range cols {
		out[i] = quoteIdent(col.Name) + " " + sqlType(col.Type)
	}
	return out
}

// sqlType maps a lora column type to the PostgreSQL type name that the
// catalog (and logical decoding) shows.
func sqlType(t string) string {
	if t == "int" {
		return "integer"
	}
	return t
}

func tilsType(c *lora.Class) string     { return c.Name + c.Tils + "tils" }
func relationType(c *lora.Class) string { return c.Name + "relationkode" }
func relationKindText(c *lora.Class) string {
	return qual("_as_convert_" + c.Name + "_relation_kode_to_txt")
}

// qual schema-qualifies a (lowercase ASCII) object name.
func qual(name string) string { return lora.Schema + "." + name }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func literals(values []string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = literal(v)
	}
	return strings.Join(out, ", ")
}

// pgName joins parts with "_" and keeps the result within PostgreSQL's 63
// byte identifier limit (a long name gets a hash suffix instead of being
// silently truncated, so two long names never collide).
func pgName(parts ...string) string {
	n := strings.Join(parts, "_")
	if len(n) <= 63 {
		return n
	}
	h := fnv.New32a()
	h.Write([]byte(n))
	return fmt.Sprintf("%s_%08x", n[:54], h.Sum32())
}
