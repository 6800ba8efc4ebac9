package view

import (
	"sort"
	"sync"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// refFields are the fields, per type, that point at other MO objects (not
// at classes, facets or IT systems); the view indexes them backwards so
// that "the engagements of this person" is a lookup, not a scan.
var refFields = map[mo.Type][]string{
	mo.OrgUnit:     {"parent"},
	mo.Engagement:  {"person", "org_unit"},
	mo.Association: {"person", "org_unit", "it_user"},
	mo.ITUser:      {"person", "org_unit", "engagements"},
	mo.Address:     {"person", "org_unit", "engagement", "ituser"},
	mo.Manager:     {"person", "org_unit", "engagement"},
	mo.Leave:       {"person", "engagement"},
	mo.KLE:         {"org_unit"},
	mo.RelatedUnit: {"org_units"},
	mo.RoleBinding: {"ituser", "org_unit"},
	mo.Owner:       {"owner", "person", "org_unit"},
}

// View is the current state of MO objects, read from the object topics,
// with the lookups acting sinks need. It is safe for concurrent use: one
// goroutine applies events (normally a Follower), any number look up.
// Lookups return immutable Objects (see Object).
type View struct {
	mu     sync.RWMutex
	byType map[mo.Type]map[string]*Object
	// refs maps a target uuid to the objects whose refFields name it in
	// any version.
	refs map[string][]ref
}

type ref struct {
	uuid string
	typ  mo.Type
}

// New returns an empty view.
func New() *View {
	v := &View{byType: map[mo.Type]map[string]*Object{}, refs: map[string][]ref{}}
	for _, t := range mo.Types {
		v.byType[t] = map[string]*Object{}
	}
	return v
}

// Apply puts the event's object into the view (a delete removes it) and
// returns the owners the change touches, from the state before and after.
// partition is the object topic partition the event was read from.
func (v *View) Apply(e *event.Envelope, partition int32) Owners {
	if e.Op == event.Delete || e.Object == nil || len(e.Object.Validities) == 0 {
		return v.Remove(e.Type, e.UUID)
	}
	n := compact(e.Object, partition)
	n.Type, n.UUID = mo.Type(intern(string(e.Type))), intern(e.UUID)
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.byType[n.Type][n.UUID]
	v.unindex(old)
	v.byType[n.Type][n.UUID] = n
	v.index(n)
	return v.touched(old, n)
}

// Remove deletes an object (a delete event or a tombstone) and returns the
// owners it touched.
func (v *View) Remove(t mo.Type, uuid string) Owners {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.byType[t][uuid]
	if old == nil {
		return Owners{}
	}
	v.unindex(old)
	delete(v.byType[t], uuid)
	return v.touched(old, nil)
}

func (v *View) index(o *Object) {
	if o == nil {
		return
	}
	for _, target := range targets(o) {
		v.refs[target] = append(v.refs[target], ref{o.UUID, o.Type})
	}
}

func (v *View) unindex(o *Object) {
	if o == nil {
		return
	}
	for _, target := range targets(o) {
		rs := v.refs[target]
		for i, r := range rs {
			if r.uuid == o.UUID && r.typ == o.Type {
				rs[i] = rs[len(rs)-1]
				rs = rs[:len(rs)-1]
				break
			}
		}
		if len(rs) == 0 {
			delete(v.refs, target)
		} else {
			v.refs[target] = rs
		}
	}
}

// targets lists the distinct objects o refers to in any version.
func targets(o *Object) []string {
	var out []string
	seen := map[string]bool{}
	for i := range o.Versions {
		for _, f := range refFields[o.Type] {
			for _, u := range o.Versions[i].UUIDs(f) {
				if !seen[u] {
					seen[u] = true
					out = append(out, u)
				}
			}
		}
	}
	return out
}

// Get returns the object of type t with uuid, or nil.
func (v *View) Get(t mo.Type, uuid string) *Object {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.byType[t][uuid]
}

// Len returns how many objects of type t the view holds.
func (v *View) Len(t mo.Type) int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.byType[t])
}

// Each calls fn for every object of type t, in uuid order, until fn returns
// false. fn must not call back into the view's write methods.
func (v *View) Each(t mo.Type, fn func(*Object) bool) {
	for _, o := range v.All(t) {
		if !fn(o) {
			return
		}
	}
}

// All returns every object of type t, sorted by uuid.
func (v *View) All(t mo.Type) []*Object {
	v.mu.RLock()
	out := make([]*Object, 0, len(v.byType[t]))
	for _, o := range v.byType[t] {
		out = append(out, o)
	}
	v.mu.RUnlock()
	sortObjects(out)
	return out
}

func sortObjects(os []*Object) {
	sort.Slice(os, func(i, j int) bool { return os[i].UUID < os[j].UUID })
}

// Referrers returns the objects of type t whose field (one of the indexed
// reference fields, see the package doc) names target: at time at, or in
// any version when at is nil. Sorted by uuid.
func (v *View) Referrers(target string, t mo.Type, field string, at *time.Time) []*Object {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.referrers(target, t, field, at)
}

func (v *View) referrers(target string, t mo.Type, field string, at *time.Time) []*Object {
	var out []*Object
	for _, r := range v.refs[target] {
		if r.typ != t {
			continue
		}
		o := v.byType[t][r.uuid]
		if o == nil {
			continue
		}
		if at != nil {
			if ver := o.At(*at); ver != nil && ver.refers(field, target) {
				out = append(out, o)
			}
			continue
		}
		for i := range o.Versions {
			if o.Versions[i].refers(field, target) {
				out = append(out, o)
				break
			}
		}
	}
	sortObjects(out)
	return out
}

