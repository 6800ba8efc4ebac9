package scope

import (
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Labels by uuid: L = linjeorg, S = selvejet, H = skjult.
const (
	labelL = "aaaaaaaa-0000-0000-0000-00000000000l"
	labelS = "aaaaaaaa-0000-0000-0000-00000000000s"
)

type unit struct{ label, key, parent string }

type mapView struct {
	units   map[string]unit
	persons map[string][]string
}

func (m mapView) Unit(u string) (string, string, string, bool) {
	x, ok := m.units[u]
	return x.label, x.key, x.parent, ok
}
func (m mapView) PersonUnits(p string) []string { return m.persons[p] }

// The tree:
//
//	root (L) ── a (L) ── a1 (L)
//	        │        └── a2 (S)
//	        └── b (L) ── b1 (none)
var tree = mapView{
	units: map[string]unit{
		"root": {labelL, "linjeorg", ""},
		"a":    {labelL, "linjeorg", "root"}, "a1": {labelL, "linjeorg", "a"}, "a2": {labelS, "selvejet", "a"},
		"b": {labelL, "linjeorg", "root"}, "b1": {"", "", "b"},
	},
	persons: map[string][]string{"p-in": {"a2", "a1"}, "p-out": {"a2"}, "p-none": nil},
}

func TestRules(t *testing.T) {
	lineOnly := New(Config{Labels: []string{"linjeorg"}, Persons: true})
	byUUID := New(Config{Labels: []string{labelS}})
	subtree := New(Config{Roots: []string{"a"}, Exclude: []string{"a2"}})
	all := New(Config{})
	cases := []struct {
		name   string
		r      *Rules
		typ    mo.Type
		uuid   string
		fields map[string]any
		want   bool
	}{
		{"line unit", lineOnly, mo.OrgUnit, "a1", nil, true},
		{"self-owned unit", lineOnly, mo.OrgUnit, "a2", nil, false},
		{"unlabelled unit", lineOnly, mo.OrgUnit, "b1", nil, false},
		{"unknown unit", lineOnly, mo.OrgUnit, "zz", nil, false},
		{"label by uuid", byUUID, mo.OrgUnit, "a2", nil, true},
		{"label by uuid, other", byUUID, mo.OrgUnit, "a1", nil, false},
		{"engagement in line unit", lineOnly, mo.Engagement, "e", map[string]any{"org_unit": "a1", "person": "p-out"}, true},
		{"engagement in self-owned unit", lineOnly, mo.Engagement, "e", map[string]any{"org_unit": "a2", "person": "p-in"}, false},
		{"manager", lineOnly, mo.Manager, "m", map[string]any{"org_unit": "a2"}, false},
		{"kle", lineOnly, mo.KLE, "k", map[string]any{"org_unit": "b"}, true},
		{"unit address", lineOnly, mo.Address, "ad", map[string]any{"org_unit": "a2"}, false},
		{"related units, one outside", lineOnly, mo.RelatedUnit, "r", map[string]any{"org_units": []string{"a1", "a2"}}, false},
		{"related units, both inside", lineOnly, mo.RelatedUnit, "r", map[string]any{"org_units": []string{"a1", "b"}}, true},
		{"person with an engagement inside", lineOnly, mo.Person, "p-in", nil, true},
		{"person with engagements outside only", lineOnly, mo.Person, "p-out", nil, false},
		{"person without engagements", lineOnly, mo.Person, "p-none", nil, false},
		{"person's address follows the person", lineOnly, mo.Address, "ad", map[string]any{"person": "p-out"}, false},
		{"person's IT user follows the person", lineOnly, mo.ITUser, "it", map[string]any{"person": "p-in"}, true},
		{"leave follows the person", lineOnly, mo.Leave, "l", map[string]any{"person": "p-out"}, false},
		{"persons unfiltered without persons", byUUID, mo.Person, "p-none", nil, true},
		{"classes always", lineOnly, mo.Class, "c", nil, true},
		{"subtree root itself", subtree, mo.OrgUnit, "a", nil, true},
		{"below the root", subtree, mo.OrgUnit, "a1", nil, true},
		{"excluded subtree", subtree, mo.OrgUnit, "a2", nil, false},
		{"outside the root", subtree, mo.OrgUnit, "b1", nil, false},
		{"no rules", all, mo.OrgUnit, "b1", nil, true},
		{"nil rules", nil, mo.Person, "p-none", nil, true},
	}
	for _, c := range cases {
		if got := c.r.Passes(tree, c.typ, c.uuid, Map(c.fields)); got != c.want {
			t.Errorf("%s: Passes = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCycleEnds(t *testing.T) {
	v := mapView{units: map[string]unit{"x": {"", "", "y"}, "y": {"", "", "x"}}}
	if New(Config{Roots: []string{"r"}}).UnitPasses(v, "x") {
		t.Fatal("a unit in a parent cycle outside the root passed")
	}
}

func TestValidate(t *testing.T) {
	c := Config{Labels: []string{""}, Roots: []string{"nope"}}
	err := c.Validate("mirrors[0] (pg): scope")
	if err == nil || err.Error() != "mirrors[0] (pg): scope.labels[0] is empty: give an org_unit_hierarchy class user_key or uuid\nmirrors[0] (pg): scope.roots[0] \"nope\" is not a unit uuid" {
		t.Fatalf("got %v", err)
	}
}
