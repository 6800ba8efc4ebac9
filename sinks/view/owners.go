package view

import (
	"sort"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Owners are the persons and units an event touches: the objects whose
// whole state a sink re-derives (CONVENTIONS 18). Classification objects
// (classes, facets, IT systems, the organisation) are owned by nobody; a
// change to one is listed in Classes and the sink decides how far to fan it
// out (OwnersOfClass finds every owner that uses one, by a scan).
type Owners struct {
	Persons []string
	Units   []string
	Classes []string
}

// Empty reports whether nothing is touched.
func (o Owners) Empty() bool { return len(o.Persons)+len(o.Units)+len(o.Classes) == 0 }

// Add returns the union of o and p, sorted and without duplicates.
func (o Owners) Add(p Owners) Owners {
	return Owners{Persons: union(o.Persons, p.Persons), Units: union(o.Units, p.Units), Classes: union(o.Classes, p.Classes)}
}

func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := append(append([]string(nil), a...), b...)
	sort.Strings(out)
	n := 0
	for i, s := range out {
		if i == 0 || s != out[n-1] {
			out[n] = s
			n++
		}
	}
	return out[:n]
}

// ownerSet collects owners without duplicates.
type ownerSet struct{ persons, units, classes map[string]bool }

func newOwnerSet() *ownerSet {
	return &ownerSet{persons: map[string]bool{}, units: map[string]bool{}, classes: map[string]bool{}}
}

func (s *ownerSet) owners() Owners {
	keys := func(m map[string]bool) []string {
		if len(m) == 0 {
			return nil
		}
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return Owners{Persons: keys(s.persons), Units: keys(s.units), Classes: keys(s.classes)}
}

// touched returns the owners of the object before and after a change. The
// caller holds the lock.
func (v *View) touched(old, n *Object) Owners {
	s := newOwnerSet()
	v.ownersOf(old, s)
	v.ownersOf(n, s)
	return s.owners()
}

// ownersOf adds the direct owners of o over all its versions: for an
// object that hangs on a person or a unit, that person or unit; for an
// address or role binding tied to an engagement or IT user, that object's
// person and unit too.
func (v *View) ownersOf(o *Object, s *ownerSet) {
	if o == nil {
		return
	}
	switch o.Type {
	case mo.Person:
		s.persons[o.UUID] = true
		return
	case mo.OrgUnit:
		s.units[o.UUID] = true
		return
	case mo.Class, mo.Facet, mo.ITSystem, mo.Organisation:
		s.classes[o.UUID] = true
		return
	}
	for i := range o.Versions {
		ver := &o.Versions[i]
		for _, p := range ver.UUIDs("person") {
			s.persons[p] = true
		}
		for _, u := range ver.UUIDs("org_unit") {
			s.units[u] = true
		}
		for _, u := range ver.UUIDs("org_units") {
			s.units[u] = true
		}
		// Tied to another object: its owners too (one level).
		for _, link := range []struct {
			field string
			typ   mo.Type
		}{{"engagement", mo.Engagement}, {"ituser", mo.ITUser}} {
			for _, u := range ver.UUIDs(link.field) {
				if t := v.byType[link.typ][u]; t != nil && t != o {
					v.ownersOf(t, s)
				}
			}
		}
	}
}

// OwnersOfClass returns the owners of every object that refers to the
// class, facet or IT system uuid in any field and any version. It scans
// the whole view: call it for the rare classification change, not per
// event.
func (v *View) OwnersOfClass(uuid string) Owners {
	v.mu.RLock()
	defer v.mu.RUnlock()
	s := newOwnerSet()
	for _, t := range mo.Types {
		switch t {
		case mo.Class, mo.Facet, mo.ITSystem, mo.Organisation:
			continue
		}
		for _, o := range v.byType[t] {
			if usesValue(o, uuid) {
				v.ownersOf(o, s)
			}
		}
	}
	out := s.owners()
	out.Classes = nil
	return out
}

func usesValue(o *Object, target string) bool {
	for i := range o.Versions {
		for _, f := range o.Versions[i].vals {
			switch t := f.val.(type) {
			case string:
				if t == target {
					return true
				}
			case []string:
				for _, s := range t {
					if s == target {
						return true
					}
				}
			}
		}
	}
	return false
}

// PersonsInUnits returns the persons with an engagement at t in one of the
// units or, with subtree, in a unit below one of them. Sorted.
func (v *View) PersonsInUnits(units []string, t time.Time, subtree bool) []string {
	all := units
	if subtree {
		all = nil
		for _, u := range units {
			for _, o := range v.Subtree(u, t) {
				all = append(all, o.UUID)
			}
		}
	}
	s := newOwnerSet()
	for _, u := range all {
		for _, e := range v.UnitEngagements(u, t) {
			if p := e.At(t).Str("person"); p != "" {
				s.persons[p] = true
			}
		}
	}
	return s.owners().Persons
}
