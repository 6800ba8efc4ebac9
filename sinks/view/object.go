package view

import (
	"math"
	"sort"
	"time"
	"unique"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Object is the compact state of one MO object in the view: every validity
// period of its latest registration, with the field values of each.
//
// Objects are immutable once in the view: an update replaces the whole
// Object, so a pointer handed out by a lookup stays consistent (it is the
// state as of the moment of the lookup) and may be read from any goroutine.
type Object struct {
	Type mo.Type
	UUID string
	// Partition is the partition of its object topic the object was read
	// from (its key's partition); sinks use it to split owners between
	// instances (see Owned).
	Partition int32
	// Versions are in validity order and do not overlap.
	Versions []Version
}

// Version is the state of an object during one validity period. Values are
// stored positionally, in the order of the type's mo.Spec fields, with
// strings interned, so a version costs a slice of small headers instead of
// a map.
type Version struct {
	// from and to are the period [from, to) in Unix seconds; math.MinInt64
	// and math.MaxInt64 stand for the infinities.
	from, to int64
	spec     *mo.Spec
	// vals holds the set fields only, by their index in spec.Fields, in
	// index order (most versions set under half of their type's fields).
	vals []fieldVal
	// extra holds fields that are not in the type's spec, e.g. the
	// policy's "export_title" and "withheld" (capture/policy).
	extra []extraField
}

type fieldVal struct {
	idx uint8
	val any
}

type extraField struct {
	name string
	val  any
}

func unixOf(t time.Time) int64 {
	if mo.IsNegInf(t) {
		return math.MinInt64
	}
	if mo.IsPosInf(t) {
		return math.MaxInt64
	}
	return t.Unix()
}

func timeOf(s int64) time.Time {
	switch s {
	case math.MinInt64:
		return mo.NegInf
	case math.MaxInt64:
		return mo.PosInf
	}
	return time.Unix(s, 0).In(mo.Location)
}

// compact turns an MO object into its view form.
func compact(o *mo.Object, partition int32) *Object {
	spec := mo.SpecOf(o.Type)
	// Every string kept is interned: a decoder may hand out strings that
	// point into the whole event's buffer (goccy/go-json does), which
	// would keep every event alive.
	c := &Object{Type: mo.Type(intern(string(o.Type))), UUID: intern(o.UUID), Partition: partition, Versions: make([]Version, len(o.Validities))}
	for i, v := range o.Validities {
		cv := Version{from: unixOf(v.Period.From), to: unixOf(v.Period.To), spec: spec}
		if spec != nil {
			n := 0
			for _, f := range spec.Fields {
				if v.Fields[f.Name] != nil {
					n++
				}
			}
			cv.vals = make([]fieldVal, 0, n)
			for j, f := range spec.Fields {
				if x := compactValue(v.Fields[f.Name]); x != nil {
					cv.vals = append(cv.vals, fieldVal{uint8(j), x})
				}
			}
			for k, x := range v.Fields {
				if fieldIndex(spec, k) < 0 && x != nil {
					cv.extra = append(cv.extra, extraField{intern(k), compactValue(x)})
				}
			}
			sort.Slice(cv.extra, func(a, b int) bool { return cv.extra[a].name < cv.extra[b].name })
		}
		c.Versions[i] = cv
	}
	return c
}

func compactValue(x any) any {
	switch t := x.(type) {
	case string:
		if t == "" {
			return nil
		}
		return intern(t)
	case []string:
		if len(t) == 0 {
			return nil
		}
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = intern(s)
		}
		return out
	}
	return x
}

// intern returns the canonical copy of s; the runtime frees it when no
// object uses it any more.
func intern(s string) string { return unique.Make(s).Value() }

// At returns the version valid at t, or nil.
func (o *Object) At(t time.Time) *Version {
	if o == nil {
		return nil
	}
	s := t.Unix()
	for i := range o.Versions {
		v := &o.Versions[i]
		if v.from <= s && s < v.to {
			return v
		}
	}
	return nil
}

// ValidFrom returns the version valid at t or, if none, the first version
// that starts after t (a future-dated object), or nil (also for a nil
// Object: a lookup that found nothing).
func (o *Object) ValidFrom(t time.Time) *Version {
	if o == nil {
		return nil
	}
	if v := o.At(t); v != nil {
		return v
	}
	s := t.Unix()
	for i := range o.Versions {
		if o.Versions[i].from > s {
			return &o.Versions[i]
		}
	}
	return nil
}

// Last returns the last version, or nil for an object without versions.
func (o *Object) Last() *Version {
	if o == nil || len(o.Versions) == 0 {
		return nil
	}
	return &o.Versions[len(o.Versions)-1]
}

// Period returns the version's validity in store time.
func (v *Version) Period() mo.Period { return mo.Period{From: timeOf(v.from), To: timeOf(v.to)} }

// Validity returns the version's validity as OS2mo shows it (first and last
// day, nil when open).
func (v *Version) Validity() mo.Validity { return mo.ValidityOf(v.Period()) }

// Get returns the value of field name (see mo.Kind for the Go types; a
// field outside the type's spec, like the policy's "export_title", as
// decoded), or nil when it is unset.
func (v *Version) Get(name string) any {
	if v == nil || v.spec == nil {
		return nil
	}
	i := fieldIndex(v.spec, name)
	if i < 0 {
		for _, e := range v.extra {
			if e.name == name {
				return e.val
			}
		}
		return nil
	}
	for _, f := range v.vals {
		if int(f.idx) == i {
			return f.val
		}
	}
	return nil
}

// Str returns a Text or UUID field, "" when unset.
func (v *Version) Str(name string) string {
	s, _ := v.Get(name).(string)
	return s
}

// UUIDs returns a UUIDs field (sorted), nil when unset. A UUID field is
// returned as a list of one.
func (v *Version) UUIDs(name string) []string {
	switch t := v.Get(name).(type) {
	case []string:
		return t
	case string:
		return []string{t}
	}
	return nil
}

// Bool returns a Bool field, false when unset.
func (v *Version) Bool(name string) bool {
	b, _ := v.Get(name).(bool)
	return b
}

// Int returns an Int field, 0 when unset.
func (v *Version) Int(name string) int64 {
	n, _ := v.Get(name).(int64)
	return n
}

// Fields returns the version's set fields as a map (a copy), as mo.Version
// holds them.
func (v *Version) Fields() map[string]any {
	out := map[string]any{}
	if v == nil || v.spec == nil {
		return out
	}
	for _, f := range v.vals {
		out[v.spec.Fields[f.idx].Name] = f.val
	}
	for _, e := range v.extra {
		out[e.name] = e.val
	}
	return out
}

// refers reports whether field name of v is target or lists it.
func (v *Version) refers(name, target string) bool {
	switch t := v.Get(name).(type) {
	case string:
		return t == target
	case []string:
		for _, s := range t {
			if s == target {
				return true
			}
		}
	}
	return false
}

var fieldIndexes = func() map[*mo.Spec]map[string]int {
	m := map[*mo.Spec]map[string]int{}
	for _, t := range mo.Types {
		s := mo.SpecOf(t)
		idx := make(map[string]int, len(s.Fields))
		for i, f := range s.Fields {
			idx[f.Name] = i
		}
		m[s] = idx
	}
	return m
}()

func fieldIndex(s *mo.Spec, name string) int {
	if i, ok := fieldIndexes[s][name]; ok {
		return i
	}
	return -1
}
