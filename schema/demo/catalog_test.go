package demo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// catalogDiffs compares two catalogs as sets of printed entries.
func catalogDiffs(want, got *Catalog) []string {
	var out []string
	cmp := func(name string, a, b []string) {
		sort.Strings(a)
		sort.Strings(b)
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			for i := 0; i < len(a) && i < len(b); i++ {
				if a[i] != b[i] {
					out = append(out, fmt.Sprintf("%s: %d vs %d entries; first difference:\n  want %s\n  got  %s", name, len(a), len(b), a[i], b[i]))
					return
				}
			}
			out = append(out, fmt.Sprintf("%s: %d vs %d entries", name, len(a), len(b)))
		}
	}
	str := func(xs ...any) string {
		var b strings.Builder
		for _, x := range xs {
			switch v := x.(type) {
			case *mo.Date:
				if v == nil {
					b.WriteString("nil ")
					continue
				}
				b.WriteString(string(*v) + " ")
			default:
				fmt.Fprintf(&b, "%v ", v)
			}
		}
		return b.String()
	}
	each := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cmp("organisation", []string{want.Organisation}, []string{got.Organisation})
	cmp("facets", each(len(want.Facets), func(int) string { return "" }), each(len(got.Facets), func(int) string { return "" }))
	var wk, gk []string
	for f, ks := range want.Classes {
		for _, k := range ks {
			wk = append(wk, str(f, k))
		}
	}
	for f, ks := range got.Classes {
		for _, k := range ks {
			gk = append(gk, str(f, k))
		}
	}
	cmp("classes", wk, gk)
	cmp("persons", each(len(want.Persons), func(i int) string { p := want.Persons[i]; return str(p.UUID, p.From, p.To, p.GivenName, p.Surname) }),
		each(len(got.Persons), func(i int) string { p := got.Persons[i]; return str(p.UUID, p.From, p.To, p.GivenName, p.Surname) }))
	cmp("units", each(len(want.Units), func(i int) string {
		u := want.Units[i]
		return str(u.UUID, u.From, u.To, u.Name, u.UserKey, u.Parent, u.Level)
	}),
		each(len(got.Units), func(i int) string {
			u := got.Units[i]
			return str(u.UUID, u.From, u.To, u.Name, u.UserKey, u.Parent, u.Level)
		}))
	cmp("engagements", each(len(want.Engagements), func(i int) string {
		e := want.Engagements[i]
		return str(e.UUID, e.From, e.To, e.Person, e.Unit, e.JobFunction)
	}),
		each(len(got.Engagements), func(i int) string {
			e := got.Engagements[i]
			return str(e.UUID, e.From, e.To, e.Person, e.Unit, e.JobFunction)
		}))
	cmp("itusers", each(len(want.ITUsers), func(i int) string {
		e := want.ITUsers[i]
		return str(e.UUID, e.From, e.To, e.UserKey, e.ITSystem, e.Person, sortedCopy(e.Engagements))
	}),
		each(len(got.ITUsers), func(i int) string {
			e := got.ITUsers[i]
			return str(e.UUID, e.From, e.To, e.UserKey, e.ITSystem, e.Person, e.Engagements)
		}))
	cmp("managers", each(len(want.Managers), func(i int) string { e := want.Managers[i]; return str(e.UUID, e.From, e.To, e.Unit, e.Person) }),
		each(len(got.Managers), func(i int) string { e := got.Managers[i]; return str(e.UUID, e.From, e.To, e.Unit, e.Person) }))
	cmp("addresses", each(len(want.Addresses), func(i int) string {
		e := want.Addresses[i]
		return str(e.UUID, e.From, e.To, e.Scope, e.AddressType, e.Person, e.Unit, e.Engagement, e.ITUser)
	}),
		each(len(got.Addresses), func(i int) string {
			e := got.Addresses[i]
			return str(e.UUID, e.From, e.To, e.Scope, e.AddressType, e.Person, e.Unit, e.Engagement, e.ITUser)
		}))
	spans := func(ss []Span) []string {
		return each(len(ss), func(i int) string { return str(ss[i].UUID, ss[i].From, ss[i].To) })
	}
	cmp("associations", spans(want.Associations), spans(got.Associations))
	cmp("leaves", spans(want.Leaves), spans(got.Leaves))
	cmp("kles", spans(want.KLEs), spans(got.KLEs))
	cmp("related units", spans(want.RelatedUnits), spans(got.RelatedUnits))
	cmp("role bindings", spans(want.RoleBindings), spans(got.RoleBindings))
	cmp("owners", spans(want.Owners), spans(got.Owners))
	return out
}

func sortedCopy(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}
