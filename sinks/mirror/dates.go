package mirror

import (
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// How startdato and slutdato are computed (docs/mirror.md, "Dates").
//
// Historic mode writes one row per version of the object: capture cuts the
// timeline at every boundary of every LoRa row and merges adjacent periods
// whose fields are all equal, which is OS2mo's historic export after LoRa's
// konsolider.
//
// Actual-state mode follows OS2mo's export, which reads each object as
// GraphQL's `current` does: LoRa merges adjacent rows with identical
// values (konsolider), drops the rows that are not valid now, and MO cuts
// the period only at the boundaries of the rows that remain. So startdato
// is the latest start and slutdato the day before the earliest end among
// the object's rows valid today. From the versions the mirror has, a row
// valid today is one of:
//
//   - the state (Aktiv/Publiceret) row: the run of contiguous versions
//     around today;
//   - an attribute column or 0..1 relation with a value today: the run of
//     contiguous versions around today in which it has that same value;
//   - each target of a 0..n relation today: the run of contiguous versions
//     around today in which the set contains it.
//
// A field without a value today (a person link that starts next year, an
// engagement link that ended last month) is no row valid today and cuts
// nothing; a value today that ends next week (the old name before a
// rename dated next week) does.

// span is the (startdato, slutdato) of the row of version v of o.
func (d *deriver) span(o *mo.Object, v *mo.Version) (string, string) {
	if d.mode == Historic {
		return dateOf(v.Validity.From, openStart), dateOf(v.Validity.To, openEnd)
	}
	from, to := currentPeriod(o, v)
	cur := mo.ValidityOf(mo.Period{From: from, To: to})
	return dateOf(cur.From, openStart), dateOf(cur.To, openEnd)
}

// currentPeriod is the period OS2mo's `current` read gives version v of o.
func currentPeriod(o *mo.Object, v *mo.Version) (from, to time.Time) {
	vs := o.Validities
	i := -1
	for k := range vs {
		if &vs[k] == v {
			i = k
		}
	}
	if i < 0 {
		return v.Period.From, v.Period.To
	}
	contiguous := func(a, b int) bool { return vs[a].Period.To.Equal(vs[b].Period.From) }
	// The state row: contiguous versions around today.
	lo, hi := i, i
	for lo > 0 && contiguous(lo-1, lo) {
		lo--
	}
	for hi+1 < len(vs) && contiguous(hi, hi+1) {
		hi++
	}
	from, to = vs[lo].Period.From, vs[hi].Period.To
	// narrow to the run [a, b] of versions around i in which has holds.
	narrow := func(has func(*mo.Version) bool) {
		a, b := i, i
		for a > lo && has(&vs[a-1]) {
			a--
		}
		for b < hi && has(&vs[b+1]) {
			b++
		}
		if f := vs[a].Period.From; f.After(from) {
			from = f
		}
		if t := vs[b].Period.To; t.Before(to) {
			to = t
		}
	}
	for name, x := range v.Fields {
		x = loraValue(x)
		switch t := x.(type) {
		case nil:
			if name == "parent" && o.Type == mo.OrgUnit {
				// A top unit's parent is the root organisation in LoRa
				// (nil in MO): that overordnet row is valid today too.
				narrow(func(w *mo.Version) bool { return loraValue(w.Fields[name]) == nil })
			}
		case []string:
			for _, e := range t {
				narrow(func(w *mo.Version) bool { return containsString(uuidsOf(w.Fields[name]), e) })
			}
		default:
			narrow(func(w *mo.Version) bool { return mo.Equal(loraValue(w.Fields[name]), x) })
		}
	}
	return from, to
}

// loraValue is a field value as LoRa's read compares it: OS2mo drops
// falsy values (0, "", false, an empty list) before merging rows, so they
// are no value.
func loraValue(x any) any {
	switch t := x.(type) {
	case string:
		if t == "" {
			return nil
		}
	case int64:
		if t == 0 {
			return nil
		}
	case bool:
		if !t {
			return nil
		}
	case []string:
		if len(t) == 0 {
			return nil
		}
	}
	return x
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
