package mo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// Object is one MO object as of one registration: its whole history in
// validity time, as a list of periods with the MO field values that hold in
// each. Periods are in order and do not overlap; adjacent periods differ in
// at least one field. A deleted object has no periods.
type Object struct {
	Type       Type      `json:"type"`
	UUID       string    `json:"uuid"`
	Validities []Version `json:"validities"`
}

// Version is the state of an object during one validity period.
type Version struct {
	Validity Validity
	// Period is the same validity in store time; not serialised.
	Period Period
	// Fields maps GraphQL field names to values (see Kind); a field that is
	// unset in this period is absent or nil.
	Fields map[string]any
}

// MarshalJSON writes the version as OS2mo shows it: the fields next to
// "validity", keys sorted, unset fields as null.
func (v Version) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(v.Fields)+1)
	for k, x := range v.Fields {
		m[k] = x
	}
	m["validity"] = v.Validity
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote. UUID lists come back as
// []string and numbers as int64 when whole.
func (v *Version) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("version is null")
	}
	return v.FromMap(m)
}

// FromMap sets v from a version decoded into generic values (as
// UnmarshalJSON reads it; decoders of whole events use it to decode each
// byte once). It takes over m.
func (v *Version) FromMap(m map[string]any) error {
	*v = Version{}
	val, ok := m["validity"]
	if ok {
		delete(m, "validity")
		vm, isMap := val.(map[string]any)
		if val != nil && !isMap {
			return fmt.Errorf("validity: want an object, got %T", val)
		}
		var err error
		if v.Validity.From, err = dateField(vm, "from"); err != nil {
			return err
		}
		if v.Validity.To, err = dateField(vm, "to"); err != nil {
			return err
		}
		if err := v.Validity.Validate(); err != nil {
			return err
		}
		v.Period = v.Validity.Period()
	}
	for k, x := range m {
		m[k] = normalise(x)
	}
	v.Fields = m
	return nil
}

// dateField reads an optional date of a decoded validity.
func dateField(m map[string]any, name string) (*Date, error) {
	switch x := m[name].(type) {
	case nil:
		return nil, nil
	case string:
		d := Date(x)
		return &d, nil
	default:
		return nil, fmt.Errorf("validity: %s must be a date string or null, got %T", name, x)
	}
}

func normalise(x any) any {
	switch t := x.(type) {
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return x
			}
			out = append(out, s)
		}
		return out
	}
	return x
}

// At returns the version valid at day d, or nil.
func (o *Object) At(p Period) *Version {
	for i := range o.Validities {
		if o.Validities[i].Period.Contains(p.From) {
			return &o.Validities[i]
		}
	}
	return nil
}

// Changed lists the names of the fields whose values differ between prev
// and next in any part of validity time where both are valid, sorted.
// "validity" is listed when the periods in which the object is valid
// differ (a termination changes only that). A nil prev (a create) lists
// every field that is set somewhere in next.
func Changed(prev, next *Object) []string {
	set := map[string]bool{}
	if prev == nil {
		prev = &Object{}
	}
	if next == nil {
		next = &Object{}
	}
	if !samePeriods(prev, next) {
		set["validity"] = true
	}
	// Compare field by field over the union of boundaries.
	bounds := boundaries(prev, next)
	for i := 0; i+1 < len(bounds); i++ {
		seg := Period{From: bounds[i], To: bounds[i+1]}
		a, b := prev.At(seg), next.At(seg)
		if b == nil || (a == nil && len(prev.Validities) > 0) {
			// Valid on one side only: that is the validity change, not a
			// change of its fields.
			continue
		}
		for _, k := range fieldNames(a, b) {
			if !Equal(get(a, k), get(b, k)) {
				set[k] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func get(v *Version, k string) any {
	if v == nil {
		return nil
	}
	return v.Fields[k]
}

func fieldNames(vs ...*Version) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vs {
		if v == nil {
			continue
		}
		for k := range v.Fields {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

func samePeriods(a, b *Object) bool {
	merge := func(o *Object) []Period {
		var ps []Period
		for _, v := range o.Validities {
			if n := len(ps); n > 0 && ps[n-1].To.Equal(v.Period.From) {
				ps[n-1].To = v.Period.To
				continue
			}
			ps = append(ps, v.Period)
		}
		return ps
	}
	pa, pb := merge(a), merge(b)
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		if !pa[i].From.Equal(pb[i].From) || !pa[i].To.Equal(pb[i].To) {
			return false
		}
	}
	return true
}

func boundaries(objs ...*Object) []time.Time {
	var ts []time.Time
	for _, o := range objs {
		for _, v := range o.Validities {
			ts = append(ts, v.Period.From, v.Period.To)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	out := ts[:0]
	for _, t := range ts {
		if len(out) == 0 || !out[len(out)-1].Equal(t) {
			out = append(out, t)
		}
	}
	return out
}

// Equal reports whether two field values are the same MO value. Lists
// compare as sets (they are kept sorted).
func Equal(a, b any) bool {
	if a == nil || b == nil {
		// An empty list is no value either.
		empty := func(x any) bool { l, ok := x.([]string); return x == nil || ok && len(l) == 0 }
		return empty(a) && empty(b)
	}
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		if !ok || len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
