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
