package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The oracle: what the mirror's actual-state tables must hold, computed
// with plain SQL over the MO store's LoRa tables by mo-store.md's
// current-state rule (open, not deleted registration; rows valid at the
// instant $1, inside an active state period) and OS2mo's rules for
// primær_boolean (the engagement's own primary class has scope >= 3000)
// and the dates (currentSQL in scenario_test.go) — independently of
// capture and of the mirror's code.

// oracleCTE defines, per class C used below, cur_C(reg, uuid): the current
// registrations of objects valid now.
func oracleCTE(classes ...string) string {
	var parts []string
	for _, c := range classes {
		tils, active := "gyldighed", "Aktiv"
		if c == "klasse" || c == "facet" {
			tils, active = "publiceret", "Publiceret"
		}
		parts = append(parts, fmt.Sprintf(`cur_%[1]s AS (
  SELECT r.id AS reg, r.%[1]s_id::text AS uuid FROM actual_state.%[1]s_registrering r
  WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet'
    AND EXISTS (SELECT 1 FROM actual_state.%[1]s_tils_%[2]s t WHERE t.%[1]s_registrering_id = r.id
                AND t.%[2]s = '%[3]s' AND (t.virkning).timeperiod @> now()))`, c, tils, active))
	}
	return "WITH RECURSIVE " + strings.Join(parts, ",\n")
}

// attr and rel are scalar subqueries for the value valid now.
func attr(class, table, col, reg string) string {
	return fmt.Sprintf(`(SELECT a.%s::text FROM actual_state.%s_%s a WHERE a.%s_registrering_id = %s AND (a.virkning).timeperiod @> now() LIMIT 1)`,
		col, class, table, class, reg)
}

func rel(class, kind, reg, objektType string) string {
	filter := ""
	if objektType != "" {
		filter = fmt.Sprintf(" AND x.objekt_type = '%s'", objektType)
	}
	return fmt.Sprintf(`(SELECT coalesce(x.rel_maal_uuid::text, x.rel_maal_urn) FROM actual_state.%s_relation x WHERE x.%s_registrering_id = %s
		AND x.rel_type = '%s' AND (x.virkning).timeperiod @> now()%s ORDER BY 1 LIMIT 1)`, class, class, reg, kind, filter)
}

func klasseTitel(uuidExpr string) string {
	return fmt.Sprintf(`(SELECT `+attr("klasse", "attr_egenskaber", "titel", "k.reg")+` FROM cur_klasse k WHERE k.uuid = %s)`, uuidExpr)
}

