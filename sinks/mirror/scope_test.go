package mirror

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// TestScope: a mirror scoped to the line organisation exports only the
// units labelled linjeorg and what hangs on them; a unit relabelled (now,
// or from tomorrow: at midnight) takes its engagements, managers and KLE
// out, and its persons with them; relabelled back, they all come back; a
// unit moved below an excluded unit leaves with its subtree.
func TestScope(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		for _, mode := range []Mode{Actual, Historic} {
			t.Run(string(mode), func(t *testing.T) { testScope(t, dialect, mode) })
		}
	})
}

func testScope(t *testing.T, dialect string, mode Mode) {
	{
		ctx := context.Background()
		topics := event.Topics{Prefix: "scope"}
		cfg := newTarget(t, dialect, mode)
		line, self, excl := id(90, 1), id(90, 2), id(30, 9)
		cfg.Scope = scope.Config{Labels: []string{"linjeorg"}, Exclude: []string{excl}, Persons: true}
		var clock atomic.Int64
		clock.Store(fixedNow.UnixNano())
		m, db := openMirror(t, cfg, topics, WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))

		offsets := map[string]int64{}
		apply := func(objs ...*mo.Object) {
			t.Helper()
			var recs []runner.Record
			for _, o := range objs {
				topic := topics.Object(o.Type)
				recs = append(recs, runner.Record{Topic: topic, Key: []byte(o.UUID), Offset: offsets[topic], Value: envelope(event.Update, o)})
				offsets[topic]++
			}
			if err := m.Apply(ctx, runner.NewBatch(recs)); err != nil {
				t.Fatal(err)
			}
		}
		label := func(uuid, key, name string) *mo.Object {
			return obj(mo.Class, uuid, ver("", "", map[string]any{"user_key": key, "name": name}))
		}
		unit := func(n int, parent string, vs ...mo.Version) *mo.Object {
			for i := range vs {
				vs[i].Fields["user_key"] = fmt.Sprint(n)
				vs[i].Fields["name"] = fmt.Sprint("Enhed ", n)
				if parent != "" {
					vs[i].Fields["parent"] = parent
				}
			}
			return obj(mo.OrgUnit, id(30, n), vs...)
		}
		labelled := func(l string) map[string]any { return map[string]any{"org_unit_hierarchy": l} }
		root, a, b, a1 := 1, 2, 3, 4
		person := func(n int) *mo.Object {
			return obj(mo.Person, id(40, n), ver("2020-01-01", "", map[string]any{"user_key": fmt.Sprint(n), "given_name": "P", "surname": fmt.Sprint(n)}))
		}
		eng := func(n, p, u int) *mo.Object {
			return obj(mo.Engagement, id(50, n), ver("2020-01-01", "", map[string]any{"user_key": fmt.Sprint(n), "person": id(40, p), "org_unit": id(30, u)}))
		}
		apply(label(line, "linjeorg", "Linjeorganisation"), label(self, "selvejet", "Selvejet"),
			unit(root, "", ver("2020-01-01", "", labelled(line))),
			unit(a, id(30, root), ver("2020-01-01", "", labelled(line))),
			unit(b, id(30, root), ver("2020-01-01", "", labelled(self))),
			unit(a1, id(30, a), ver("2020-01-01", "", labelled(line))),
			unit(9, id(30, root), ver("2020-01-01", "", labelled(line))),
			person(1), person(2), person(3),
			eng(1, 1, a1), eng(2, 2, b), eng(3, 3, a),
			obj(mo.Manager, id(60, 1), ver("2020-01-01", "", map[string]any{"user_key": "m", "person": id(40, 3), "org_unit": id(30, a1)})),
			label(id(91, 1), "17.02", "Folkeskolen"),
			obj(mo.KLE, id(70, 1), ver("2020-01-01", "", map[string]any{"user_key": "k", "org_unit": id(30, a1), "kle_number": id(91, 1), "kle_aspects": []string{id(91, 1)}})),
			obj(mo.Address, id(80, 1), ver("2020-01-01", "", map[string]any{"user_key": "ad", "value": "x@y.dk", "person": id(40, 2)})),
		)
		d := m.d
		rows := func(table string) string { // historic: one row per period
			return fmt.Sprint(query(t, db, fmt.Sprintf("SELECT DISTINCT uuid FROM %s ORDER BY uuid", d.Quote(table))))
		}
		check := func(what, table, want string) {
			t.Helper()
			if got := rows(table); got != want {
				t.Errorf("%s: %s = %s, want %s", what, table, got, want)
			}
		}
		u := func(n int) string { return id(30, n) }
		check("start (the excluded unit itself is out)", tEnheder, fmt.Sprint([]string{u(root), u(a), u(a1)}))
		check("start", tEngagementer, fmt.Sprint([]string{id(50, 1), id(50, 3)}))
		check("start", tBrugere, fmt.Sprint([]string{id(40, 1), id(40, 3)}))
		check("start", tLedere, fmt.Sprint([]string{id(60, 1)}))
		check("start", tKLE, fmt.Sprint([]string{id(70, 1)}))
		check("a person's address follows the person", tAdresser, "[]")

		// a is relabelled self-owned from tomorrow: nothing changes today;
		// at midnight a and its engagement go, and person 3 with it (a
		// manager post does not keep a person in: an engagement does). a1
		// keeps its own label and stays.
		apply(unit(a, u(root), ver("2020-01-01", "2026-06-15", labelled(line)), ver("2026-06-16", "", labelled(self))))
		check("relabelled from tomorrow, today", tEngagementer, fmt.Sprint([]string{id(50, 1), id(50, 3)}))
		clock.Store(fixedNow.AddDate(0, 0, 1).UnixNano())
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		check("after midnight", tEnheder, fmt.Sprint([]string{u(root), u(a1)}))
		check("after midnight", tEngagementer, fmt.Sprint([]string{id(50, 1)}))
		check("after midnight", tBrugere, fmt.Sprint([]string{id(40, 1)}))

		// b is relabelled linjeorg now: its engagement and person come in,
		// and the person's address with it.
		apply(unit(b, u(root), ver("2020-01-01", "", labelled(line))))
		check("b relabelled", tEngagementer, fmt.Sprint([]string{id(50, 1), id(50, 2)}))
		check("b relabelled", tBrugere, fmt.Sprint([]string{id(40, 1), id(40, 2)}))
		check("b relabelled", tAdresser, fmt.Sprint([]string{id(80, 1)}))

		// a1 moves below the excluded unit 9: it leaves with its manager,
		// KLE, engagement and person.
		apply(unit(a1, u(9), ver("2020-01-01", "", labelled(line))))
		check("a1 under the excluded unit", tEnheder, fmt.Sprint([]string{u(root), u(b)}))
		check("a1 under the excluded unit", tLedere, "[]")
		check("a1 under the excluded unit", tKLE, "[]")
		check("a1 under the excluded unit", tEngagementer, fmt.Sprint([]string{id(50, 2)}))
		check("a1 under the excluded unit", tBrugere, fmt.Sprint([]string{id(40, 2)}))
	}
}
