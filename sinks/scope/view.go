package scope

import (
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// OfView answers the rules from a sinks/view View as of t: the form the
// acting sinks (AD, FK Organisation, email) use. Call it per render; it
// holds no state of its own.
func OfView(v *view.View, t time.Time) View { return viewScope{v, t} }

type viewScope struct {
	v *view.View
	t time.Time
}

func (s viewScope) Unit(uuid string) (label, labelKey, parent string, ok bool) {
	ver := s.v.Get(mo.OrgUnit, uuid).At(s.t)
	if ver == nil {
		return "", "", "", false
	}
	label = ver.Str("org_unit_hierarchy")
	if label != "" {
		labelKey = s.v.ClassUserKey(label, s.t)
	}
	return label, labelKey, ver.Str("parent"), true
}

func (s viewScope) PersonUnits(person string) []string {
	var out []string
	for _, e := range s.v.PersonEngagements(person, s.t) {
		if u := e.At(s.t).Str("org_unit"); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// PassesIn is Passes for an object of a sinks/view View, judged by its
// version valid at t (false when none is).
func (r *Rules) PassesIn(v *view.View, o *view.Object, t time.Time) bool {
	if !r.Enabled() {
		return true
	}
	ver := o.At(t)
	if ver == nil {
		return false
	}
	return r.Passes(OfView(v, t), o.Type, o.UUID, ver)
}

// Widen returns owners plus what a scoped sink must also re-render when
// they change: every unit below a touched unit (a label or parent change
// moves the whole subtree in or out of scope), and with Persons the
// persons with an engagement at t in those units. An acting sink calls it
// on the owners its view's Touch reports, before queueing them; a render
// of an owner that no longer passes deletes it from the target.
func (r *Rules) Widen(v *view.View, o view.Owners, t time.Time) view.Owners {
	if !r.Enabled() || len(o.Units) == 0 {
		return o
	}
	var units []string
	for _, u := range o.Units {
		units = append(units, u)
		for _, d := range v.Subtree(u, t) {
			units = append(units, d.UUID)
		}
	}
	out := o.Add(view.Owners{Units: units})
	if r.persons {
		out = out.Add(view.Owners{Persons: v.PersonsInUnits(out.Units, t, false)})
	}
	return out
}
