package notify

import (
	"sort"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// viewTypes are the MO types the rules read.
var viewTypes = []mo.Type{mo.OrgUnit, mo.Address, mo.Person, mo.Class, mo.ITSystem,
	mo.RoleBinding, mo.RelatedUnit, mo.Manager, mo.ITUser}

// moView is the latest state of the MO objects the rules read, with the
// reverse references they follow (a unit's addresses, an IT user's role
// bindings, a unit's related-unit objects). One writer (the handler);
// built from the consumed records, so it always matches the committed
// offsets after Warm.
type moView struct {
	objs map[mo.Type]map[string]*mo.Object
	// refs: target uuid → referring type → referring uuids.
	refs map[string]map[mo.Type]map[string]bool
}

// refFields are the reference fields indexed backwards.
var refFields = map[mo.Type][]string{
	mo.OrgUnit:     {"parent"},
	mo.Engagement:  {"person"}, // held only with scope.persons
	mo.Address:     {"org_unit"},
	mo.RoleBinding: {"ituser"},
	mo.RelatedUnit: {"org_units"},
}

// newView holds viewTypes and extra (the types custom rules evaluate).
func newView(extra []mo.Type) *moView {
	v := &moView{objs: map[mo.Type]map[string]*mo.Object{}, refs: map[string]map[mo.Type]map[string]bool{}}
	for _, t := range append(append([]mo.Type{}, viewTypes...), extra...) {
		v.objs[t] = map[string]*mo.Object{}
	}
	return v
}

func (v *moView) get(t mo.Type, uuid string) *mo.Object { return v.objs[t][uuid] }

// put replaces (o non-nil) or removes an object and returns the previous one.
func (v *moView) put(t mo.Type, uuid string, o *mo.Object) *mo.Object {
	m, ok := v.objs[t]
	if !ok {
		return nil
	}
	old := m[uuid]
	if old != nil {
		v.index(old, false)
	}
	if o == nil || len(o.Validities) == 0 {
		delete(m, uuid)
		return old
	}
	m[uuid] = o
	v.index(o, true)
	return old
}

func (v *moView) index(o *mo.Object, add bool) {
	for _, f := range refFields[o.Type] {
		for _, target := range refsOf(o, f) {
			byType := v.refs[target]
			if byType == nil {
				if !add {
					continue
				}
				byType = map[mo.Type]map[string]bool{}
				v.refs[target] = byType
			}
			set := byType[o.Type]
			if set == nil {
				set = map[string]bool{}
				byType[o.Type] = set
			}
			if add {
				set[o.UUID] = true
			} else {
				delete(set, o.UUID)
			}
		}
	}
}

// refsOf lists the uuids field f names in any version of o.
func refsOf(o *mo.Object, f string) []string {
	seen := map[string]bool{}
	var out []string
	for _, ver := range o.Validities {
		for _, u := range uuidList(ver.Fields[f]) {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

func uuidList(x any) []string {
	switch x := x.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// referrers returns the objects of type t that refer to target.
func (v *moView) referrers(target string, t mo.Type) []*mo.Object {
	var out []*mo.Object
	for u := range v.refs[target][t] {
		if o := v.objs[t][u]; o != nil {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	return out
}

// at returns the version of o valid at t, or nil.
func at(o *mo.Object, t time.Time) *mo.Version {
	if o == nil {
		return nil
	}
	for i := range o.Validities {
		if o.Validities[i].Period.Contains(t) {
			return &o.Validities[i]
		}
	}
	return nil
}

// currentOrLatest is OS2mo's choice for an object's alert
// (extract_current_or_latest_validity): the only version, else the one
// valid now, else the one with the latest end (open counts as latest).
func currentOrLatest(o *mo.Object, now time.Time) *mo.Version {
	if o == nil || len(o.Validities) == 0 {
		return nil
	}
	if len(o.Validities) == 1 {
		return &o.Validities[0]
	}
	if v := at(o, now); v != nil {
		return v
	}
	best := &o.Validities[0]
	for i := range o.Validities {
		if !o.Validities[i].Period.To.Before(best.Period.To) {
			best = &o.Validities[i]
		}
	}
	return best
}

func str(v *mo.Version, f string) string {
	if v == nil {
		return ""
	}
	s, _ := v.Fields[f].(string)
	return s
}

// unitPath returns the unit and its ancestors valid at t, root first; nil
// if the unit is not valid at t. A cycle or a missing parent ends the path.
func (v *moView) unitPath(unit string, t time.Time) []*mo.Object {
	var rev []*mo.Object
	seen := map[string]bool{}
	for u := unit; u != "" && !seen[u]; {
		seen[u] = true
		o := v.get(mo.OrgUnit, u)
		ver := at(o, t)
		if ver == nil {
			if u == unit {
				return nil
			}
			break
		}
		rev = append(rev, o)
		u = str(ver, "parent")
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// unitEmails returns the values of the unit's EMAIL-scope addresses valid
// at t, sorted.
func (v *moView) unitEmails(unit string, t time.Time) []string {
	var out []string
	for _, a := range v.referrers(unit, mo.Address) {
		ver := at(a, t)
		if ver == nil || str(ver, "org_unit") != unit {
			continue
		}
		if cls := at(v.get(mo.Class, str(ver, "address_type")), t); cls == nil && !isEmailClass(v.get(mo.Class, str(ver, "address_type"))) {
			continue
		} else if cls != nil && !strings.EqualFold(str(cls, "scope"), "EMAIL") {
			continue
		}
		if val := str(ver, "value"); val != "" {
			out = append(out, val)
		}
	}
	sort.Strings(out)
	return out
}

// isEmailClass: a class with no version valid now counts by its last one.
func isEmailClass(o *mo.Object) bool {
	if o == nil || len(o.Validities) == 0 {
		return false
	}
	return strings.EqualFold(str(&o.Validities[len(o.Validities)-1], "scope"), "EMAIL")
}

// scopeView answers sinks/scope's rules from the view as of t.
type scopeView struct {
	v *moView
	t time.Time
}

func (s scopeView) Unit(uuid string) (label, labelKey, parent string, ok bool) {
	ver := at(s.v.get(mo.OrgUnit, uuid), s.t)
	if ver == nil {
		return "", "", "", false
	}
	if label = str(ver, "org_unit_hierarchy"); label != "" {
		labelKey = str(lastVersion(s.v.get(mo.Class, label), s.t), "user_key")
	}
	return label, labelKey, str(ver, "parent"), true
}

func (s scopeView) PersonUnits(person string) []string {
	var out []string
	for _, e := range s.v.referrers(person, mo.Engagement) {
		if ver := at(e, s.t); ver != nil && str(ver, "person") == person {
			out = append(out, str(ver, "org_unit"))
		}
	}
	return out
}

// subtree returns the units below unit at t (not unit itself), parents
// before children.
func (v *moView) subtree(unit string, t time.Time) []string {
	var out []string
	seen := map[string]bool{unit: true}
	for frontier := []string{unit}; len(frontier) > 0; {
		var next []string
		for _, u := range frontier {
			for _, c := range v.referrers(u, mo.OrgUnit) {
				if ver := at(c, t); ver != nil && str(ver, "parent") == u && !seen[c.UUID] {
					seen[c.UUID] = true
					out = append(out, c.UUID)
					next = append(next, c.UUID)
				}
			}
		}
		frontier = next
	}
	return out
}
