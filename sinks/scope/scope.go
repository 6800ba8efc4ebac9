package scope

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Config is the `scope:` of a sink's configuration. The zero value lets
// everything pass.
type Config struct {
	// Labels are the org_unit_hierarchy classes the sink receives, by uuid
	// or user_key (e.g. [linjeorg]). Empty: every unit, labelled or not.
	Labels []string `yaml:"labels"`
	// Roots, when set, limit the sink to the subtrees of these units
	// (uuids; the root itself included).
	Roots []string `yaml:"roots"`
	// Exclude are units (uuids) whose subtrees the sink never receives.
	Exclude []string `yaml:"exclude"`
	// Persons limits persons, and what hangs on a person only, to those
	// with an engagement in a unit that passes.
	Persons bool `yaml:"persons"`
}

// Validate names every wrong value; at says where the config sits in the
// YAML (e.g. "mirrors[0] (bi): scope").
func (c *Config) Validate(at string) error {
	var errs []error
	for i, l := range c.Labels {
		if strings.TrimSpace(l) == "" {
			errs = append(errs, fmt.Errorf("%s.labels[%d] is empty: give an org_unit_hierarchy class user_key or uuid", at, i))
		}
	}
	check := func(key string, us []string) {
		for i, u := range us {
			if !isUUID(u) {
				errs = append(errs, fmt.Errorf("%s.%s[%d] %q is not a unit uuid", at, key, i, u))
			}
		}
	}
	check("roots", c.Roots)
	check("exclude", c.Exclude)
	return errors.Join(errs...)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// View is what the rules ask of the sink's state, as of one time (the
// sink's "today"). Implementations answer from memory or from what they
// loaded beforehand; they must not block on I/O for long.
type View interface {
	// Unit returns a unit's label class (uuid and user_key; "" when the
	// unit has none) and parent unit uuid ("" at the top), and whether the
	// unit is known and valid.
	Unit(uuid string) (label, labelKey, parent string, ok bool)
	// PersonUnits lists the units of the person's engagements valid at
	// the time. Only asked with Config.Persons.
	PersonUnits(person string) []string
}

// Rules are a compiled Config. The zero value and nil let everything pass.
type Rules struct {
	labels  map[string]bool
	roots   map[string]bool
	exclude map[string]bool
	persons bool
}

// New compiles cfg (which must validate).
func New(cfg Config) *Rules {
	set := func(xs []string) map[string]bool {
		if len(xs) == 0 {
			return nil
		}
		m := map[string]bool{}
		for _, x := range xs {
			m[strings.ToLower(strings.TrimSpace(x))] = true
		}
		return m
	}
	return &Rules{labels: set(cfg.Labels), roots: set(cfg.Roots), exclude: set(cfg.Exclude), persons: cfg.Persons}
}

// Enabled reports whether the rules filter anything.
func (r *Rules) Enabled() bool {
	return r != nil && (r.labels != nil || r.roots != nil || r.exclude != nil || r.persons)
}

// Persons reports whether persons are filtered.
func (r *Rules) Persons() bool { return r != nil && r.persons }

// maxDepth bounds a walk up the tree (a cycle in bad data must not hang).
const maxDepth = 256

// UnitPasses applies the unit rule.
func (r *Rules) UnitPasses(v View, unit string) bool {
	if !r.Enabled() {
		return true
	}
	label, key, parent, ok := v.Unit(unit)
	if !ok {
		return false
	}
	if r.labels != nil && !r.labels[strings.ToLower(label)] && (key == "" || !r.labels[strings.ToLower(key)]) {
		return false
	}
	inRoot := r.roots == nil
	for u, depth := unit, 0; u != "" && depth < maxDepth; depth++ {
		lu := strings.ToLower(u)
		if r.exclude[lu] {
			return false
		}
		if r.roots[lu] {
			inRoot = true
		}
		if u != unit {
			if _, _, parent, ok = v.Unit(u); !ok {
				break
			}
		}
		u = parent
	}
	return inRoot
}

func uuidsOf(x any) []string {
	switch t := x.(type) {
	case string:
		if t != "" {
			return []string{t}
		}
	case []string:
		return t
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Passes is THE rule: whether the object uuid of type typ, with the field
// values of one version, is in scope, given what view knows (see the
// package doc).
func (r *Rules) Passes(v View, typ mo.Type, uuid string, fields Fields) bool {
	if !r.Enabled() {
		return true
	}
	if fields == nil {
		fields = Map(nil)
	}
	units := func(name string) []string { return uuidsOf(fields.Get(name)) }
	switch typ {
	case mo.OrgUnit:
		return r.UnitPasses(v, uuid)
	case mo.Engagement, mo.Association, mo.Manager, mo.KLE, mo.Address, mo.ITUser, mo.RelatedUnit:
		us := units("org_unit")
		if typ == mo.RelatedUnit {
			us = units("org_units")
		}
		if len(us) == 0 {
			// Hangs on a person only (an address or IT user of a person).
			return r.personPasses(v, uuidsOf(fields.Get("person")))
		}
		for _, u := range us {
			if !r.UnitPasses(v, u) {
				return false
			}
		}
		return true
	case mo.Person:
		return r.personPasses(v, []string{uuid})
	case mo.Leave:
		return r.personPasses(v, uuidsOf(fields.Get("person")))
	}
	return true
}

func (r *Rules) personPasses(v View, persons []string) bool {
	if !r.persons {
		return true
	}
	for _, p := range persons {
		for _, u := range v.PersonUnits(p) {
			if r.UnitPasses(v, u) {
				return true
			}
		}
	}
	return false
}

// PassesObject is Passes for the version of o valid at t (false when none
// is): the form a sink that keeps whole objects uses.
func (r *Rules) PassesObject(v View, o *mo.Object, t time.Time) bool {
	if !r.Enabled() {
		return true
	}
	if o == nil {
		return false
	}
	ver := o.At(mo.Period{From: t})
	if ver == nil {
		return false
	}
	return r.Passes(v, o.Type, o.UUID, Map(ver.Fields))
}

// Fields gives the rules an object version's field values by MO field
// name (a sinks/view Version is one; Map adapts a mo.Version's map).
type Fields interface {
	Get(name string) any
}

// Map is a version's field map as Fields.
type Map map[string]any

// Get implements Fields.
func (m Map) Get(name string) any { return m[name] }
