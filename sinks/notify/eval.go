package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// evaluator runs the rules' templates against the view as of one day. It
// is used by one goroutine; the template functions read its fields.
type evaluator struct {
	v     *moView
	scope *scope.Rules // nil: everything passes
	now   time.Time    // the clock when the batch is handled
	today string       // mo.DateOf(now)
}

// Template data types. Fields are what templates may use.
type (
	// UnitInfo is what unit returns.
	UnitInfo struct {
		UUID, Name, UserKey string
		// Current: the unit is valid today.
		Current bool
		// Location is the names of the ancestors and the unit, root first,
		// joined " / " (OS2mo's location).
		Location string
		// Ancestors are the uuids of the root … the unit, root first.
		Ancestors []string
		// Root is the top of the unit's tree today.
		Root string
	}
	// PersonInfo is what person returns.
	PersonInfo struct{ UUID, Name, GivenName, Surname string }
	// ClassInfo is what class returns.
	ClassInfo struct{ UUID, Name, UserKey, Scope string }
	// ITSystemInfo is what itsystem returns.
	ITSystemInfo struct{ UUID, Name, UserKey string }
	// RoleBindingInfo is one element of what rolebindings returns.
	RoleBindingInfo struct {
		UUID string
		Role ClassInfo
	}
)

func (ev *evaluator) funcs() template.FuncMap {
	return template.FuncMap{
		"unit":           ev.unit,
		"person":         ev.person,
		"class":          ev.class,
		"itsystem":       ev.itsystem,
		"rolebindings":   ev.rolebindings,
		"unitEmails":     func(u string) []string { return ev.v.unitEmails(u, ev.now) },
		"relatedOutside": ev.relatedOutside,
		"has":            has,
		"intersects":     intersects,
		"join":           func(xs []string, sep string) string { return strings.Join(xs, sep) },
		"lower":          strings.ToLower,
		"upper":          strings.ToUpper,
	}
}

// lastVersion is the version valid now, else the last one.
func lastVersion(o *mo.Object, now time.Time) *mo.Version {
	if v := at(o, now); v != nil {
		return v
	}
	if o == nil || len(o.Validities) == 0 {
		return nil
	}
	return &o.Validities[len(o.Validities)-1]
}

func (ev *evaluator) unit(uuid any) UnitInfo {
	u := asString(uuid)
	info := UnitInfo{UUID: u}
	o := ev.v.get(mo.OrgUnit, u)
	if ver := lastVersion(o, ev.now); ver != nil {
		info.Name, info.UserKey = str(ver, "name"), str(ver, "user_key")
	}
	path := ev.v.unitPath(u, ev.now)
	if len(path) == 0 {
		return info
	}
	info.Current = true
	names := make([]string, len(path))
	for i, p := range path {
		info.Ancestors = append(info.Ancestors, p.UUID)
		names[i] = str(at(p, ev.now), "name")
	}
	info.Location = strings.Join(names, " / ")
	info.Root = path[0].UUID
	return info
}

func (ev *evaluator) person(uuid any) PersonInfo {
	u := asString(uuid)
	ver := lastVersion(ev.v.get(mo.Person, u), ev.now)
	p := PersonInfo{UUID: u, GivenName: str(ver, "given_name"), Surname: str(ver, "surname")}
	p.Name = strings.TrimSpace(p.GivenName + " " + p.Surname)
	return p
}

func (ev *evaluator) class(uuid any) ClassInfo {
	u := asString(uuid)
	ver := lastVersion(ev.v.get(mo.Class, u), ev.now)
	return ClassInfo{UUID: u, Name: str(ver, "name"), UserKey: str(ver, "user_key"), Scope: str(ver, "scope")}
}

func (ev *evaluator) itsystem(uuid any) ITSystemInfo {
	u := asString(uuid)
	ver := lastVersion(ev.v.get(mo.ITSystem, u), ev.now)
	return ITSystemInfo{UUID: u, Name: str(ver, "name"), UserKey: str(ver, "user_key")}
}

// rolebindings returns the role bindings of an IT user valid today,
// sorted by role uuid (OS2mo's dedup sorts the role uuids).
func (ev *evaluator) rolebindings(ituser any) []RoleBindingInfo {
	u := asString(ituser)
	var out []RoleBindingInfo
	for _, rb := range ev.v.referrers(u, mo.RoleBinding) {
		ver := at(rb, ev.now)
		if ver == nil || str(ver, "ituser") != u {
			continue
		}
		out = append(out, RoleBindingInfo{UUID: rb.UUID, Role: ev.class(str(ver, "role"))})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role.UUID != out[j].Role.UUID {
			return out[i].Role.UUID < out[j].Role.UUID
		}
		return out[i].UUID < out[j].UUID
	})
	return out
}

// relatedOutside reports whether a unit has, today, a related unit whose
// tree's root is not root (OS2mo: a relation outside the Lønorganisation).
func (ev *evaluator) relatedOutside(unit, root any) bool {
	u, r := asString(unit), asString(root)
	for _, ru := range ev.v.referrers(u, mo.RelatedUnit) {
		ver := at(ru, ev.now)
		if ver == nil {
			continue
		}
		units := uuidList(ver.Fields["org_units"])
		if !has(units, u) {
			continue
		}
		for _, other := range units {
			if p := ev.v.unitPath(other, ev.now); len(p) > 0 && p[0].UUID != r {
				return true
			}
		}
	}
	return false
}

func asString(x any) string {
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(x)
}

// asStrings turns a template value (a YAML list, []string, a string) into
// strings.
func asStrings(x any) []string {
	switch x := x.(type) {
	case nil:
		return nil
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, asString(e))
		}
		return out
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	}
	return []string{fmt.Sprint(x)}
}

