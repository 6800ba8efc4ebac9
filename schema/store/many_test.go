package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// persons returns n bruger objects shaped like OS2mo's person creates: one
// egenskaber, one udvidelser, tils and two relations (tilhoerer, cpr URN).
// With varied, every third person has a gap in its Aktiv periods (Inaktiv
// in between) so that active_tils is not just the row's own period.
func persons(t testing.TB, n int, varied bool) ([]Object, [][]mo.Period) {
	objs := make([]Object, n)
	active := make([][]mo.Period, n)
	root := newUUID(t)
	for i := range objs {
		from := day("1950-01-01").AddDate(0, 0, i%20000)
		p := openFrom(from)
		id := newUUID(t)
		s := State{
			Egenskaber: []AttrRow{{Period: p, Values: map[string]any{"brugervendtnoegle": id}}},
			Udvidelser: []AttrRow{{Period: p, Values: map[string]any{"fornavn": "Seed", "efternavn": fmt.Sprintf("Person %d", i)}}},
			Tils:       []TilsRow{{Period: p, Value: "Aktiv"}},
			Relations: []RelationRow{
				{Period: p, Kind: "tilhoerer", UUID: root},
				{Period: p, Kind: "tilknyttedepersoner", URN: fmt.Sprintf("urn:dk:cpr:person:%010d", i)},
			},
		}
		active[i] = []mo.Period{p}
		if varied && i%3 == 0 {
			a, b := from.AddDate(10, 0, 0), from.AddDate(12, 0, 0)
			s.Tils = []TilsRow{
				{Period: mo.Period{From: from, To: a}, Value: "Aktiv"},
				{Period: mo.Period{From: a, To: b}, Value: "Inaktiv"},
				{Period: openFrom(b), Value: "Aktiv"},
			}
			active[i] = []mo.Period{{From: from, To: a}, openFrom(b)}
		}
		objs[i] = Object{UUID: id, Meta: Meta{Actor: actor, Note: "seed"}, State: s}
	}
	return objs, active
}

// TestCreateMany seeds persons in one call and checks with SQL that every
// attr and relation row carries the right active_tils, and that a batch
// with one bad object writes nothing.
func TestCreateMany(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	w := NewWriter(conn)
	const n = 2*manyChunk + 17 // several chunks
	objs, active := persons(t, n, true)
	if err := w.CreateMany(ctx, lora.Bruger, objs); err != nil {
		t.Fatal(err)
	}
	regs := make([]int64, n)
	for i, o := range objs {
		if err := conn.QueryRow(ctx, "SELECT id FROM actual_state.bruger_registrering WHERE bruger_id = $1", o.UUID).Scan(&regs[i]); err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
	}
	checkActiveTils(t, conn, lora.Bruger, regs, active)
	var counts [6]int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM actual_state.bruger), (SELECT count(*) FROM actual_state.bruger_registrering),
		(SELECT count(*) FROM actual_state.bruger_attr_egenskaber), (SELECT count(*) FROM actual_state.bruger_attr_udvidelser),
		(SELECT count(*) FROM actual_state.bruger_tils_gyldighed), (SELECT count(*) FROM actual_state.bruger_relation)`).Scan(
		&counts[0], &counts[1], &counts[2], &counts[3], &counts[4], &counts[5]); err != nil {
		t.Fatal(err)
	}
	tils := n + 2*((n+2)/3)
	if counts != [6]int{n, n, n, n, tils, 2 * n} {
		t.Errorf("row counts %v, want %v", counts, [6]int{n, n, n, n, tils, 2 * n})
	}
	for _, i := range []int{0, 1, n - 1} {
		regs := registrations(t, conn, lora.Bruger, objs[i].UUID)
		if len(regs) != 1 || regs[0].lifecycle != "Opstaaet" || regs[0].actor != actor || regs[0].note != "seed" || regs[0].upper != "infinity" {
			t.Errorf("object %d: registrations %+v", i, regs)
		}
		checkRows(t, conn, lora.Bruger, regs[0].id, objs[i].State, active[i])
	}

	more, _ := persons(t, 3, false)
	more[2].UUID = objs[5].UUID // exists
	if err := w.CreateMany(ctx, lora.Bruger, more); !errors.Is(err, ErrExists) {
		t.Errorf("CreateMany with an existing uuid: %v, want ErrExists", err)
	}
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM actual_state.bruger WHERE id = $1", more[0].UUID).Scan(&left); err != nil || left != 0 {
		t.Errorf("failed CreateMany left %d objects (%v)", left, err)
	}
}

// BenchmarkCreateMany seeds 10,000 persons per op (7 rows each: object,
// registration, egenskaber, udvidelser, tils, two relations) into a store
// that grows with each op, and reports rows/s.
func BenchmarkCreateMany(b *testing.B) {
	_, conn := freshStore(b)
	ctx := testCtx(b)
	w := NewWriter(conn)
	const n = 10000
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		objs, _ := persons(b, n, false)
		b.StartTimer()
		start := time.Now()
		if err := w.CreateMany(ctx, lora.Bruger, objs); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(7*n*b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "objects/s")
}
