package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// Mirror fidelity scenarios (issue 10): each is written into the MO store
// through the MO writer (OS2mo's layout), captured, mirrored into
// PostgreSQL and MariaDB, and the mirrors' rows compared with what OS2mo's
// export shows, computed here in SQL over the LoRa tables by OS2mo's rules
// (currentSQL and the value queries below) — not by the mirror's code.

// relevantKinds are the relation kinds OS2mo's reading handlers cut an
// object's periods at (mora/handler/reading.py, impl/org_unit.py).
var relevantKinds = map[string][]string{
	"organisationfunktion": {"opgaver", "adresser", "organisatoriskfunktionstype", "tilknyttedeenheder", "tilknyttedeklasser",
		"tilknyttedebrugere", "tilknyttedefunktioner", "tilknyttedeitsystemer", "tilknyttedepersoner", "primær"},
	"organisationenhed": {"enhedstype", "opgaver", "overordnet", "tilhoerer", "niveau", "opmærkning"},
}

// currentSQL computes, for the objects of class c (uuids in $1), the
// period OS2mo's `current` read gives them at $2: every attribute, state
// ('Aktiv') and relevant relation row of the open registration; adjacent
// rows of one kind with identical values merged (LoRa's konsolider, after
// dropping falsy attribute values as OS2mo's read does); of the merged
// rows those valid at $2; the latest start and the earliest end. Columns:
// uuid, startdato, slutdato.
func currentSQL(c string) string {
	return mergedRowsSQL(c) + `,
	valid AS (SELECT * FROM merged WHERE lo <= $2 AND $2 < hi)
	SELECT uuid,
		CASE WHEN max(lo) = '-infinity' THEN '0001-01-01' ELSE to_char(max(lo) AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD') END,
		CASE WHEN min(hi) = 'infinity' THEN '9999-12-31' ELSE to_char((min(hi) AT TIME ZONE 'Europe/Copenhagen')::date - 1, 'YYYY-MM-DD') END
	FROM valid GROUP BY uuid HAVING bool_or(kind = 'tils')`
}

// historicSQL computes, for the objects of class c (uuids in $1), the
// periods OS2mo's historic export writes: the full timeline cut at every
// boundary of every merged row, where the object is Aktiv. Columns: uuid,
// startdato, slutdato; $2 is unused.
func historicSQL(c string) string {
	return mergedRowsSQL(c) + `,
	bounds AS (SELECT DISTINCT uuid, b FROM merged, LATERAL (VALUES (lo), (hi)) v(b)),
	periods AS (SELECT uuid, b AS lo, lead(b) OVER (PARTITION BY uuid ORDER BY b) AS hi FROM bounds)
	SELECT p.uuid,
		CASE WHEN p.lo = '-infinity' THEN '0001-01-01' ELSE to_char(p.lo AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD') END,
		CASE WHEN p.hi = 'infinity' THEN '9999-12-31' ELSE to_char((p.hi AT TIME ZONE 'Europe/Copenhagen')::date - 1, 'YYYY-MM-DD') END
	FROM periods p WHERE p.hi IS NOT NULL AND $2::timestamptz IS NOT NULL
		AND EXISTS (SELECT 1 FROM merged m WHERE m.uuid = p.uuid AND m.kind = 'tils' AND m.lo <= p.lo AND p.hi <= m.hi)
	ORDER BY 1, 2`
}