// oracleQueries maps an export table to the SQL that yields its expected
// rows: the key column first, then the compared columns, all as text.
var oracleQueries = map[string]struct {
	columns []string
	sql     string
}{
	"brugere": {
		[]string{"uuid", "bvn", "fornavn", "efternavn", "cpr"},
		oracleCTE("bruger") + ` SELECT b.uuid, ` + attr("bruger", "attr_egenskaber", "brugervendtnoegle", "b.reg") + `, ` +
			attr("bruger", "attr_udvidelser", "fornavn", "b.reg") + `, ` + attr("bruger", "attr_udvidelser", "efternavn", "b.reg") + `,
			replace(` + rel("bruger", "tilknyttedepersoner", "b.reg", "") + `, 'urn:dk:cpr:person:', '') FROM cur_bruger b`,
	},
	"klasser": {
		[]string{"uuid", "bvn", "titel", "facet_uuid"},
		oracleCTE("klasse") + ` SELECT k.uuid, ` + attr("klasse", "attr_egenskaber", "brugervendtnoegle", "k.reg") + `, ` +
			attr("klasse", "attr_egenskaber", "titel", "k.reg") + `, ` + rel("klasse", "facet", "k.reg", "") + ` FROM cur_klasse k`,
	},
	"enheder": {
		[]string{"uuid", "navn", "bvn", "enhedstype_uuid", "enhedstype_titel", "organisatorisk_sti"},
		oracleCTE("organisationenhed", "klasse") + `,
		units AS (SELECT e.uuid, ` + attr("organisationenhed", "attr_egenskaber", "enhedsnavn", "e.reg") + ` AS navn,
			` + rel("organisationenhed", "overordnet", "e.reg", "") + ` AS parent FROM cur_organisationenhed e),
		path(uuid, up, sti, depth) AS (
			SELECT uuid, parent, navn, 0 FROM units
			UNION ALL SELECT p.uuid, u.parent, u.navn || '\' || p.sti, p.depth + 1 FROM path p JOIN units u ON u.uuid = p.up WHERE p.depth < 64),
		sti AS (SELECT DISTINCT ON (uuid) uuid, sti FROM path ORDER BY uuid, depth DESC)
		SELECT e.uuid, ` + attr("organisationenhed", "attr_egenskaber", "enhedsnavn", "e.reg") + `, ` +
			attr("organisationenhed", "attr_egenskaber", "brugervendtnoegle", "e.reg") + `, ` + rel("organisationenhed", "enhedstype", "e.reg", "") + `, ` +
			klasseTitel(rel("organisationenhed", "enhedstype", "e.reg", "")) + `, sti.sti
		FROM cur_organisationenhed e JOIN sti ON sti.uuid = e.uuid`,
	},
	"engagementer": {
		[]string{"uuid", "bvn", "bruger_uuid", "enhed_uuid", "stillingsbetegnelse_uuid", "stillingsbetegnelse_titel", "engagementstype_uuid", "primær_boolean"},
		oracleCTE("organisationfunktion", "klasse") + `,
		eng AS (SELECT f.uuid, ` + attr("organisationfunktion", "attr_egenskaber", "brugervendtnoegle", "f.reg") + ` AS bvn, ` +
			rel("organisationfunktion", "tilknyttedebrugere", "f.reg", "") + ` AS person, ` + rel("organisationfunktion", "tilknyttedeenheder", "f.reg", "") + ` AS unit, ` +
			rel("organisationfunktion", "opgaver", "f.reg", "") + ` AS job, ` + klasseTitel(rel("organisationfunktion", "opgaver", "f.reg", "")) + ` AS job_title, ` +
			rel("organisationfunktion", "organisatoriskfunktionstype", "f.reg", "") + ` AS etype,
			coalesce((SELECT ` + attr("klasse", "attr_egenskaber", "omfang", "k.reg") + ` FROM cur_klasse k WHERE k.uuid = ` +
			rel("organisationfunktion", "primær", "f.reg", "") + `), '0') AS scope
			FROM cur_organisationfunktion f
			WHERE ` + attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "f.reg") + ` = 'Engagement')
		SELECT e.uuid, e.bvn, e.person, e.unit, e.job, e.job_title, e.etype,
			(CASE WHEN trim(scope) ~ '^[0-9]+$' THEN trim(scope)::int ELSE 0 END >= 3000)::text
		FROM eng e`,
	},
	"ledere": {
		[]string{"uuid", "bruger_uuid", "enhed_uuid", "ledertype_uuid"},
		oracleCTE("organisationfunktion") + ` SELECT f.uuid, ` + rel("organisationfunktion", "tilknyttedebrugere", "f.reg", "") + `, ` +
			rel("organisationfunktion", "tilknyttedeenheder", "f.reg", "") + `, ` + rel("organisationfunktion", "organisatoriskfunktionstype", "f.reg", "") + `
			FROM cur_organisationfunktion f WHERE ` + attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "f.reg") + ` = 'Leder'`,
	},
}

// datedTables are the tables whose startdato and slutdato the oracle
// computes too (appended to the compared columns), with their LoRa class.
var datedTables = map[string]string{"enheder": "organisationenhed", "engagementer": "organisationfunktion", "ledere": "organisationfunktion"}

// oracleColumns are the compared columns of table: the query's, and the
// dates where the oracle computes them.
func oracleColumns(table string) []string {
	cols := oracleQueries[table].columns
	if _, ok := datedTables[table]; ok {
		cols = append(append([]string(nil), cols...), "startdato", "slutdato")
	}
	return cols
}

// oracle runs the expected-rows query of table against the MO store, as
// of now: the columns of oracleQueries (no dates).
func oracle(t *testing.T, pool *pgxpool.Pool, table string) map[string][]string {
	return oracleRows(t, pool, table, time.Now())
}

// oracleAt is the expected rows of table at instant at, in the columns of
// oracleColumns (with the dates where the oracle computes them).
func oracleAt(t *testing.T, pool *pgxpool.Pool, table string, at time.Time) map[string][]string {
	t.Helper()
	out := oracleRows(t, pool, table, at)
	if class, ok := datedTables[table]; ok {
		uuids := make([]string, 0, len(out))
		for u := range out {
			uuids = append(uuids, u)
		}
		dates := oracleCurrent(t, pool, class, uuids, at)
		for u, vals := range out {
			d := dates[u]
			if d == nil {
				d = []string{"NULL", "NULL"}
			}
			out[u] = append(vals, d...)
		}
	}
	return out
}

func oracleRows(t *testing.T, pool *pgxpool.Pool, table string, at time.Time) map[string][]string {
	t.Helper()
	q := oracleQueries[table]
	// The queries are written for now(); the instant is a parameter.
	rows, err := pool.Query(context.Background(), strings.ReplaceAll(q.sql, "now()", "$1::timestamptz"), at)
	if err != nil {
		t.Fatalf("oracle %s: %v", table, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		vals := make([]*string, len(q.columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out[*vals[0]] = texts(vals[1:])
	}
	return out
}

func texts(vals []*string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if v != nil {
			out[i] = *v
		} else {
			out[i] = "NULL"
		}
	}
	return out
}
