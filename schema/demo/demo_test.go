package demo

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

// testDay is the day the tests generate around, so they do not depend on
// the clock.
var testDay = time.Date(2026, 11, 25, 12, 0, 0, 0, mo.Location)

const testPersons = 200

// newStore returns a pool on a fresh, initialised MO store.
func newStore(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	dsn := testenv.NewPostgresDB(t, "demo")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := store.Init(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func seedStore(t *testing.T, seed int64) (*pgxpool.Pool, SeedSummary) {
	t.Helper()
	pool := newStore(t)
	s, err := Seed(context.Background(), pool, SeedOptions{Seed: seed, Persons: testPersons, Today: testDay, BatchSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	return pool, s
}

func queryInt(t *testing.T, db *pgxpool.Pool, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return n
}

func queryStrings(t *testing.T, db *pgxpool.Pool, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return out
}

// current selects the open, not deleted registrations of a class.
func current(c *lora.Class) string {
	return fmt.Sprintf(`SELECT r.id, r.%s AS obj FROM actual_state.%s r
 WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet'`,
		c.ObjectFK(), c.RegistreringTable())
}

// functions selects the current organisationfunktion registrations of one
// funktionsnavn.
func functions(funktionsnavn string) string {
	return fmt.Sprintf(`SELECT cur.id, cur.obj FROM (%s) cur
  JOIN actual_state.organisationfunktion_attr_egenskaber a ON a.organisationfunktion_registrering_id = cur.id
 WHERE a.funktionsnavn = '%s'`, current(lora.Organisationfunktion), funktionsnavn)
}

func TestSeed(t *testing.T) {
	pool, sum := seedStore(t, 1)

	t.Run("every MO type is in the store", func(t *testing.T) {
		for _, typ := range mo.Types {
			spec := mo.SpecOf(typ)
			var q string
			if spec.Funktionsnavn != "" {
				q = "SELECT count(DISTINCT obj) FROM (" + functions(spec.Funktionsnavn) + ") f"
			} else {
				q = "SELECT count(*) FROM (" + current(lora.ClassByName(spec.Class)) + ") c"
			}
			n := queryInt(t, pool, q)
			if n == 0 || n != int64(sum.Counts[typ]) {
				t.Errorf("%s: %d in the store, Seed says %d", typ, n, sum.Counts[typ])
			}
		}
		if sum.Counts[mo.Person] != testPersons {
			t.Errorf("persons: %d, want %d", sum.Counts[mo.Person], testPersons)
		}
	})

	t.Run("the unit tree is at least five levels deep", func(t *testing.T) {
		depth := queryInt(t, pool, `WITH RECURSIVE cur AS (`+current(lora.Organisationenhed)+`),
parent AS (
    SELECT cur.obj AS unit, x.rel_maal_uuid AS parent FROM cur
      JOIN actual_state.organisationenhed_relation x ON x.organisationenhed_registrering_id = cur.id
     WHERE x.rel_type = 'overordnet'),
tree AS (
    SELECT p.unit, 1 AS depth FROM parent p WHERE p.parent NOT IN (SELECT obj FROM cur)
    UNION ALL
    SELECT p.unit, t.depth + 1 FROM parent p JOIN tree t ON p.parent = t.unit WHERE t.depth < 100)
SELECT max(depth) FROM tree`)
		if depth < 5 {
			t.Errorf("unit tree depth %d, want >= 5", depth)
		}
		units := queryInt(t, pool, "SELECT count(*) FROM ("+current(lora.Organisationenhed)+") c")
		if per := float64(testPersons) / float64(units); per < 15 || per > 25 {
			// small municipalities get the 12-unit minimum: 200/12 ≈ 17
			t.Errorf("%.1f persons per unit, want 15-25", per)
		}
	})

	t.Run("some manager posts are vacant", func(t *testing.T) {
		vacant := queryInt(t, pool, `SELECT count(*) FROM (`+functions("Leder")+`) m
 WHERE NOT EXISTS (SELECT 1 FROM actual_state.organisationfunktion_relation x
                    WHERE x.organisationfunktion_registrering_id = m.id AND x.rel_type = 'tilknyttedebrugere')`)
		all := int64(sum.Counts[mo.Manager])
		if vacant == 0 || vacant == all {
			t.Errorf("%d of %d managers vacant, want some", vacant, all)
		}
	})

	t.Run("some engagements are future-dated and some ended", func(t *testing.T) {
		var future, ended, now int64
		err := pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE lo > $1), count(*) FILTER (WHERE hi <= $1),
       count(*) FILTER (WHERE lo <= $1 AND hi > $1)
  FROM (SELECT e.id, min(lower((t.virkning).timeperiod)) lo, max(upper((t.virkning).timeperiod)) hi
          FROM (`+functions("Engagement")+`) e
          JOIN actual_state.organisationfunktion_tils_gyldighed t ON t.organisationfunktion_registrering_id = e.id
         WHERE t.gyldighed = 'Aktiv' GROUP BY e.id) s`, testDay).Scan(&future, &ended, &now)
		if err != nil {
			t.Fatal(err)
		}
		if future == 0 || ended == 0 || now < future+ended {
			t.Errorf("engagements: %d future, %d ended, %d current; want some of each, most current", future, ended, now)
		}
	})

	t.Run("persons have CPR numbers and Danish names", func(t *testing.T) {
		urns := queryStrings(t, pool, `SELECT x.rel_maal_urn FROM (`+current(lora.Bruger)+`) c
  JOIN actual_state.bruger_relation x ON x.bruger_registrering_id = c.id WHERE x.rel_type = 'tilknyttedepersoner'`)
		if len(urns) != testPersons {
			t.Fatalf("%d CPR relations, want %d", len(urns), testPersons)
		}
		re := regexp.MustCompile(`^urn:dk:cpr:person:(\d{6})(\d{4})$`)
		seen := map[string]bool{}
		for _, u := range urns {
			m := re.FindStringSubmatch(u)
			if m == nil {
				t.Fatalf("CPR urn %q", u)
			}
			if _, err := time.Parse("020106", m[1]); err != nil {
				t.Errorf("CPR %s%s: date part: %v", m[1], m[2], err)
			}
			if seen[u] {
				t.Errorf("CPR %s twice", u)
			}
			seen[u] = true
		}
		for _, q := range []string{
			`SELECT count(*) FROM actual_state.bruger_attr_udvidelser WHERE fornavn || efternavn ~ '[æøåÆØÅ]'`,
			`SELECT count(*) FROM actual_state.organisationenhed_attr_egenskaber WHERE enhedsnavn ~ '[æøåÆØÅ]'`,
			`SELECT count(*) FROM actual_state.bruger_attr_udvidelser WHERE kaldenavn_fornavn IS NOT NULL`,
		} {
			if queryInt(t, pool, q) == 0 {
				t.Errorf("none: %s", q)
			}
		}
	})

	t.Run("classification", func(t *testing.T) {
		facetKeys := queryStrings(t, pool, `SELECT brugervendtnoegle FROM actual_state.facet_attr_egenskaber ORDER BY 1`)
		for _, f := range facets {
			if !contains(facetKeys, f.UserKey) {
				t.Errorf("facet %s missing", f.UserKey)
			}
		}
		scopes := queryStrings(t, pool, `SELECT a.titel || '=' || a.omfang FROM actual_state.klasse_attr_egenskaber a
  JOIN actual_state.klasse_relation x ON x.klasse_registrering_id = a.klasse_registrering_id AND x.rel_type = 'facet'
 WHERE x.rel_maal_uuid = $1 ORDER BY 1`, FacetUUID(FacetPrimaryType))
		if want := []string{"Ikke-primær=0", "Manuelt primær=5000", "Primær=3000"}; fmt.Sprint(scopes) != fmt.Sprint(want) {
			t.Errorf("primary_type classes %v, want %v", scopes, want)
		}
		for _, k := range SensitiveJobFunctions {
			if queryInt(t, pool, `SELECT count(*) FROM actual_state.klasse WHERE id = $1`, k) != 1 {
				t.Errorf("sensitive job function %s missing", k)
			}
			if queryInt(t, pool, `SELECT count(*) FROM actual_state.organisationfunktion_relation WHERE rel_type = 'opgaver' AND rel_maal_uuid = $1`, k) == 0 {
				t.Logf("no engagement with sensitive job function %s (fine for a small seed)", k)
			}
		}
		ad := queryStrings(t, pool, `SELECT brugervendtnoegle || '=' || itsystemnavn FROM actual_state.itsystem_attr_egenskaber a
  JOIN actual_state.itsystem_registrering r ON r.id = a.itsystem_registrering_id WHERE r.itsystem_id = $1`, ITSystemAD)
		if fmt.Sprint(ad) != "[AD=Active Directory]" {
			t.Errorf("AD IT system: %v", ad)
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM actual_state.actor`); n != int64(len(Actors)) {
			t.Errorf("%d actors, want %d", n, len(Actors))
		}
	})

	t.Run("LoadCatalog reads back what Seed wrote", func(t *testing.T) {
		got, err := LoadCatalog(context.Background(), pool, testDay)
		if err != nil {
			t.Fatal(err)
		}
		want := sum.Catalog
		for _, d := range catalogDiffs(want, got) {
			t.Error(d)
		}
		if got.Registrations != int64(sum.Objects) {
			t.Errorf("registrations %d, want %d", got.Registrations, sum.Objects)
		}
	})
}

func TestSeedIsDeterministic(t *testing.T) {
	a, sa := seedStore(t, 7)
	b, sb := seedStore(t, 7)
	if fmt.Sprint(sa.Counts) != fmt.Sprint(sb.Counts) || sa.Rows != sb.Rows {
		t.Errorf("summaries differ: %v %d rows vs %v %d rows", sa.Counts, sa.Rows, sb.Counts, sb.Rows)
	}
	for _, c := range lora.Classes {
		// uuid, user_key and the relation targets of every object
		q := fmt.Sprintf(`SELECT r.%[1]s::text || ' ' || a.brugervendtnoegle || ' ' ||
       coalesce((SELECT string_agg(x.rel_type::text || '=' || coalesce(x.rel_maal_uuid::text, x.rel_maal_urn), ','
                           ORDER BY x.rel_type::text || '=' || coalesce(x.rel_maal_uuid::text, x.rel_maal_urn))
                   FROM actual_state.%[3]s x WHERE x.%[4]s = r.id), '')
  FROM actual_state.%[2]s r JOIN actual_state.%[5]s a ON a.%[4]s = r.id ORDER BY 1`,
			c.ObjectFK(), c.RegistreringTable(), c.RelationTable(), c.RegistreringFK(), c.EgenskaberTable())
		ra, rb := queryStrings(t, a, q), queryStrings(t, b, q)
		if strings.Join(ra, "\n") != strings.Join(rb, "\n") {
			t.Errorf("%s: the two stores differ (%d vs %d objects)", c.Name, len(ra), len(rb))
		}
	}
	// A different seed makes a different municipality.
	other := newGenerator(8, testDay, func(item) {})
	other.run(testPersons)
	if other.cat.Persons[0].UUID == sa.Catalog.Persons[0].UUID || other.cat.Engagements[0].UUID == sa.Catalog.Engagements[0].UUID {
		t.Error("seeds 7 and 8 gave the same uuids")
	}
}

func TestChurn(t *testing.T) {
	pool, sum := seedStore(t, 3)
	ctx := context.Background()
	regs := func() int64 {
		var parts []string
		for _, c := range lora.Classes {
			parts = append(parts, "(SELECT count(*) FROM actual_state."+c.RegistreringTable()+")")
		}
		return queryInt(t, pool, "SELECT "+strings.Join(parts, " + "))
	}
	before := regs()
	if before != int64(sum.Objects) {
		t.Fatalf("%d registrations after seeding %d objects", before, sum.Objects)
	}
	progressed := 0
	stats, err := Churn(ctx, pool, ChurnOptions{Seed: 11, MaxChanges: 600, Today: testDay, Workers: 1},
		func(ChurnStats) { progressed++ })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d changes (%.0f/s), %d no-change, %d errors %s", stats.Total, stats.Rate(), stats.NoChange, stats.Errors, stats.LastError)
	if stats.Total+stats.NoChange+stats.Errors < 600 || progressed == 0 {
		t.Errorf("%d changes, %d progress calls", stats.Total, progressed)
	}
	if stats.Errors != 0 {
		t.Errorf("%d changes failed, the last: %s", stats.Errors, stats.LastError)
	}

	t.Run("every kind of change happened to several types", func(t *testing.T) {
		types := map[string][]string{}
		for k := range stats.Changes {
			types[k.Kind] = append(types[k.Kind], string(k.Type))
		}
		for _, kind := range []string{KindCreate, KindUpdate, KindTerminate, KindDelete, KindRead} {
			sort.Strings(types[kind])
			if len(types[kind]) < 3 {
				t.Errorf("%s: only %v", kind, types[kind])
			}
		}
		for _, op := range []string{"hire", "eng_move", "eng_job_function", "eng_terminate", "manager_vacant",
			"manager_assign", "ituser_link", "ituser_unlink", "addr_delete", "unit_rename", "read_employees"} {
			if stats.Ops[op] == 0 {
				t.Errorf("driver op %s never ran", op)
			}
		}
	})

	t.Run("each write is one registration, each read one access-log operation", func(t *testing.T) {
		reads, writes := int64(0), int64(0)
		for k, n := range stats.Changes {
			if k.Kind == KindRead {
				reads += n
			} else {
				writes += n
			}
		}
		if got := regs() - before; got != writes {
			t.Errorf("%d new registrations, churn counted %d writes", got, writes)
		}
		if got := queryInt(t, pool, "SELECT count(*) FROM actual_state.access_log_operation"); got != reads {
			t.Errorf("%d access-log operations, churn counted %d reads", got, reads)
		}
		if queryInt(t, pool, "SELECT count(*) FROM actual_state.access_log_read") < reads {
			t.Error("fewer access_log_read rows than operations")
		}
		if n := queryInt(t, pool, `SELECT count(*) FROM actual_state.access_log_operation o
  WHERE NOT EXISTS (SELECT 1 FROM actual_state.actor a WHERE a.actor = o.actor)`); n != 0 {
			t.Errorf("%d reads by actors not in the actor table", n)
		}
		for _, lc := range []lora.Lifecycle{lora.Rettet, lora.Slettet} {
			if queryInt(t, pool, `SELECT count(*) FROM actual_state.organisationfunktion_registrering
  WHERE (registrering).livscykluskode = $1 AND (registrering).brugerref IN (SELECT actor FROM actual_state.actor)`, string(lc)) == 0 {
				t.Errorf("no %s registration by a known actor", lc)
			}
		}
	})

	t.Run("every object has exactly one open registration", func(t *testing.T) { checkOpenRegistrations(t, pool) })

	t.Run("a second run on the changed store works", func(t *testing.T) {
		s, err := Churn(ctx, pool, ChurnOptions{Seed: 11, MaxChanges: 100, Today: testDay, Rate: 500}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Total+s.NoChange < 100 || s.Errors != 0 {
			t.Errorf("second run: %d changes, %d errors (%s)", s.Total, s.Errors, s.LastError)
		}
	})

	t.Run("the rate is kept", func(t *testing.T) {
		s, err := Churn(ctx, pool, ChurnOptions{Seed: 13, Rate: 100, Duration: 1500 * time.Millisecond, Today: testDay}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The limiter's promise is an upper bound: never faster than the
		// rate (a loaded machine may well be slower; speed is for make bench).
		if n := s.Total + s.NoChange + s.Errors; n < 1 || float64(n) > 100*s.Elapsed.Seconds()+20 {
			t.Errorf("%d changes in %s at rate 100/s, want at least one and at most the rate allows", n, s.Elapsed)
		}
	})

	t.Run("concurrent workers keep the store valid", func(t *testing.T) {
		s, err := Churn(ctx, pool, ChurnOptions{Seed: 12, MaxChanges: 400, Today: testDay, Workers: 4}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Total+s.NoChange < 400 || s.Errors != 0 {
			t.Errorf("4 workers: %d changes, %d errors (%s)", s.Total, s.Errors, s.LastError)
		}
		checkOpenRegistrations(t, pool)
	})
}

// checkOpenRegistrations asserts that every object of every class has
// exactly one registration with upper(timeperiod) = infinity.
func checkOpenRegistrations(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, c := range lora.Classes {
		n := queryInt(t, pool, fmt.Sprintf(`SELECT count(*) FROM actual_state.%[1]s o WHERE
  (SELECT count(*) FROM actual_state.%[2]s r WHERE r.%[3]s = o.id AND upper((r.registrering).timeperiod) = 'infinity') <> 1`,
			c.Table(), c.RegistreringTable(), c.ObjectFK()))
		if n != 0 {
			t.Errorf("%s: %d objects without exactly one open registration", c.Name, n)
		}
	}
}

func TestChurnOptions(t *testing.T) {
	names := map[string]bool{}
	for _, o := range Ops {
		if names[o.Name] || o.Weight <= 0 || o.plan == nil {
			t.Errorf("op %q: duplicate, no weight or no planner", o.Name)
		}
		names[o.Name] = true
	}
	if err := (ChurnOptions{Weights: map[string]int{"no_such_op": 1}}).Validate(); err == nil {
		t.Error("an unknown op in weights was accepted")
	}
	if err := (ChurnOptions{Rate: -1}).Validate(); err == nil {
		t.Error("a negative rate was accepted")
	}
	if err := (SeedOptions{}).Validate(); err == nil {
		t.Error("zero persons were accepted")
	}
}

func TestFixedUUIDs(t *testing.T) {
	for want, got := range map[string]string{
		JobFunctionFleksjob:    ClassUUID(FacetJobFunction, "fleksjob"),
		JobFunctionSkaanejob:   ClassUUID(FacetJobFunction, "skaanejob"),
		JobFunctionLoentilskud: ClassUUID(FacetJobFunction, "loentilskud"),
		ITSystemAD:             ITSystemUUID("AD"),
		ITSystemOPUS:           ITSystemUUID("OPUS"),
		ITSystemFKOrg:          ITSystemUUID("FK-ORG"),
		ITSystemPlan2Learn:     ITSystemUUID("Plan2Learn"),
		ITSystemAula:           ITSystemUUID("Aula"),
		ITSystemNexus:          ITSystemUUID("Nexus"),
		Organisation:           fixedUUID("organisation"),
		ActorOS2moInit:         fixedUUID("actor/os2mo-init"),
		ActorSQLExport:         fixedUUID("actor/sqlexport"),
		ActorOS2Sync:           fixedUUID("actor/os2sync"),
		ActorLDAP:              fixedUUID("actor/ldap"),
		ActorOPUS:              fixedUUID("actor/opus"),
		ActorAnne:              fixedUUID("actor/ui-anne"),
		ActorMorten:            fixedUUID("actor/ui-morten"),
		ActorBirgitte:          fixedUUID("actor/ui-birgitte"),
		ActorOrgViewer:         fixedUUID("actor/orgviewer"),
		ActorPlan2Learn:        fixedUUID("actor/plan2learn"),
	} {
		if want != got {
			t.Errorf("constant %s, derived %s", want, got)
		}
	}
	for _, k := range SensitiveJobFunctions {
		found := false
		for _, f := range facets {
			for _, c := range f.Classes {
				if ClassUUID(f.UserKey, c.UserKey) == k {
					found = f.UserKey == FacetJobFunction
				}
			}
		}
		if !found {
			t.Errorf("sensitive class %s is not a job function", k)
		}
	}
}

func TestCPR(t *testing.T) {
	for _, c := range []struct {
		day    string
		serial int
		male   bool
		want   string
	}{
		{"1972-02-17", 0, false, "1702720000"},
		{"1972-02-17", 0, true, "1702720001"},
		{"2003-12-01", 1, false, "0112039000"},
		{"2003-12-01", 4, true, "0112034001"},
	} {
		d, _ := time.ParseInLocation(time.DateOnly, c.day, mo.Location)
		if got := cpr(d, c.serial, c.male); got != c.want {
			t.Errorf("cpr(%s, %d, %v) = %s, want %s", c.day, c.serial, c.male, got, c.want)
		}
	}
}

// TestChurnTinyStore: churn keeps working when a small store runs out of
// objects of some kind (capture's end-to-end tests seed 60 persons).
func TestChurnTinyStore(t *testing.T) {
	pool := newStore(t)
	ctx := context.Background()
	if _, err := Seed(ctx, pool, SeedOptions{Seed: 5, Persons: 20, Today: testDay}); err != nil {
		t.Fatal(err)
	}
	s, err := Churn(ctx, pool, ChurnOptions{Seed: 5, MaxChanges: 1500, Today: testDay, Workers: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total+s.NoChange < 1500 || s.Errors != 0 {
		t.Errorf("%d changes, %d errors (%s)", s.Total, s.Errors, s.LastError)
	}
	checkOpenRegistrations(t, pool)
}
