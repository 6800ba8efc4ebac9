package mirror

import (
	"context"
	"fmt"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// TestInventoryIsDroppedWhenAnotherInstanceWrites: instance A loads a
// partition from its start (so it skips looking up objects it has not
// seen), instance B then creates an object in that partition, and A gets
// the partition back. A must not take B's object for new: its update has
// to replace B's row (not collide with it or be skipped), and the
// person's other engagement must lose primær_boolean.
func TestInventoryIsDroppedWhenAnotherInstanceWrites(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		topics := event.Topics{Prefix: "inv"}
		cfg := newTarget(t, dialect, Actual)
		a, db := openMirror(t, cfg, topics)
		b, _ := openMirror(t, cfg, topics)
		d := a.d

		offsets := map[runner.TopicPartition]int64{}
		rec := func(o *mo.Object) runner.Record {
			tp := runner.TopicPartition{Topic: topics.Object(o.Type), Partition: 0}
			r := runner.Record{Topic: tp.Topic, Partition: 0, Offset: offsets[tp], Key: []byte(o.UUID), Value: envelope(event.Update, o)}
			offsets[tp]++
			return r
		}
		apply := func(m *Mirror, recs ...runner.Record) {
			t.Helper()
			if err := m.Apply(ctx, runner.NewBatch(recs)); err != nil {
				t.Fatalf("apply: %v", err)
			}
		}
		p, u := id(40, 1), id(30, 1)
		e1, e2 := id(50, 1), id(50, 2)
		var setup []runner.Record
		for _, c := range classDefs {
			setup = append(setup, rec(classObj(c)))
		}
		setup = append(setup,
			rec(obj(mo.OrgUnit, u, ver("2010-01-01", "", map[string]any{"user_key": "u", "name": "Enhed", "unit_type": cAfd}))),
			rec(obj(mo.Person, p, ver("1980-01-01", "", map[string]any{"user_key": "p", "given_name": "Åse", "surname": "Ærø"}))),
			rec(engagementObj(e1, p, u, cLaerer, cNon, "2015-01-01", "", nil)))
		apply(a, setup...) // A's inventory: the engagement partition holds e1

		apply(b, rec(engagementObj(e2, p, u, cLaerer, cNon, "2016-01-01", "", nil))) // B creates e2

		// A again: e2 becomes the primary one with another job.
		apply(a, rec(engagementObj(e2, p, u, cPaed, cPrim, "2016-01-01", "", nil)))

		got := query(t, db, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", list(d, "", []string{"uuid", "stillingsbetegnelse_titel", "primærtype_titel", "primær_boolean"}),
			d.Quote(tEngagementer), d.Quote("uuid")))
		want := []string{e1 + " | Lærer | Ikke-primær | 0", e2 + " | Pædagog | Primær | 1"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("engagementer:\n got %q\nwant %q", got, want)
		}
		if a.stagedOnly {
			t.Fatal("A met an existing key: it took B's object for new")
		}
	})
}