// mergedRowsSQL defines merged(uuid, kind, lo, hi): the rows of the open
// registrations of the objects of class c in $1 — attributes (falsy values
// dropped), 'Aktiv' state rows and relevant relations — with adjacent rows
// of one kind and value merged (LoRa's konsolider).
func mergedRowsSQL(c string) string {
	kinds := "'" + strings.Join(relevantKinds[c], "','") + "'"
	attr := func(table string) string {
		return fmt.Sprintf(`SELECT r.uuid, '%[2]s' AS kind,
			(SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(to_jsonb(a) - 'id' - 'virkning' - 'active_tils' - '%[1]s_registrering_id')
			 WHERE value NOT IN ('null', '""', '0', 'false'))::text AS val, (a.virkning).timeperiod AS p
			FROM reg r JOIN actual_state.%[1]s_%[2]s a ON a.%[1]s_registrering_id = r.id`, c, table)
	}
	return fmt.Sprintf(`WITH reg AS (
		SELECT r.id, r.%[1]s_id::text AS uuid FROM actual_state.%[1]s_registrering r
		WHERE r.%[1]s_id::text = ANY($1) AND upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet'),
	rows AS (
		%[2]s%[3]s
		UNION ALL SELECT r.uuid, 'tils', t.gyldighed::text, (t.virkning).timeperiod FROM reg r
			JOIN actual_state.%[1]s_tils_gyldighed t ON t.%[1]s_registrering_id = r.id WHERE t.gyldighed = 'Aktiv'
		UNION ALL SELECT r.uuid, 'rel ' || x.rel_type::text, concat_ws('|', x.rel_maal_uuid::text, x.rel_maal_urn, x.objekt_type), (x.virkning).timeperiod
			FROM reg r JOIN actual_state.%[1]s_relation x ON x.%[1]s_registrering_id = r.id WHERE x.rel_type::text IN (%[4]s)),
	marked AS (
		SELECT *, CASE WHEN lag(upper(p)) OVER w = lower(p) THEN 0 ELSE 1 END AS brk FROM rows
		WINDOW w AS (PARTITION BY uuid, kind, val ORDER BY lower(p))),
	grouped AS (SELECT *, sum(brk) OVER (PARTITION BY uuid, kind, val ORDER BY lower(p)) AS grp FROM marked),
	merged AS (SELECT uuid, kind, min(lower(p)) AS lo, max(upper(p)) AS hi FROM grouped GROUP BY uuid, kind, val, grp)`,
		c, attr("attr_egenskaber"), attrIf(c, attr), kinds)
}

func attrIf(c string, attr func(string) string) string {
	if c == "organisationenhed" {
		return ""
	}
	return "\n\t\tUNION ALL " + attr("attr_udvidelser")
}

// oracleCurrent runs currentSQL at time at: uuid → [startdato, slutdato].
func oracleCurrent(t *testing.T, pool *pgxpool.Pool, c string, uuids []string, at time.Time) map[string][]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), currentSQL(c), uuids, at)
	if err != nil {
		t.Fatalf("oracle dates of %s: %v", c, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var u, from, to string
		if err := rows.Scan(&u, &from, &to); err != nil {
			t.Fatal(err)
		}
		out[u] = []string{from, to}
	}
	return out
}

// oracleValue runs a query of one text value per object (uuid in $1,
// time in $2) over the LoRa tables.
func oracleValue(t *testing.T, pool *pgxpool.Pool, query, id string, at time.Time) string {
	t.Helper()
	var v *string
	if err := pool.QueryRow(context.Background(), query, id, at).Scan(&v); err != nil {
		t.Fatalf("oracle value of %s: %v", id, err)
	}
	if v == nil {
		return "NULL"
	}
	return *v
}

// The value queries: what OS2mo reads for one organisationfunktion ($1)
// valid at $2, from its open registration.
const (
	regOf = `(SELECT r.id FROM actual_state.organisationfunktion_registrering r WHERE r.organisationfunktion_id::text = $1
		AND upper((r.registrering).timeperiod) = 'infinity')`
	relNow = `(SELECT x.rel_maal_uuid::text FROM actual_state.organisationfunktion_relation x WHERE x.organisationfunktion_registrering_id = ` + regOf + `
		AND x.rel_type = '%s' AND (x.virkning).timeperiod @> $2::timestamptz LIMIT 1)`
	// is_primary: the engagement's own primary class has an integer scope >= 3000.
	qPrimary = `SELECT (coalesce((SELECT CASE WHEN trim(e.omfang) ~ '^[0-9]+$' THEN trim(e.omfang)::int END
		FROM actual_state.klasse_attr_egenskaber e JOIN actual_state.klasse_registrering kr ON kr.id = e.klasse_registrering_id
		WHERE kr.klasse_id::text = ` + `(SELECT x.rel_maal_uuid::text FROM actual_state.organisationfunktion_relation x WHERE x.organisationfunktion_registrering_id = ` + regOf + `
		AND x.rel_type = 'primær' AND (x.virkning).timeperiod @> $2::timestamptz)` + `
		AND upper((kr.registrering).timeperiod) = 'infinity' AND (e.virkning).timeperiod @> $2::timestamptz), 0) >= 3000)::text`
	// fraction: 0 is no value (OS2mo drops falsy values).
	qFraction = `SELECT nullif(u.fraktion, 0)::text FROM actual_state.organisationfunktion_attr_udvidelser u
		WHERE u.organisationfunktion_registrering_id = ` + regOf + ` AND (u.virkning).timeperiod @> $2::timestamptz`
)

