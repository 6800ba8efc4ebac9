package scope

import (
	"fmt"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// The same rules over a sinks/view View, as the acting sinks use them.
func TestOfView(t *testing.T) {
	v := view.New()
	from := mo.Date("2020-01-01")
	val := mo.Validity{From: &from}
	put := func(typ mo.Type, uuid string, f map[string]any) {
		o := &mo.Object{Type: typ, UUID: uuid, Validities: []mo.Version{{Validity: val, Period: val.Period(), Fields: f}}}
		v.Apply(&event.Envelope{Version: 1, ID: "x/" + uuid, Op: event.Snapshot, Type: typ, UUID: uuid, Object: o}, 0)
	}
	const (
		line, self            = "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002"
		root, inside, outside = "22222222-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002", "22222222-0000-0000-0000-000000000003"
		pIn, pOut, eIn, eOut  = "33333333-0000-0000-0000-000000000001", "33333333-0000-0000-0000-000000000002", "44444444-0000-0000-0000-000000000001", "44444444-0000-0000-0000-000000000002"
	)
	put(mo.Class, line, map[string]any{"user_key": "linjeorg", "name": "Linjeorganisation"})
	put(mo.Class, self, map[string]any{"user_key": "selvejet", "name": "Selvejet"})
	put(mo.OrgUnit, root, map[string]any{"user_key": "R", "name": "Kommune", "org_unit_hierarchy": line})
	put(mo.OrgUnit, inside, map[string]any{"user_key": "A", "name": "A", "parent": root, "org_unit_hierarchy": line})
	put(mo.OrgUnit, outside, map[string]any{"user_key": "B", "name": "B", "parent": root, "org_unit_hierarchy": self})
	put(mo.Person, pIn, map[string]any{"user_key": "in"})
	put(mo.Person, pOut, map[string]any{"user_key": "out"})
	put(mo.Engagement, eIn, map[string]any{"user_key": "1", "person": pIn, "org_unit": inside})
	put(mo.Engagement, eOut, map[string]any{"user_key": "2", "person": pOut, "org_unit": outside})

	r := New(Config{Labels: []string{"linjeorg"}, Persons: true})
	now := time.Now()
	for _, c := range []struct {
		typ  mo.Type
		uuid string
		want bool
	}{
		{mo.OrgUnit, inside, true}, {mo.OrgUnit, outside, false},
		{mo.Engagement, eIn, true}, {mo.Engagement, eOut, false},
		{mo.Person, pIn, true}, {mo.Person, pOut, false},
	} {
		if got := r.PassesIn(v, v.Get(c.typ, c.uuid), now); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.typ, c.uuid, got, c.want)
		}
	}
}

func TestWiden(t *testing.T) {
	v := view.New()
	from := mo.Date("2020-01-01")
	val := mo.Validity{From: &from}
	put := func(typ mo.Type, uuid string, f map[string]any) {
		o := &mo.Object{Type: typ, UUID: uuid, Validities: []mo.Version{{Validity: val, Period: val.Period(), Fields: f}}}
		v.Apply(&event.Envelope{Version: 1, ID: "x/" + uuid, Op: event.Snapshot, Type: typ, UUID: uuid, Object: o}, 0)
	}
	const root, child, grandchild, person = "r0000000-0000-0000-0000-000000000000", "c0000000-0000-0000-0000-000000000000", "g0000000-0000-0000-0000-000000000000", "p0000000-0000-0000-0000-000000000000"
	put(mo.OrgUnit, root, map[string]any{"user_key": "R"})
	put(mo.OrgUnit, child, map[string]any{"user_key": "C", "parent": root})
	put(mo.OrgUnit, grandchild, map[string]any{"user_key": "G", "parent": child})
	put(mo.Person, person, map[string]any{"user_key": "p"})
	put(mo.Engagement, "e0000000-0000-0000-0000-000000000000", map[string]any{"user_key": "e", "person": person, "org_unit": grandchild})
	got := New(Config{Labels: []string{"linjeorg"}, Persons: true}).Widen(v, view.Owners{Units: []string{child}}, time.Now())
	if fmt.Sprint(got.Units) != fmt.Sprint([]string{child, grandchild}) || fmt.Sprint(got.Persons) != fmt.Sprint([]string{person}) {
		t.Fatalf("Widen of a relabelled unit: %+v", got)
	}
	// Without Persons the engaged persons are re-rendered too: their
	// engagements moved with the unit.
	if got := New(Config{Labels: []string{"linjeorg"}}).Widen(v, view.Owners{Units: []string{child}}, time.Now()); fmt.Sprint(got.Persons) != fmt.Sprint([]string{person}) {
		t.Fatalf("Widen without persons: %+v", got)
	}
	if got := New(Config{}).Widen(v, view.Owners{Units: []string{child}}, time.Now()); len(got.Units) != 1 || len(got.Persons) != 0 {
		t.Fatalf("unscoped rules widened: %+v", got)
	}
}

// Moves: which events can move a subtree into or out of scope.
func TestMoves(t *testing.T) {
	r := New(Config{Labels: []string{"linjeorg"}})
	touch := func(typ mo.Type, op event.Op, changed ...string) view.Touch {
		return view.Touch{Type: typ, Event: &event.Envelope{Op: op, Type: typ, Changed: changed}}
	}
	for _, c := range []struct {
		name string
		t    view.Touch
		want bool
	}{
		{"relabel", touch(mo.OrgUnit, event.Update, "name", "org_unit_hierarchy"), true},
		{"move", touch(mo.OrgUnit, event.Update, "parent"), true},
		{"new dates", touch(mo.OrgUnit, event.Update, "validity"), true},
		{"rename", touch(mo.OrgUnit, event.Update, "name"), false},
		{"create", touch(mo.OrgUnit, event.Create), true},
		{"tombstone", view.Touch{Type: mo.OrgUnit}, true},
		{"engagement", touch(mo.Engagement, event.Update, "org_unit"), false},
	} {
		if got := r.Moves(c.t); got != c.want {
			t.Errorf("%s: Moves = %v, want %v", c.name, got, c.want)
		}
	}
	if New(Config{}).Moves(touch(mo.OrgUnit, event.Update, "parent")) {
		t.Error("unscoped rules: Moves is true")
	}
}
