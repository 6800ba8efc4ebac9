package scope

import (
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// OfView answers the rules from a sinks/view View as of t: the form the
// acting sinks (AD, FK Organisation) use. Call it per render; it holds no
// state of its own.
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
	if o == nil {
		return false
	}
	return r.PassesVersion(v, o, o.At(t), t)
}

// PassesVersion is Passes for one version ver of o (e.g. the one valid
// from t on, for an engagement that starts later), its units and persons
// judged as of t: labels and the tree are today's. False for a nil ver.
func (r *Rules) PassesVersion(v *view.View, o *view.Object, ver *view.Version, t time.Time) bool {
	if !r.Enabled() {
		return true
	}
	if o == nil || ver == nil {
		return false
	}
	return r.Passes(OfView(v, t), o.Type, o.UUID, ver)
}

// scopeFields are the unit fields whose change can move a unit's subtree
// into or out of a scope (its label, its place in the tree, its dates).
var scopeFields = map[string]bool{"org_unit_hierarchy": true, "parent": true, "validity": true}

// Moves reports whether an applied event can move objects into or out of
// the scope beyond the owners it names: a unit's create, delete, tick or
// snapshot, or an update of its label, parent or dates. Always false when
// the rules filter nothing.
func (r *Rules) Moves(t view.Touch) bool {
	if t.Type != mo.OrgUnit {
		return false
	}
	return r.MovesEvent(t.Event)
}

// MovesEvent is Moves for a unit's event e (nil: a tombstone), for a
// sink that reads events without a sinks/view Follower.
func (r *Rules) MovesEvent(e *event.Envelope) bool {
	if !r.Enabled() || e != nil && e.Type != mo.OrgUnit {
		return false
	}
	if e == nil || len(e.Changed) == 0 {
		return true
	}
	for _, c := range e.Changed {
		if scopeFields[c] {
			return true
		}
	}
	return false
}

// Widen returns owners plus what a scoped sink must also re-render when
// they change: every unit below a touched unit (a label or parent change
// moves the whole subtree in or out of scope) and the persons with an
// engagement at t in those units (their engagements moved in or out with
// the unit; with Persons the persons themselves may too). An acting sink
// calls it on the owners of an event for which Moves is true, before
// queueing them; a render of an owner that no longer passes deletes or
// disables it in the target.
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
	return out.Add(view.Owners{Persons: v.PersonsInUnits(out.Units, t, false)})
}
