package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The scoped mirror of TestPolicyEndToEnd against the oracle restricted to
// the units that pass.

// tiedOracle are the export tables of objects that hang on a unit or a
// person: uuid, bruger_uuid, enhed_uuid of the objects valid now.
var tiedOracle = map[string]string{
	"kle": "KLE", "tilknytninger": "Tilknytning", "it_forbindelser": "IT-system", "adresser": "Adresse",
}

func tiedRows(t *testing.T, pool *pgxpool.Pool, funktionsnavn string) map[string][]string {
	t.Helper()
	q := oracleCTE("organisationfunktion") + ` SELECT f.uuid, ` + rel("organisationfunktion", "tilknyttedebrugere", "f.reg", "") + `, ` +
		rel("organisationfunktion", "tilknyttedeenheder", "f.reg", "") + ` FROM cur_organisationfunktion f WHERE ` +
		attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "f.reg") + ` = '` + funktionsnavn + `'`
	rows, err := pgQuery(pool)(q)
	if err != nil {
		t.Fatalf("oracle %s: %v", funktionsnavn, err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[*r[0]] = texts(r[1:])
	}
	return out
}

// passingUnits lists the units that pass the test's scope, by SQL over the
// store: labelled linjeorg (today) and not below the excluded unit.
func passingUnits(t *testing.T, e *e2e, excluded string) map[string]bool {
	t.Helper()
	passing := map[string]bool{}
	rows, err := e.pool.Query(context.Background(), oracleCTE("organisationenhed", "klasse")+`,
		units AS (SELECT e.uuid, `+rel("organisationenhed", "overordnet", "e.reg", "")+` AS parent,
			(SELECT `+attr("klasse", "attr_egenskaber", "brugervendtnoegle", "k.reg")+` FROM cur_klasse k WHERE k.uuid = `+rel("organisationenhed", "opmærkning", "e.reg", "")+`) AS label
			FROM cur_organisationenhed e),
		anc(uuid, a, depth) AS (SELECT uuid, uuid, 0 FROM units
			UNION ALL SELECT anc.uuid, u.parent, anc.depth + 1 FROM anc JOIN units u ON u.uuid = anc.a WHERE u.parent IS NOT NULL AND anc.depth < 64)
		SELECT u.uuid FROM units u WHERE u.label = 'linjeorg' AND NOT EXISTS (SELECT 1 FROM anc WHERE anc.uuid = u.uuid AND anc.a = $1)`, excluded)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		passing[u] = true
	}
	return passing
}

// checkScopedMirror compares the scoped mirror with the oracle restricted to
// the units that pass (label linjeorg, outside the excluded subtree) and
// the persons with a current engagement in one, and searches every row of
// every table for sensitive classes.
func checkScopedMirror(t *testing.T, e *e2e, dsn, excluded string) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	passing := passingUnits(t, e, excluded)
	engs := oracle(t, e.pool, "engagementer")
	persons := map[string]bool{}
	for _, r := range engs {
		if passing[r[2]] { // enhed_uuid
			persons[r[1]] = true // bruger_uuid
		}
	}
	keep := func(table string, want map[string][]string) map[string][]string {
		out := map[string][]string{}
		for u, r := range want {
			ok := true
			switch table {
			case "enheder":
				ok = passing[u]
			case "engagementer":
				ok = passing[r[2]]
			case "ledere":
				ok = passing[r[1]]
			case "brugere":
				ok = persons[u]
			case "kle", "tilknytninger", "it_forbindelser", "adresser": // bruger_uuid, enhed_uuid
				if r[1] != "NULL" {
					ok = passing[r[1]]
				} else {
					ok = persons[r[0]]
				}
			}
			if ok {
				out[u] = r
			}
		}
		return out
	}
	tables := []string{"brugere", "klasser", "enheder", "engagementer", "ledere"}
	var stable bool
	for deadline := time.Now().Add(90 * time.Second); !stable && time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		stable = true
		for _, table := range tables {
			if len(mirrorRows(t, pgQuery(pool), false, table, oracleQueries[table].columns)) != len(keep(table, oracle(t, e.pool, table))) {
				stable = false
			}
		}
	}
	for _, table := range tables {
		q := oracleQueries[table]
		cols := q.columns
		want := keep(table, oracle(t, e.pool, table))
		if table == "engagementer" {
			// stillingsbetegnelse_uuid: NULL for a sensitive class;
			// stillingsbetegnelse_titel: the export title by OS2mo's rule.
			cols = []string{"uuid", "bvn", "bruger_uuid", "enhed_uuid", "stillingsbetegnelse_uuid", "stillingsbetegnelse_titel", "engagementstype_uuid"}
			titles := expectedTitles(t, e)
			for u, r := range want {
				job := r[3]
				for _, c := range sensitiveClasses {
					if job == c.uuid {
						job = "NULL"
					}
				}
				want[u] = []string{r[0], r[1], r[2], job, titles[u], r[5]}
			}
		}
		if len(want) == 0 {
			t.Errorf("scoped oracle %s is empty", table)
		}
		compare(t, "scoped", table, cols, want, mirrorRows(t, pgQuery(pool), false, table, cols))
	}
	tied := 0
	for table, fn := range tiedOracle {
		want := keep(table, tiedRows(t, e.pool, fn))
		cols := []string{"uuid", "bruger_uuid", "enhed_uuid"}
		if table == "kle" { // a unit's only
			cols = []string{"uuid", "enhed_uuid"}
			for u, r := range want {
				want[u] = r[1:]
			}
		}
		tied += len(want)
		var got map[string][]string
		if table == "kle" { // one row per KLE aspect
			rows, err := pgQuery(pool)("SELECT DISTINCT uuid, enhed_uuid FROM kle")
			if err != nil {
				t.Fatal(err)
			}
			got = map[string][]string{}
			for _, r := range rows {
				got[*r[0]] = texts(r[1:])
			}
		} else {
			got = mirrorRows(t, pgQuery(pool), false, table, cols)
		}
		compare(t, "scoped", table, cols, want, got)
	}
	if tied == 0 {
		t.Errorf("no KLE, association, IT user or address hangs on the units in scope")
	}
	if len(passing) == 0 || len(passing) == len(oracle(t, e.pool, "enheder")) {
		t.Errorf("%d of %d units pass: the scope filtered nothing or everything", len(passing), len(oracle(t, e.pool, "enheder")))
	}
	checked, searched := mirrorLeaks(t, pool, "scoped")
	t.Logf("scoped mirror: %d of %d units pass; %d rows of %d tables searched", len(passing), len(oracle(t, e.pool, "enheder")), checked, searched)
}

// mirrorLeaks searches every row of every table of a PostgreSQL mirror
// for a sensitive class anywhere but in the class itself; it returns the
// rows and tables searched.
func mirrorLeaks(t *testing.T, pool *pgxpool.Pool, name string) (rows, tables int) {
	t.Helper()
	list, err := pgQuery(pool)(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list {
		table := *n[0]
		all, err := pgQuery(pool)(fmt.Sprintf(`SELECT t::text FROM %q t`, table))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			rows++
			found := leak(*r[0])
			if len(found) == 0 || table == "klasser" || (table == "mocdc_objects" && strings.Contains(*r[0], "(class,")) {
				continue
			}
			t.Errorf("%s mirror: %s row carries %v: %.300s", name, table, found, *r[0])
		}
	}
	if rows < 100 {
		t.Errorf("%s mirror: only %d rows to search", name, rows)
	}
	return rows, len(list)
}
