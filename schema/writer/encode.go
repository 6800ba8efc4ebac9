package writer

import (
	"fmt"
	"sort"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Fields are MO field values by GraphQL name: string for text and uuid
// fields, []string for uuid lists, int64 (or int) for integers, nil to
// clear.
type Fields map[string]any

// Context is what encoding needs to know beyond the fields themselves.
type Context struct {
	// Organisation is the root organisation uuid every object belongs to.
	Organisation string
	// Scope is the scope of an address's address_type class (EMAIL, PHONE,
	// DAR, ...); it selects the URN prefix of the value.
	Scope string
}

// Encode returns the LoRa state of a new object of type spec valid during p.
func Encode(spec *mo.Spec, p mo.Period, f Fields, cx Context) (lora.State, error) {
	c := lora.ClassByName(spec.Class)
	if err := check(spec, f); err != nil {
		return lora.State{}, err
	}
	s := lora.State{Tils: []lora.TilsRow{{Period: p, Value: c.ActiveValue()}}}
	eg := lora.AttrRow{Period: p, Values: map[string]any{"brugervendtnoegle": ""}}
	for _, col := range c.Egenskaber {
		eg.Values[col.Name] = nil
	}
	if spec.Funktionsnavn != "" {
		eg.Values["funktionsnavn"] = spec.Funktionsnavn
	}
	s.Egenskaber = []lora.AttrRow{eg}
	if len(c.Udvidelser) > 0 {
		udv := lora.AttrRow{Period: p, Values: map[string]any{}}
		for _, col := range c.Udvidelser {
			udv.Values[col.Name] = nil
		}
		s.Udvidelser = []lora.AttrRow{udv}
	}
	if spec.OrgRelation != "" && cx.Organisation != "" {
		s.Relations = append(s.Relations, lora.RelationRow{Period: p, Kind: spec.OrgRelation, UUID: cx.Organisation, ObjektType: spec.OrgObjektType})
	}
	for i := range spec.Fields {
		fd := &spec.Fields[i]
		v, set := f[fd.Name]
		if fd.Source == mo.State {
			continue
		}
		if !set && !(fd.OrganisationIsNull && cx.Organisation != "") {
			continue
		}
		if err := put(&s, fd, p, v, cx); err != nil {
			return lora.State{}, err
		}
	}
	return s, nil
}

func check(spec *mo.Spec, f Fields) error {
	for name := range f {
		if spec.Field(name) == nil {
			return fmt.Errorf("%s has no field %q", spec.Type, name)
		}
	}
	return nil
}

// put stores value v of field fd during p into s, which must hold no value
// of fd during p.
func put(s *lora.State, fd *mo.Field, p mo.Period, v any, cx Context) error {
	switch fd.Source {
	case mo.Egenskab:
		setAttr(s.Egenskaber, fd.Column, p, attr(fd, v))
		return nil
	case mo.Udvidelse:
		setAttr(s.Udvidelser, fd.Column, p, attr(fd, v))
		return nil
	}
	// The objekt_type OS2mo writes: the field's filter, or its tag.
	row := lora.RelationRow{Period: p, Kind: fd.Rel, ObjektType: fd.ObjektType}
	if row.ObjektType == "" {
		row.ObjektType = fd.Tag
	}
	switch fd.Source {
	case mo.URN:
		if v == nil {
			return nil
		}
		row.URN = fd.Prefix + fmt.Sprint(v)
		s.Relations = append(s.Relations, row)
		return nil
	case mo.AddressValue:
		if v == nil {
			return nil
		}
		prefix, ok := mo.AddressPrefixes[cx.Scope]
		if !ok {
			return fmt.Errorf("address scope %q unknown: the address_type class needs a scope such as EMAIL, PHONE, DAR", cx.Scope)
		}
		row.URN = prefix + fmt.Sprint(v)
		row.ObjektType = cx.Scope
		s.Relations = append(s.Relations, row)
		return nil
	}
	switch x := v.(type) {
	case nil:
		if fd.OrganisationIsNull && cx.Organisation != "" {
			row.UUID = cx.Organisation
			s.Relations = append(s.Relations, row)
		}
	case string:
		if x == "" {
			return nil
		}
		row.UUID = x
		s.Relations = append(s.Relations, row)
	case []string:
		sorted := append([]string(nil), x...)
		sort.Strings(sorted)
		for _, u := range sorted {
			r := row
			r.UUID = u
			s.Relations = append(s.Relations, r)
		}
	default:
		return fmt.Errorf("field %s: %T is not a uuid or list of uuids", fd.Name, v)
	}
	return nil
}

func attr(fd *mo.Field, v any) any {
	if n, ok := v.(int); ok {
		return int64(n)
	}
	return v
}

// setAttr sets column col to v in the parts of rows that lie in p,
// splitting rows at p's bounds. rows is modified in place through the
// returned slice semantics of splitAttrs.
func setAttr(rows []lora.AttrRow, col string, p mo.Period, v any) {
	for i := range rows {
		if rows[i].Period.Overlaps(p) {
			rows[i].Values[col] = v
		}
	}
}

// splitAttrs cuts every row that straddles t into two rows at t.
func splitAttrs(rows []lora.AttrRow, t time.Time) []lora.AttrRow {
	var out []lora.AttrRow
	for _, r := range rows {
		if r.Period.From.Before(t) && t.Before(r.Period.To) {
			a, b := r, r
			a.Period.To, b.Period.From = t, t
			b.Values = copyMap(r.Values)
			out = append(out, a, b)
			continue
		}
		out = append(out, r)
	}
	return out
}

func splitTils(rows []lora.TilsRow, t time.Time) []lora.TilsRow {
	var out []lora.TilsRow
	for _, r := range rows {
		if r.Period.From.Before(t) && t.Before(r.Period.To) {
			a, b := r, r
			a.Period.To, b.Period.From = t, t
			out = append(out, a, b)
			continue
		}
		out = append(out, r)
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