var (
	qITUser = fmt.Sprintf(`SELECT `+relNow, "tilknyttedeitsystemer")
	// The job function is tilknyttedefunktioner, read as such only when an
	// IT user is bound (else it is a substitute).
	qJobFunction = fmt.Sprintf(`SELECT CASE WHEN `+relNow+` IS NOT NULL THEN `+relNow+` END`, "tilknyttedeitsystemer", "tilknyttedefunktioner")
)

// scenario is one object whose mirror rows are checked.
type scenario struct {
	name  string
	class string // LoRa class
	uuid  string
	// table and key: the mirror rows (key column = uuid) whose dates are
	// checked; sub lists further tables whose rows carry the same dates.
	table, key string
	sub        [][2]string // table, key column
	// values: mirror column → oracle query
	values map[string]string
}

// TestMirrorScenarios: the fidelity scenarios of issue 10, in PostgreSQL
// and MariaDB actual-state mirrors, against the SQL oracle.
func TestMirrorScenarios(t *testing.T) {
	pgDSN := testenv.NewPostgresDB(t, "mirror")
	myDSN := testenv.NewMySQLDB(t, "mirror")
	histDSN := testenv.NewPostgresDB(t, "mirror_hist")
	e := newE2E(t, 8, fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
  - name: maria
    dialect: mysql
    dsn: %s
  - name: hist
    dialect: postgres
    dsn: %s
    mode: historic
`, pgDSN, myDSN, histDSN))
	ctx := context.Background()
	e.spawn("capture", "--config", e.config)
	e.spawn("sink", "mirror", "--config", e.config, "--target", "pg")
	e.spawn("sink", "mirror", "--config", e.config, "--target", "maria")
	e.spawn("sink", "mirror", "--config", e.config, "--target", "hist")
	e.waitSnapshot()

	cat, err := demo.LoadCatalog(ctx, e.pool, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	scenarios := writeScenarios(t, e.pool, cat)
	e.waitCaptured()

	pgPool, err := pgxpool.New(ctx, pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pgPool.Close()
	my, err := sql.Open("mysql", myDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer my.Close()
	targets := map[string]func(string) ([][]*string, error){"postgres": pgQuery(pgPool), "mariadb": sqlQuery(my)}
	checkScenarios(t, e.pool, targets, scenarios, time.Now(), 90*time.Second)

	// Historic mode: one row per period of the full timeline, cut at every
	// boundary of every (merged) row.
	histPool, err := pgxpool.New(ctx, histDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer histPool.Close()
	for _, s := range scenarios {
		var want []string
		rows, err := e.pool.Query(ctx, historicSQL(s.class), []string{s.uuid}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var u, from, to string
			if err := rows.Scan(&u, &from, &to); err != nil {
				t.Fatal(err)
			}
			want = append(want, from+".."+to)
		}
		rows.Close()
		var got []string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			got = nil
			res, err := pgQuery(histPool)(fmt.Sprintf("SELECT startdato, slutdato FROM %s WHERE uuid = '%s' ORDER BY startdato", s.table, s.uuid))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				got = append(got, *r[0]+".."+*r[1])
			}
			if strings.Join(got, " ") == strings.Join(want, " ") || time.Now().After(deadline) {
				break
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("historic %s: %s rows %v, want %v", s.name, s.table, got, want)
		} else {
			t.Logf("historic %s: %v", s.name, got)
		}
		// primær_boolean, fraction and the association's fields in the
		// historic row that covers today.
		today := string(mo.DateOf(time.Now()))
		for col, q := range s.values {
			quoted := col
			if strings.ContainsAny(col, "æø") {
				quoted = `"` + col + `"`
			}
			res, err := pgQuery(histPool)(fmt.Sprintf("SELECT %s FROM %s WHERE uuid = '%s' AND startdato <= '%s' AND slutdato >= '%s'", quoted, s.table, s.uuid, today, today))
			if err != nil {
				t.Fatal(err)
			}
			got := "no row"
			if len(res) == 1 {
				got = "NULL"
				if res[0][0] != nil {
					got = *res[0][0]
				}
			}
			if want := norm(oracleValue(t, e.pool, q, s.uuid, time.Now())); norm(got) != want {
				t.Errorf("historic %s: %s.%s = %s, want %s", s.name, s.table, col, got, want)
			}
		}
	}
}

// checkScenarios compares every scenario's mirror rows with the oracle at
// time at, waiting up to wait for the mirrors to get there.
func checkScenarios(t *testing.T, pool *pgxpool.Pool, targets map[string]func(string) ([][]*string, error), scenarios []scenario, at time.Time, wait time.Duration) {
	t.Helper()
	type check struct{ target, what, got, want string }
	run := func() []check {
		var out []check
		for _, s := range scenarios {
			dates := oracleCurrent(t, pool, s.class, []string{s.uuid}, at)[s.uuid]
			want := map[string]string{}
			tables := append([][2]string{{s.table, s.key}}, s.sub...)
			for _, tk := range tables {
				w := "no row"
				if dates != nil {
					w = dates[0] + ".." + dates[1]
				}
				want[tk[0]+" dates"] = w
			}
			for col, q := range s.values {
				want[s.table+"."+col] = oracleValue(t, pool, q, s.uuid, at)
			}
			for name, read := range targets {
				for _, tk := range tables {
					rows, err := read(fmt.Sprintf("SELECT startdato, slutdato FROM %s WHERE %s = '%s'", tk[0], tk[1], s.uuid))
					if err != nil {
						t.Fatal(err)
					}
					got := "no row"
					if len(rows) > 0 {
						got = *rows[0][0] + ".." + *rows[0][1]
					}
					if len(rows) > 1 {
						got = fmt.Sprintf("%d rows", len(rows))
					}
					out = append(out, check{name, s.name + ": " + tk[0] + " dates", got, want[tk[0]+" dates"]})
				}
				for col, q := range s.values {
					_ = q
					quoted := col
					if strings.ContainsAny(col, "æø") {
						quoted = `"` + col + `"`
						if name == "mariadb" {
							quoted = "`" + col + "`"
						}
					}
					rows, err := read(fmt.Sprintf("SELECT %s FROM %s WHERE uuid = '%s'", quoted, s.table, s.uuid))
					if err != nil {
						t.Fatal(err)
					}
					got := "no row"
					if len(rows) == 1 {
						got = "NULL"
						if rows[0][0] != nil {
							got = *rows[0][0]
						}
					}
					out = append(out, check{name, s.name + ": " + s.table + "." + col, norm(got), norm(want[s.table+"."+col])})
				}
			}
		}
		return out
	}
	deadline := time.Now().Add(wait)
	var checks []check
	for {
		checks = run()
		bad := 0
		for _, c := range checks {
			if c.got != c.want {
				bad++
			}
		}
		if bad == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s %s = %s, want %s (OS2mo's rules over the LoRa tables)", c.target, c.what, c.got, c.want)
		} else if c.target == "postgres" {
			t.Logf("%s = %s", c.what, c.got)
		}
	}
}

func norm(v string) string {
	switch v {
	case "1", "t":
		return "true"
	case "0", "f":
		return "false"
	}
	return v
}

// writeScenarios writes the scenarios through the MO writer and returns
// them. Dates are relative to today.
func writeScenarios(t *testing.T, pool *pgxpool.Pool, cat *demo.Catalog) []scenario {
	t.Helper()
	ctx := context.Background()
	w := writer.New(store.NewWriter(pool), writer.SQLScopes{DB: pool}, cat.Organisation)
	meta := writer.Meta{Actor: demo.ActorOPUS}
	now := time.Now().In(mo.Location)
	day := func(days int) *mo.Date { d := mo.DateOf(now.AddDate(0, 0, days)); return &d }
	since := mo.Date("2020-01-01")
	from := func(d *mo.Date) mo.Validity { return mo.Validity{From: d} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cls := func(facet string, i int) string { return cat.Classes[facet][i%len(cat.Classes[facet])].UUID }
	p1, p2, p3 := cat.Persons[0].UUID, cat.Persons[1].UUID, cat.Persons[2].UUID
	unit := cat.Units[1].UUID
	ad := cat.ITSystems["AD"]
	engagement := func(person string, f writer.Fields) string {
		id := uuid.NewString()
		base := writer.Fields{"user_key": id[:8], "person": person, "org_unit": unit,
			"engagement_type": cls(demo.FacetEngagementType, 0), "job_function": cls(demo.FacetJobFunction, 0)}
		for k, v := range f {
			base[k] = v
		}
		must(w.Create(ctx, mo.Engagement, id, from(&since), base, meta))
		return id
	}
	ea, eb := engagement(p1, nil), engagement(p1, nil)
	var out []scenario
	itUser := func(name string, engs []string) string {
		id := uuid.NewString()
		must(w.Create(ctx, mo.ITUser, id, from(&since), writer.Fields{"user_key": "it-" + id[:6], "itsystem": ad, "person": p1, "engagements": engs}, meta))
		out = append(out, scenario{name: name, class: "organisationfunktion", uuid: id, table: "it_forbindelser", key: "uuid",
			sub: [][2]string{{"it_forbindelse_engagementer", "it_forbindelse_uuid"}}})
		return id
	}
	// 1. A second engagement link that starts tomorrow does not cut today.
	i1 := itUser("IT user, second engagement link from tomorrow", []string{ea})
	must(w.Update(ctx, mo.ITUser, i1, from(day(1)), writer.Fields{"engagements": []string{ea, eb}}, meta))
	// 2. A link that ended last month does not cut today either.
	i2 := itUser("IT user, a link that ended last month", []string{ea, eb})
	must(w.Update(ctx, mo.ITUser, i2, from(day(-30)), writer.Fields{"engagements": []string{ea}}, meta))

	manager := func(name string, person any) string {
		id := uuid.NewString()
		f := writer.Fields{"user_key": "L-" + id[:6], "org_unit": unit, "manager_type": cls(demo.FacetManagerType, 0),
			"manager_level": cls(demo.FacetManagerLevel, 0), "responsibilities": []string{cls(demo.FacetResponsibility, 0)}}
		if person != nil {
			f["person"] = person
		}
		must(w.Create(ctx, mo.Manager, id, from(&since), f, meta))
		out = append(out, scenario{name: name, class: "organisationfunktion", uuid: id, table: "ledere", key: "uuid",
			sub: [][2]string{{"leder_ansvar", "leder_uuid"}}})
		return id
	}
	// 3. A vacant manager whose person starts next year.
	m1 := manager("vacant manager, person from next year", nil)
	must(w.Update(ctx, mo.Manager, m1, from(day(365)), writer.Fields{"person": p2}, meta))
	// 4. A manager whose person changes next week: today's row ends.
	m2 := manager("manager, person changes next week", p2)
	must(w.Update(ctx, mo.Manager, m2, from(day(7)), writer.Fields{"person": p3}, meta))

	// 5. A rename dated next week: today's name ends.
	u := uuid.NewString()
	must(w.Create(ctx, mo.OrgUnit, u, from(&since), writer.Fields{"user_key": "S5", "name": "Gammelt navn", "parent": unit, "unit_type": cls(demo.FacetOrgUnitType, 0)}, meta))
	must(w.Update(ctx, mo.OrgUnit, u, from(day(7)), writer.Fields{"name": "Nyt navn"}, meta))
	out = append(out, scenario{name: "unit renamed next week", class: "organisationenhed", uuid: u, table: "enheder", key: "uuid"})

	// 5b. A top unit (its parent is the root organisation) moved under a
	// unit next week: the overordnet row valid today ends.
	top := uuid.NewString()
	must(w.Create(ctx, mo.OrgUnit, top, from(&since), writer.Fields{"user_key": "S5b", "name": "Topenhed", "unit_type": cls(demo.FacetOrgUnitType, 0)}, meta))
	must(w.Update(ctx, mo.OrgUnit, top, from(day(7)), writer.Fields{"parent": unit}, meta))
	out = append(out, scenario{name: "top unit moved under a unit next week", class: "organisationenhed", uuid: top, table: "enheder", key: "uuid"})

	eng := func(name string, id string, values map[string]string) {
		out = append(out, scenario{name: name, class: "organisationfunktion", uuid: id, table: "engagementer", key: "uuid", values: values})
	}
	// 6. A past-dated change moves startdato.
	e6 := engagement(p2, nil)
	must(w.Update(ctx, mo.Engagement, e6, from(day(-20)), writer.Fields{"job_function": cls(demo.FacetJobFunction, 1)}, meta))
	eng("engagement, job function changed 20 days ago", e6, nil)
	// 7. Two adjacent rows with identical values: no cut.
	e7 := engagement(p2, writer.Fields{"extension_1": "A"})
	must(w.Update(ctx, mo.Engagement, e7, from(day(-10)), writer.Fields{"extension_1": "B"}, meta))
	must(w.Update(ctx, mo.Engagement, e7, from(day(-10)), writer.Fields{"extension_1": "A"}, meta))
	eng("engagement, two adjacent identical rows", e7, nil)

	// 8. primær_boolean per engagement: scopes 3000 and 5000 both true, 0 false.
	primaries := map[string]string{}
	for _, scope := range []string{"3000", "5000", "0"} {
		c := uuid.NewString()
		must(w.Create(ctx, mo.Class, c, mo.Validity{}, writer.Fields{"user_key": "prim-" + scope, "name": "Primær " + scope,
			"scope": scope, "facet": demo.FacetUUID(demo.FacetPrimaryType)}, meta))
		primaries[scope] = c
	}
	for _, scope := range []string{"3000", "5000", "0"} {
		eng("person with scopes 3000/5000/0: engagement of scope "+scope, engagement(p3, writer.Fields{"primary": primaries[scope]}),
			map[string]string{"primær_boolean": qPrimary})
	}
	// 9. A fraction of 0 is NULL.
	eng("engagement with fraction 0", engagement(p3, writer.Fields{"fraction": 0}), map[string]string{"arbejdstidsfraktion": qFraction})

	// 10. Associations: with an IT user and a job function, and with neither.
	assoc := func(name string, f writer.Fields) {
		id := uuid.NewString()
		base := writer.Fields{"user_key": "T-" + id[:6], "person": p1, "org_unit": unit, "association_type": cls(demo.FacetAssociationType, 0)}
		for k, v := range f {
			base[k] = v
		}
		must(w.Create(ctx, mo.Association, id, from(&since), base, meta))
		out = append(out, scenario{name: name, class: "organisationfunktion", uuid: id, table: "tilknytninger", key: "uuid",
			values: map[string]string{"it_forbindelse_uuid": qITUser, "stillingsbetegnelse_uuid": qJobFunction}})
	}
	assoc("association with an IT user and a job function", writer.Fields{"it_user": i1, "job_function": cls(demo.FacetJobFunction, 2)})
	assoc("association with neither", nil)
	return out
}
