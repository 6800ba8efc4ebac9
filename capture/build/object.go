package build

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Catalog answers the two questions about other objects that building an MO
// object needs. Implementations must be safe for use by one goroutine at a
// time and must not block on I/O for long; unknown uuids return the zero
// value.
type Catalog interface {
	// FacetOfClass returns the user_key of the facet that class belongs to.
	FacetOfClass(class string) string
	// IsOrganisation reports whether uuid is a root organisation.
	IsOrganisation(uuid string) bool
}

// PermanentError marks input that can never become an MO object (unknown
// funktionsnavn, broken relation). Such registrations go to the dead-letter
// topic; retrying cannot help.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return e.Reason }

func permanent(format string, args ...any) error {
	return &PermanentError{Reason: fmt.Sprintf(format, args...)}
}

// SpecFor returns the MO type of an object of class c with state s: the
// class's own type, or for organisationfunktion the type its funktionsnavn
// names. A state without rows (a deleted object) of an organisationfunktion
// has no funktionsnavn; then nil, nil is returned and the caller must know
// the type from the object's earlier registrations.
func SpecFor(c *lora.Class, s *lora.State) (*mo.Spec, error) {
	if c.Name != lora.Organisationfunktion.Name {
		spec := mo.SpecOfClass(c.Name)
		if spec == nil {
			return nil, permanent("class %s has no MO type", c.Name)
		}
		return spec, nil
	}
	var name string
	for _, r := range s.Egenskaber {
		if v, ok := r.Values["funktionsnavn"].(string); ok && v != "" {
			if name != "" && v != name {
				return nil, permanent("funktionsnavn changes over validity time (%q, %q)", name, v)
			}
			name = v
		}
	}
	if name == "" {
		if len(s.Egenskaber) == 0 {
			return nil, nil
		}
		return nil, permanent("organisationfunktion without funktionsnavn")
	}
	spec := mo.SpecOfFunktionsnavn(name)
	if spec == nil {
		return nil, permanent("unknown funktionsnavn %q", name)
	}
	return spec, nil
}

// Object builds the MO object of type spec from the complete state of one
// registration: the periods in which the object is active (Aktiv or
// Publiceret), cut wherever any field changes, with adjacent equal periods
// merged.
func Object(spec *mo.Spec, c *lora.Class, uuid string, s *lora.State, cat Catalog) (*mo.Object, error) {
	obj := &mo.Object{Type: spec.Type, UUID: uuid, Validities: []mo.Version{}}
	active := activePeriods(c, s)
	if len(active) == 0 {
		return obj, nil
	}
	cuts := cutPoints(s, active)
	for i := 0; i+1 < len(cuts); i++ {
		seg := mo.Period{From: cuts[i], To: cuts[i+1]}
		if !inAny(active, seg.From) {
			continue
		}
		fields := make(map[string]any, len(spec.Fields))
		for fi := range spec.Fields {
			v, err := value(&spec.Fields[fi], s, seg.From, cat)
			if err != nil {
				return nil, fmt.Errorf("%s %s field %s: %w", spec.Type, uuid, spec.Fields[fi].Name, err)
			}
			fields[spec.Fields[fi].Name] = v
		}
		if n := len(obj.Validities); n > 0 {
			last := &obj.Validities[n-1]
			if last.Period.To.Equal(seg.From) && sameFields(last.Fields, fields) {
				last.Period.To = seg.To
				last.Validity = mo.ValidityOf(last.Period)
				continue
			}
		}
		obj.Validities = append(obj.Validities, mo.Version{Period: seg, Validity: mo.ValidityOf(seg), Fields: fields})
	}
	return obj, nil
}

func activePeriods(c *lora.Class, s *lora.State) []mo.Period {
	want := c.ActiveValue()
	var ps []mo.Period
	for _, t := range s.Tils {
		if t.Value == want && !t.Period.Empty() {
			ps = append(ps, t.Period)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].From.Before(ps[j].From) })
	return ps
}

func inAny(ps []mo.Period, t time.Time) bool {
	for _, p := range ps {
		if p.Contains(t) {
			return true
		}
	}
	return false
}

