package mirror

import (
	"context"
	"sort"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// The organisation-label scope of a mirror (Config.Scope, sinks/scope):
// the export tables hold only the units that pass and what hangs on them;
// mocdc_objects keeps every object, so that what comes into scope later
// (a unit relabelled or moved) is exported from the state alone.

// scopeRefFields are the references a scoped mirror also keeps in
// mocdc_refs, to find what hangs on a unit or a person.
var scopeRefFields = map[mo.Type][]string{
	mo.Engagement:  {"org_unit"},
	mo.Association: {"org_unit", "person"},
	mo.KLE:         {"org_unit"},
	mo.Address:     {"org_unit", "person"},
	mo.ITUser:      {"org_unit", "person"},
	mo.Manager:     {"person"},
	mo.RelatedUnit: {"org_units"},
	mo.Leave:       {"person"},
}

// refsOf is refsOf plus, when the mirror is scoped, scopeRefFields.
func (m *Mirror) refsOf(o *mo.Object) []string {
	out := refsOf(o)
	if !m.scope.Enabled() {
		return out
	}
	seen := map[string]bool{}
	for _, r := range out {
		seen[r] = true
	}
	for _, v := range o.Validities {
		for _, f := range scopeRefFields[o.Type] {
			for _, u := range uuidsOf(v.Fields[f]) {
				if u != "" && !seen[u] && u != o.UUID {
					seen[u] = true
					out = append(out, u)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// scopeView answers sinks/scope's questions from the state, as of the
// deriver's day. What it is asked must have been loaded (scopePrefetch).
type scopeView struct{ d *deriver }

var _ scope.View = scopeView{}

func (s scopeView) Unit(uuid string) (label, labelKey, parent string, ok bool) {
	v := s.d.current(s.d.st.get(objKey{mo.OrgUnit, uuid}))
	if v == nil {
		return "", "", "", false
	}
	label = uuidOf(v.Fields["org_unit_hierarchy"])
	if label != "" {
		labelKey, _ = text(s.d.class(label), "user_key").(string)
	}
	return label, labelKey, uuidOf(v.Fields["parent"]), true
}

func (s scopeView) PersonUnits(person string) []string {
	var out []string
	for _, k := range s.d.st.referrers(mo.Engagement, person) {
		if v := s.d.current(s.d.st.get(k)); v != nil {
			out = append(out, uuidOf(v.Fields["org_unit"]))
		}
	}
	return out
}

// inScope keeps the versions of k that pass the scope. A unit or person
// is judged as of today in both modes (labels are today's).
func (d *deriver) inScope(k objKey, vs []*mo.Version) []*mo.Version {
	if !d.rules.Enabled() {
		return vs
	}
	out := vs[:0:0]
	for _, v := range vs {
		fields := scope.Map(v.Fields)
		if k.typ == mo.OrgUnit || k.typ == mo.Person {
			fields = nil // judged by uuid, as of today
		}
		if d.rules.Passes(scopeView{d}, k.typ, k.uuid, fields) {
			out = append(out, v)
		}
	}
	return out
}

// scopePrefetch loads what inScope asks about keys: their units and the
// units' ancestors with their label classes, and with Persons the
// engagements of the persons involved and their units.
func (d *deriver) scopePrefetch(ctx context.Context, keys []objKey) error {
	if !d.rules.Enabled() {
		return nil
	}
	st := d.st
	var units, persons []string
	for _, k := range keys {
		o := st.get(k)
		switch k.typ {
		case mo.OrgUnit:
			units = append(units, k.uuid)
		case mo.Person:
			persons = append(persons, k.uuid)
		}
		for _, v := range d.versions(o) {
			units = append(units, uuidOf(v.Fields["org_unit"]))
			units = append(units, uuidsOf(v.Fields["org_units"])...)
			persons = append(persons, uuidOf(v.Fields["person"]))
		}
	}
	if d.rules.Persons() {
		persons = sortedUnique(persons)
		if err := st.loadReferrers(ctx, mo.Engagement, persons); err != nil {
			return err
		}
		var engs []objKey
		for _, p := range persons {
			engs = append(engs, st.referrers(mo.Engagement, p)...)
		}
		if err := st.load(ctx, engs); err != nil {
			return err
		}
		for _, k := range engs {
			units = append(units, uuidOf(field(d.current(st.get(k)), "org_unit")))
		}
	}
	// The units and their ancestors, level by level, and their labels.
	seen := map[string]bool{}
	var labels []objKey
	frontier := sortedUnique(units)
	for len(frontier) > 0 {
		ks := make([]objKey, 0, len(frontier))
		for _, u := range frontier {
			if u != "" && !seen[u] {
				seen[u] = true
				ks = append(ks, objKey{mo.OrgUnit, u})
			}
		}
		if err := st.load(ctx, ks); err != nil {
			return err
		}
		var next []string
		for _, k := range ks {
			v := d.current(st.get(k))
			if l := uuidOf(field(v, "org_unit_hierarchy")); l != "" {
				labels = append(labels, objKey{mo.Class, l})
			}
			if p := uuidOf(field(v, "parent")); p != "" && !seen[p] {
				next = append(next, p)
			}
		}
		frontier = next
	}
	return st.load(ctx, labels)
}

// scopeAffected adds to out what a scoped mirror must recompute besides:
// for a unit whose label or parent changed (or that came or went, or
// whose version of the day changed at midnight: a relabel dated today),
// its subtree and everything tied to those units; with Persons, the
// persons of changed engagements and of engagements in those units, and
// what hangs on those persons.
func scopeAffected(ctx context.Context, st *state, rules *scope.Rules, out map[objKey]bool, changed, prev map[objKey]*mo.Object, due []objKey) error {
	if !rules.Enabled() {
		return nil
	}
	var roots, persons []string
	if err := st.load(ctx, due); err != nil {
		return err
	}
	for _, k := range due {
		switch k.typ {
		case mo.OrgUnit:
			roots = append(roots, k.uuid)
		case mo.Engagement:
			persons = append(persons, valuesOf(st.get(k), "person")...)
		}
	}
	for k, next := range changed {
		switch k.typ {
		case mo.OrgUnit:
			if !sameStrings(valuesOf(prev[k], "org_unit_hierarchy"), valuesOf(next, "org_unit_hierarchy")) ||
				!sameStrings(valuesOf(prev[k], "parent"), valuesOf(next, "parent")) || prev[k] == nil || next == nil {
				roots = append(roots, k.uuid)
			}
		case mo.Engagement:
			persons = append(persons, valuesOf(prev[k], "person")...)
			persons = append(persons, valuesOf(next, "person")...)
		}
	}
	// The subtrees, and everything that refers to their units.
	seen := map[string]bool{}
	frontier := sortedUnique(roots)
	for len(frontier) > 0 {
		for _, u := range frontier {
			seen[u] = true
		}
		if err := st.loadReferrers(ctx, "", frontier); err != nil {
			return err
		}
		var next []string
		for _, u := range frontier {
			out[objKey{mo.OrgUnit, u}] = true
			for _, k := range st.referrers("", u) {
				out[k] = true
				if k.typ == mo.OrgUnit && !seen[k.uuid] {
					seen[k.uuid] = true
					next = append(next, k.uuid)
				}
				if k.typ == mo.Engagement {
					if err := st.load(ctx, []objKey{k}); err != nil {
						return err
					}
					persons = append(persons, valuesOf(st.get(k), "person")...)
				}
			}
		}
		frontier = next
	}
	if !rules.Persons() {
		return nil
	}
	persons = sortedUnique(persons)
	if err := st.loadReferrers(ctx, "", persons); err != nil {
		return err
	}
	for _, p := range persons {
		out[objKey{mo.Person, p}] = true
		for _, k := range st.referrers("", p) {
			out[k] = true
		}
	}
	return nil
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