func has(list any, x any) bool {
	s := asString(x)
	for _, e := range asStrings(list) {
		if e == s && s != "" {
			return true
		}
	}
	return false
}

func intersects(a, b any) bool {
	for _, e := range asStrings(a) {
		if has(b, e) {
			return true
		}
	}
	return false
}

// eventInfo is .Event in a target template.
type eventInfo struct {
	Type mo.Type
	UUID string
	Op   string
	Day  string
}

// targetData is the data of a rule's target template.
type targetData struct {
	Event    eventInfo
	Current  map[string]any
	old, new *mo.Object
}

// Ever returns the uuids a field names in any version of the event's
// object, before or after the event.
func (t targetData) Ever(field string) []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range []*mo.Object{t.old, t.new} {
		if o == nil {
			continue
		}
		for _, u := range refsOf(o, field) {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// evalData is the data of a rule's other templates.
type evalData struct {
	Rule   string
	Params map[string]any
	Event  eventInfo
	Type   mo.Type
	UUID   string
	// V holds the fields of the evaluated version (unset fields: "").
	V map[string]any
	// From and To are its validity ("" = open), To the last day.
	From, To string
	Today    string
	Vars     map[string]string
}

// fieldsOf returns a version's fields with every field of the type set
// ("" when unset), so templates never see "<no value>".
func fieldsOf(t mo.Type, v *mo.Version) map[string]any {
	m := map[string]any{}
	if s := mo.SpecOf(t); s != nil {
		for _, f := range s.Fields {
			m[f.Name] = ""
		}
	}
	if v != nil {
		for k, x := range v.Fields {
			if x != nil {
				m[k] = x
			}
		}
	}
	return m
}

func render(t *template.Template, data any) (string, error) {
	if t == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// decision is what one rule concludes about one object.
type decision struct {
	rule    *compiled
	uuid    string
	outside bool // the target does not pass the sink's scope
	alert   bool
	reset   bool
	content string // the key content
	data    *evalData
}

// hash is the digest of the key content that names an alert.
func (d decision) hash() string {
	h := sha256.Sum256([]byte(d.rule.Name + "\x00" + d.uuid + "\x00" + d.content))
	return hex.EncodeToString(h[:16])
}

// targets renders a rule's target template for an event.
func (ev *evaluator) targets(r *compiled, e eventInfo, old, new *mo.Object) ([]string, error) {
	td := targetData{Event: e, Current: fieldsOf(e.Type, at(new, ev.now)), old: old, new: new}
	s, err := render(r.target, td)
	if err != nil {
		return nil, fmt.Errorf("rule %s target: %w", r.Name, err)
	}
	return strings.Fields(s), nil
}

// decide evaluates rule r for one target object.
func (ev *evaluator) decide(r *compiled, e eventInfo, uuid string) (decision, error) {
	d := decision{rule: r, uuid: uuid}
	o := ev.v.get(r.TargetType, uuid)
	var ver *mo.Version
	if r.Version == "current" {
		ver = at(o, ev.now)
	} else {
		ver = currentOrLatest(o, ev.now)
	}
	if ver == nil {
		return d, nil // absent or not current: nothing to say
	}
	if !ev.scope.Passes(scopeView{ev.v, ev.now}, r.TargetType, uuid, scope.Map(ver.Fields)) {
		d.outside = true // not this sink's: no alert, its state kept
		return d, nil
	}
	data := &evalData{Rule: r.Name, Params: r.Params, Event: e, Type: r.TargetType, UUID: uuid,
		V: fieldsOf(r.TargetType, ver), Today: ev.today, Vars: map[string]string{}}
	if ver.Validity.From != nil {
		data.From = string(*ver.Validity.From)
	}
	if ver.Validity.To != nil {
		data.To = string(*ver.Validity.To)
	}
	for i, vt := range r.vars {
		s, err := render(vt, data)
		if err != nil {
			return d, fmt.Errorf("rule %s var %s: %w", r.Name, r.Vars[i].Name, err)
		}
		data.Vars[r.Vars[i].Name] = strings.TrimSpace(s)
	}
	w, err := render(r.when, data)
	if err != nil {
		return d, fmt.Errorf("rule %s when: %w", r.Name, err)
	}
	d.data = data
	d.alert = strings.TrimSpace(w) == "true"
	if !d.alert && r.Once == "entry" {
		if r.reset == nil {
			d.reset = true
		} else {
			s, err := render(r.reset, data)
			if err != nil {
				return d, fmt.Errorf("rule %s reset: %w", r.Name, err)
			}
			d.reset = strings.TrimSpace(s) == "true"
		}
	}
	if d.alert {
		if d.content, err = render(r.key, data); err != nil {
			return d, fmt.Errorf("rule %s key: %w", r.Name, err)
		}
	}
	return d, nil
}

// receivers returns who gets the alert of d: the EMAIL addresses of the
// configured ancestor of the unit the rule names, else the fixed ones.
func (ev *evaluator) receivers(d decision, fixed []string) ([]string, error) {
	if d.rule.unitEmails != nil {
		s, err := render(d.rule.unitEmails, d.data)
		if err != nil {
			return nil, fmt.Errorf("rule %s unit_emails: %w", d.rule.Name, err)
		}
		if u := strings.TrimSpace(s); u != "" {
			path := ev.v.unitPath(u, ev.now)
			if len(path) == 0 {
				return nil, nil
			}
			target := path[min(d.rule.depth, len(path)-1)]
			return ev.v.unitEmails(target.UUID, ev.now), nil
		}
	}
	if len(d.rule.Receivers) > 0 {
		return d.rule.Receivers, nil
	}
	return fixed, nil
}