// cutPoints returns every period boundary of the state that lies within the
// active periods, plus the active periods' own bounds, sorted and unique.
func cutPoints(s *lora.State, active []mo.Period) []time.Time {
	var ts []time.Time
	add := func(p mo.Period) { ts = append(ts, p.From, p.To) }
	for _, p := range active {
		add(p)
	}
	for _, r := range s.Egenskaber {
		add(r.Period)
	}
	for _, r := range s.Udvidelser {
		add(r.Period)
	}
	for _, r := range s.Relations {
		add(r.Period)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	out := ts[:0]
	for _, t := range ts {
		if len(out) > 0 && out[len(out)-1].Equal(t) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func attrAt(rows []lora.AttrRow, t time.Time) map[string]any {
	for i := range rows {
		if rows[i].Period.Contains(t) {
			return rows[i].Values
		}
	}
	return nil
}

func value(f *mo.Field, s *lora.State, t time.Time, cat Catalog) (any, error) {
	v, err := fieldValue(f, s, t, cat)
	if err != nil || f.Legacy == nil || !mo.Equal(v, nil) {
		return v, err
	}
	return fieldValue(f.Legacy, s, t, cat)
}

// hasRelation reports whether s has a relation row of kind at t.
func hasRelation(s *lora.State, kind string, t time.Time) bool {
	for i := range s.Relations {
		if s.Relations[i].Kind == kind && s.Relations[i].Period.Contains(t) {
			return true
		}
	}
	return false
}

func fieldValue(f *mo.Field, s *lora.State, t time.Time, cat Catalog) (any, error) {
	if f.RequiresRel != "" && !hasRelation(s, f.RequiresRel, t) {
		if f.Kind == mo.UUIDs {
			return []string{}, nil
		}
		return nil, nil
	}
	switch f.Source {
	case mo.Egenskab:
		return attrValue(f, attrAt(s.Egenskaber, t)[f.Column])
	case mo.Udvidelse:
		return attrValue(f, attrAt(s.Udvidelser, t)[f.Column])
	case mo.State:
		for _, r := range s.Tils {
			if r.Period.Contains(t) {
				return r.Value, nil
			}
		}
		return nil, nil
	}
	var uuids []string
	for i := range s.Relations {
		r := &s.Relations[i]
		if r.Kind != f.Rel || !r.Period.Contains(t) || !matches(f, r, cat) {
			continue
		}
		switch f.Source {
		case mo.URN:
			return strings.TrimPrefix(r.URN, f.Prefix), nil
		case mo.AddressValue:
			return addressValue(r), nil
		}
		if r.UUID == "" {
			return nil, permanent("relation %s points at urn %q, want a uuid", r.Kind, r.URN)
		}
		if f.OrganisationIsNull && cat != nil && cat.IsOrganisation(r.UUID) {
			continue
		}
		uuids = append(uuids, r.UUID)
	}
	switch {
	case f.Kind == mo.UUIDs:
		if uuids == nil {
			return []string{}, nil
		}
		sort.Strings(uuids)
		return uuids, nil
	case len(uuids) == 0:
		return nil, nil
	case len(uuids) > 1:
		// A 0..1 field with several targets at once is broken data.
		return nil, permanent("relation %s has %d targets at %s, want at most one", f.Rel, len(uuids), t.Format(time.DateOnly))
	}
	return uuids[0], nil
}

// matches applies a field's objekt_type filter to a relation row.
func matches(f *mo.Field, r *lora.RelationRow, cat Catalog) bool {
	if f.ObjektType == "" {
		return true
	}
	if r.ObjektType == f.ObjektType {
		return true
	}
	if r.ObjektType == "" && f.Facet != "" && cat != nil {
		return cat.FacetOfClass(r.UUID) == f.Facet
	}
	return false
}

func addressValue(r *lora.RelationRow) string {
	if p, ok := mo.AddressPrefixes[r.ObjektType]; ok && strings.HasPrefix(r.URN, p) {
		return strings.TrimPrefix(r.URN, p)
	}
	for _, p := range mo.AddressPrefixes {
		if strings.HasPrefix(r.URN, p) {
			return strings.TrimPrefix(r.URN, p)
		}
	}
	return r.URN
}

func attrValue(f *mo.Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.Kind {
	case mo.Int:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case int32:
			return int64(n), nil
		}
		return nil, permanent("column %s holds %T, want an integer", f.Column, v)
	case mo.Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, permanent("column %s holds %T, want a boolean", f.Column, v)
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

func sameFields(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !mo.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
