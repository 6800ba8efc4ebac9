package view

import (
	"reflect"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

func uuids(os []*Object) []string {
	out := []string{}
	for _, o := range os {
		out = append(out, o.UUID)
	}
	return out
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// municipality: root R > A > A1, R > B; person P with engagements E1 (A1,
// ended 2026-06-30) and E2 (B, from 2026-07-01); IT user I linked to E1;
// addresses on P, on I, on E2 and on unit A; manager M of A (person Q).
func municipality(v *View) {
	for _, e := range []*event.Envelope{
		always(mo.Class, "cls-title", map[string]any{"user_key": "pedagog", "name": "Pædagog"}),
		always(mo.ITSystem, "sys-ad", map[string]any{"user_key": "Active Directory", "name": "AD"}),
		always(mo.OrgUnit, "R", map[string]any{"name": "Kommune"}),
		always(mo.OrgUnit, "A", map[string]any{"name": "Skoler", "parent": "R"}),
		always(mo.OrgUnit, "A1", map[string]any{"name": "Skole 1", "parent": "A"}),
		always(mo.OrgUnit, "B", map[string]any{"name": "Børn", "parent": "R"}),
		always(mo.Person, "P", map[string]any{"given_name": "Anna", "surname": "Berg", "cpr_number": "0101901234"}),
		always(mo.Person, "Q", map[string]any{"given_name": "Bo", "surname": "Chef"}),
		obj(mo.Engagement, "E1", ver("2020-01-01", "2026-06-30", map[string]any{"person": "P", "org_unit": "A1", "job_function": "cls-title", "export_title": "Lærer", "withheld": []string{"extension_1"}})),
		obj(mo.Engagement, "E2", ver("2026-07-01", "", map[string]any{"person": "P", "org_unit": "B", "job_function": "cls-title"})),
		always(mo.ITUser, "I", map[string]any{"person": "P", "itsystem": "sys-ad", "user_key": "anbe", "engagements": []string{"E1"}}),
		always(mo.Address, "adP", map[string]any{"person": "P", "value": "p@x.dk"}),
		always(mo.Address, "adI", map[string]any{"person": "P", "ituser": "I", "value": "i@x.dk"}),
		always(mo.Address, "adE", obj0(map[string]any{"engagement": "E2", "value": "e@x.dk"})),
		always(mo.Address, "adA", map[string]any{"org_unit": "A", "value": "a@x.dk"}),
		always(mo.Manager, "M", map[string]any{"person": "Q", "org_unit": "A"}),
	} {
		v.Apply(e, 0)
	}
}

func obj0(m map[string]any) map[string]any { return m }

func TestLookups(t *testing.T) {
	v := New()
	municipality(v)
	july := today.AddDate(0, 1, 0)
	eq(t, "person engagements today", uuids(v.PersonEngagements("P", today)), []string{"E1"})
	eq(t, "person engagements in July", uuids(v.PersonEngagements("P", july)), []string{"E2"})
	eq(t, "person engagements ever", uuids(v.PersonEngagementsEver("P")), []string{"E1", "E2"})
	eq(t, "person IT users", uuids(v.PersonITUsers("P", today)), []string{"I"})
	eq(t, "person addresses", uuids(v.PersonAddresses("P", today)), []string{"adI", "adP"})
	eq(t, "IT user engagements", uuids(v.ITUserEngagements("I", today)), []string{"E1"})
	eq(t, "IT user addresses", uuids(v.ITUserAddresses("I", today)), []string{"adI"})
	eq(t, "engagement addresses", uuids(v.EngagementAddresses("E2", today)), []string{"adE"})
	eq(t, "engagement IT users", uuids(v.EngagementITUsers("E1", today)), []string{"I"})
	eq(t, "unit managers", uuids(v.UnitManagers("A", today)), []string{"M"})
	eq(t, "unit addresses", uuids(v.UnitAddresses("A", today)), []string{"adA"})
	eq(t, "unit path", uuids(v.UnitPath("A1", today)), []string{"R", "A", "A1"})
	eq(t, "subtree", uuids(v.Subtree("R", today)), []string{"R", "A", "B", "A1"})
	eq(t, "children", uuids(v.UnitChildren("R", today)), []string{"A", "B"})
	eq(t, "persons in R's subtree today", v.PersonsInUnits([]string{"R"}, today, true), []string{"P"})
	eq(t, "persons in R itself", v.PersonsInUnits([]string{"R"}, today, false), []string(nil))
	eq(t, "class name", v.ClassName("cls-title", today), "Pædagog")
	eq(t, "IT system by user_key", v.ITSystemByUserKey("Active Directory").UUID, "sys-ad")
	e1 := v.Get(mo.Engagement, "E1")
	eq(t, "E1 at today", e1.At(today).Str("org_unit"), "A1")
	eq(t, "a field the policy adds", e1.At(today).Str("export_title"), "Lærer")
	eq(t, "a list the policy adds", e1.At(today).UUIDs("withheld"), []string{"extension_1"})
	eq(t, "fields round trip", e1.At(today).Fields()["export_title"], "Lærer")
	eq(t, "E1 ends", *e1.At(today).Validity().To, mo.Date("2026-06-30"))
	eq(t, "E1 in July", e1.At(july) == nil, true)
	eq(t, "E2 valid from today on", v.Get(mo.Engagement, "E2").ValidFrom(today).Str("org_unit"), "B")
	eq(t, "IT user link list", v.Get(mo.ITUser, "I").At(today).UUIDs("engagements"), []string{"E1"})
}

// TestTouched: each change reports the owners before and after it.
func TestTouched(t *testing.T) {
	v := New()
	municipality(v)
	// Move E1 from A1 to B: P, A1 and B.
	got := v.Apply(always(mo.Engagement, "E1", map[string]any{"person": "P", "org_unit": "B"}), 0)
	eq(t, "move", got, Owners{Persons: []string{"P"}, Units: []string{"A1", "B"}})
	eq(t, "index follows the move", uuids(v.UnitEngagements("A1", today)), []string{})
	eq(t, "index follows the move", uuids(v.UnitEngagements("B", today)), []string{"E1"})
	// An address tied only to an engagement touches the engagement's owners.
	got = v.Apply(always(mo.Address, "adE", map[string]any{"engagement": "E2", "value": "new@x.dk"}), 0)
	eq(t, "engagement address", got, Owners{Persons: []string{"P"}, Units: []string{"B"}})
	// A manager: its person and unit.
	got = v.Apply(always(mo.Manager, "M", map[string]any{"org_unit": "A"}), 0)
	eq(t, "vacated manager", got, Owners{Persons: []string{"Q"}, Units: []string{"A"}})
	// A class change lists the class; OwnersOfClass finds its users.
	got = v.Apply(always(mo.Class, "cls-title", map[string]any{"user_key": "pedagog", "name": "Pædagog II"}), 0)
	eq(t, "class", got, Owners{Classes: []string{"cls-title"}})
	eq(t, "owners of class", v.OwnersOfClass("cls-title"), Owners{Persons: []string{"P"}, Units: []string{"B"}})
	// Delete and tombstone remove and touch.
	del := &event.Envelope{Version: 1, ID: "d", Op: event.Delete, Type: mo.ITUser, UUID: "I"}
	eq(t, "delete", v.Apply(del, 0), Owners{Persons: []string{"P"}})
	eq(t, "deleted", v.Get(mo.ITUser, "I") == nil, true)
	eq(t, "deleted from the index", uuids(v.PersonITUsers("P", today)), []string{})
	eq(t, "tombstone of the deleted", v.Remove(mo.ITUser, "I"), Owners{})
	eq(t, "tombstone", v.Remove(mo.Person, "Q"), Owners{Persons: []string{"Q"}})
}

// TestImmutable: an object handed out stays as it was when a later event
// replaces it.
func TestImmutable(t *testing.T) {
	v := New()
	municipality(v)
	before := v.Get(mo.Person, "P")
	v.Apply(always(mo.Person, "P", map[string]any{"given_name": "Annette"}), 3)
	eq(t, "old pointer", before.At(today).Str("given_name"), "Anna")
	after := v.Get(mo.Person, "P")
	eq(t, "new", after.At(today).Str("given_name"), "Annette")
	eq(t, "partition", after.Partition, int32(3))
	eq(t, "unset field", after.At(today).Str("surname"), "")
}

// TestPathCycle: a parent cycle (bad data) ends the path instead of looping.
func TestPathCycle(t *testing.T) {
	v := New()
	v.Apply(always(mo.OrgUnit, "X", map[string]any{"parent": "Y"}), 0)
	v.Apply(always(mo.OrgUnit, "Y", map[string]any{"parent": "X"}), 0)
	eq(t, "cycle: the unit stays last", uuids(v.UnitPath("X", today)), []string{"Y", "X"})
	eq(t, "unknown", v.UnitPath("nope", today), []*Object(nil))
	var none *Object
	eq(t, "a nil object has no version", none.ValidFrom(today) == nil && none.At(today) == nil && none.Last() == nil, true)
}
