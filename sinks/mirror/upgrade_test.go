package mirror

import (
	"fmt"
	"testing"
	"time"
)

// TestUpgradeRecomputes: rows written by an older release (simulated: the
// mapping version in mocdc_meta is the old one and the rows hold what the
// old rules computed) are recomputed when the mirror starts, without any
// new event: after the restart the tables are what this release computes.
func TestUpgradeRecomputes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		k := newKafkaEnv(t)
		cfg := newTarget(t, dialect, Actual)
		cfg.TickInterval = 200 * time.Millisecond
		stop := runMirror(t, cfg, k, fixedClock)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)
		k.send(t, municipality()...)
		k.waitCaughtUp(t, db, d, time.Minute)
		want := wantRound1(Actual)
		assertTables(t, db, d, want, 0)
		stop()

		// What the release before 2026-12-03 left: no mapping version, one
		// primary engagement per person (e4 true), old dates.
		for _, q := range []string{
			fmt.Sprintf("DELETE FROM %s WHERE %s = 'mapping'", d.Quote(tMeta), d.Quote("name")),
			fmt.Sprintf("UPDATE %s SET %s = TRUE, %s = '2026-06-15' WHERE %s = '%s'", d.Quote(tEngagementer),
				d.Quote("primær_boolean"), d.Quote("startdato"), d.Quote("uuid"), e4),
			fmt.Sprintf("UPDATE %s SET %s = '2026-06-15'", d.Quote(tLedere), d.Quote("slutdato")),
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if got := query(t, db, fmt.Sprintf("SELECT %s FROM %s WHERE %s = '%s'", d.Quote("startdato"), d.Quote(tEngagementer), d.Quote("uuid"), e4)); len(got) != 1 || got[0] != "2026-06-15" {
			t.Fatalf("old rows not in place: %v", got)
		}

		// The new release starts: no event arrives, the rows are recomputed.
		runMirror(t, cfg, k, fixedClock)
		assertTables(t, db, d, want, 30*time.Second)
		if got := query(t, db, fmt.Sprintf("SELECT %s FROM %s WHERE %s = 'mapping'", d.Quote("value"), d.Quote(tMeta), d.Quote("name"))); len(got) != 1 || got[0] != MappingVersion {
			t.Errorf("mapping version after start: %v, want %s", got, MappingVersion)
		}
	})
}