func ptr(t time.Time) *time.Time { return &t }

// PersonITUsers returns the IT users of a person at t (all IT systems;
// filter on the version's "itsystem").
func (v *View) PersonITUsers(person string, t time.Time) []*Object {
	return v.Referrers(person, mo.ITUser, "person", ptr(t))
}

// PersonEngagements returns the engagements of a person at t.
func (v *View) PersonEngagements(person string, t time.Time) []*Object {
	return v.Referrers(person, mo.Engagement, "person", ptr(t))
}

// PersonEngagementsEver returns every engagement of a person in any
// version, past, current or future.
func (v *View) PersonEngagementsEver(person string) []*Object {
	return v.Referrers(person, mo.Engagement, "person", nil)
}

// PersonAddresses returns the addresses of a person at t (including those
// also linked to one of its engagements or IT users).
func (v *View) PersonAddresses(person string, t time.Time) []*Object {
	return v.Referrers(person, mo.Address, "person", ptr(t))
}

// UnitManagers returns the manager objects of a unit at t (vacant posts
// included: their "person" is unset).
func (v *View) UnitManagers(unit string, t time.Time) []*Object {
	return v.Referrers(unit, mo.Manager, "org_unit", ptr(t))
}

// UnitAddresses returns the addresses of a unit at t.
func (v *View) UnitAddresses(unit string, t time.Time) []*Object {
	return v.Referrers(unit, mo.Address, "org_unit", ptr(t))
}

// UnitEngagements returns the engagements in a unit at t.
func (v *View) UnitEngagements(unit string, t time.Time) []*Object {
	return v.Referrers(unit, mo.Engagement, "org_unit", ptr(t))
}

// UnitChildren returns the units whose parent is unit at t.
func (v *View) UnitChildren(unit string, t time.Time) []*Object {
	return v.Referrers(unit, mo.OrgUnit, "parent", ptr(t))
}

// UnitPath returns the unit and its ancestors at t, root first and the unit
// last; nil when the unit is unknown or not valid at t. A parent that is
// missing from the view or not valid at t ends the path (it then starts at
// the highest unit known); a cycle is cut where it closes.
func (v *View) UnitPath(unit string, t time.Time) []*Object {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var rev []*Object
	seen := map[string]bool{}
	for u := unit; u != "" && !seen[u]; {
		seen[u] = true
		o := v.byType[mo.OrgUnit][u]
		ver := o.At(t)
		if ver == nil {
			break
		}
		rev = append(rev, o)
		u = ver.Str("parent")
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// Subtree returns the unit and every unit below it at t, the unit first.
func (v *View) Subtree(unit string, t time.Time) []*Object {
	v.mu.RLock()
	defer v.mu.RUnlock()
	root := v.byType[mo.OrgUnit][unit]
	if root.At(t) == nil {
		return nil
	}
	out := []*Object{root}
	seen := map[string]bool{unit: true}
	for i := 0; i < len(out); i++ {
		for _, c := range v.referrers(out[i].UUID, mo.OrgUnit, "parent", &t) {
			if !seen[c.UUID] {
				seen[c.UUID] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// ITUserEngagements returns the engagements an IT user links to at t (its
// "engagements" field at t), whatever their own validity; unknown uuids
// are left out.
func (v *View) ITUserEngagements(ituser string, t time.Time) []*Object {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ver := v.byType[mo.ITUser][ituser].At(t)
	if ver == nil {
		return nil
	}
	var out []*Object
	for _, e := range ver.UUIDs("engagements") {
		if o := v.byType[mo.Engagement][e]; o != nil {
			out = append(out, o)
		}
	}
	sortObjects(out)
	return out
}

// ITUserAddresses returns the addresses linked to an IT user at t.
func (v *View) ITUserAddresses(ituser string, t time.Time) []*Object {
	return v.Referrers(ituser, mo.Address, "ituser", ptr(t))
}

// EngagementAddresses returns the addresses linked to an engagement at t.
func (v *View) EngagementAddresses(engagement string, t time.Time) []*Object {
	return v.Referrers(engagement, mo.Address, "engagement", ptr(t))
}

// EngagementITUsers returns the IT users that link an engagement at t.
func (v *View) EngagementITUsers(engagement string, t time.Time) []*Object {
	return v.Referrers(engagement, mo.ITUser, "engagements", ptr(t))
}

// Class returns a class by uuid, or nil.
func (v *View) Class(uuid string) *Object { return v.Get(mo.Class, uuid) }

// ClassName returns the name of a class at t, falling back to its last
// version (classes are mostly valid always), "" when unknown.
func (v *View) ClassName(uuid string, t time.Time) string {
	return v.classField(uuid, "name", t)
}

// ClassUserKey returns the user_key of a class at t (or its last version).
func (v *View) ClassUserKey(uuid string, t time.Time) string {
	return v.classField(uuid, "user_key", t)
}

func (v *View) classField(uuid, field string, t time.Time) string {
	o := v.Class(uuid)
	ver := o.At(t)
	if ver == nil {
		ver = o.Last()
	}
	return ver.Str(field)
}

// ITSystemByUserKey returns the IT system whose user_key (in any version)
// is key, or nil.
func (v *View) ITSystemByUserKey(key string) *Object {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, o := range v.byType[mo.ITSystem] {
		for i := range o.Versions {
			if o.Versions[i].Str("user_key") == key {
				return o
			}
		}
	}
	return nil
}
