package writer

import (
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Clone returns a deep copy of s.
func Clone(s lora.State) lora.State {
	out := lora.State{
		Tils:      append([]lora.TilsRow(nil), s.Tils...),
		Relations: append([]lora.RelationRow(nil), s.Relations...),
	}
	for _, r := range s.Egenskaber {
		out.Egenskaber = append(out.Egenskaber, lora.AttrRow{Period: r.Period, Values: copyMap(r.Values)})
	}
	for _, r := range s.Udvidelser {
		out.Udvidelser = append(out.Udvidelser, lora.AttrRow{Period: r.Period, Values: copyMap(r.Values)})
	}
	return out
}

// Apply returns the state after setting fields f during p, as OS2mo's edit
// does: attribute and state rows are split at p's bounds and the fields
// set inside p; relation rows of a changed kind are cut out of p and the new
// targets inserted for p (a 0..n kind gets the whole new set). p is clipped
// to the object's extent in validity time.
func Apply(spec *mo.Spec, cur lora.State, p mo.Period, f Fields, cx Context) (lora.State, error) {
	if err := check(spec, f); err != nil {
		return lora.State{}, err
	}
	s := Clone(cur)
	p = p.Intersect(extent(s))
	if p.Empty() {
		return lora.State{}, fmt.Errorf("%s: the change's validity lies outside the object's validity", spec.Type)
	}
	for _, t := range []time.Time{p.From, p.To} {
		if mo.IsNegInf(t) || mo.IsPosInf(t) {
			continue
		}
		s.Tils = splitTils(s.Tils, t)
	}
	for name, v := range f {
		fd := spec.Field(name)
		switch fd.Source {
		case mo.State:
			return lora.State{}, fmt.Errorf("%s: %s cannot be edited; terminate instead", spec.Type, name)
		case mo.Egenskab, mo.Udvidelse:
			rows := &s.Egenskaber
			if fd.Source == mo.Udvidelse {
				rows = &s.Udvidelser
			}
			for _, t := range []time.Time{p.From, p.To} {
				*rows = splitAttrs(*rows, t)
			}
			setAttr(*rows, fd.Column, p, attr(fd, v))
		default:
			s.Relations = cutRelations(s.Relations, fd, p)
			if err := put(&s, fd, p, v, cx); err != nil {
				return lora.State{}, err
			}
		}
	}
	return s, nil
}

// Terminate returns the state of an object that ends after lastDay: its
// state rows say Inaktiv (IkkePubliceret) from the next day on, while the
// attribute and relation rows stay as they are, as OS2mo does.
func Terminate(c *lora.Class, cur lora.State, lastDay mo.Date) lora.State {
	end := lastDay.Day().AddDate(0, 0, 1)
	s := Clone(cur)
	s.Tils = splitTils(s.Tils, end)
	var tils []lora.TilsRow
	inactive := lora.TilsRow{Period: mo.Period{From: end, To: mo.PosInf}, Value: c.TilsValues()[1]}
	for _, r := range s.Tils {
		if !r.Period.From.Before(end) {
			continue
		}
		tils = append(tils, r)
	}
	s.Tils = append([]lora.TilsRow{inactive}, tils...)
	return s
}

// cutRelations removes the part within p of the relation rows that hold
// field fd.
func cutRelations(rows []lora.RelationRow, fd *mo.Field, p mo.Period) []lora.RelationRow {
	var out []lora.RelationRow
	for _, r := range rows {
		if r.Kind != fd.Rel || !holds(fd, &r) || !r.Period.Overlaps(p) {
			out = append(out, r)
			continue
		}
		if r.Period.From.Before(p.From) {
			a := r
			a.Period.To = p.From
			out = append(out, a)
		}
		if p.To.Before(r.Period.To) {
			b := r
			b.Period.From = p.To
			out = append(out, b)
		}
	}
	return out
}

// holds reports whether relation row r stores field fd (kinds shared by
// several fields, like opgaver or tilknyttedefunktioner, are told apart by
// objekt_type).
func holds(fd *mo.Field, r *lora.RelationRow) bool {
	if fd.ObjektType == "" || fd.Source == mo.AddressValue {
		return true
	}
	return r.ObjektType == fd.ObjektType
}

// extent is the span of validity time the object's state rows cover.
func extent(s lora.State) mo.Period {
	if len(s.Tils) == 0 {
		return mo.Period{}
	}
	p := s.Tils[0].Period
	for _, r := range s.Tils[1:] {
		if r.Period.From.Before(p.From) {
			p.From = r.Period.From
		}
		if r.Period.To.After(p.To) {
			p.To = r.Period.To
		}
	}
	return p
}
