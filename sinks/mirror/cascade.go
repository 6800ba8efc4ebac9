package mirror

import (
	"context"
	"sort"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// affected returns every object whose rows must be recomputed because the
// objects in changed (new state; nil = deleted; prev holds the state
// before) or due (their day's version changed at midnight) changed:
//
//   - the objects themselves;
//   - a class: every object whose rows show it (its name fills *_titel,
//     its scope and user_key decide primær_boolean and adressetype_scope),
//     found in the export tables' *_uuid columns, and the associations
//     and IT users whose primary or dynamic class it is (mocdc_refs); a
//     facet: its classes (facet_bvn). Rows that are not there today
//     (actual mode) are computed with the class as it is when they come;
//   - actual mode: a unit: its descendants (organisatorisk_sti and
//     fungerende_leder_uuid depend on every ancestor); a manager: the
//     units it is or was the manager of, and their descendants
//     (leder_uuid, fungerende_leder_uuid). (engagementer.primær_boolean
//     depends on the engagement's own primary class only.)
//
// Reverse lookups read mocdc_refs, which already holds the batch's own
// references.
func affected(ctx context.Context, st *state, mode Mode, changed, prev map[objKey]*mo.Object, due []objKey) (map[objKey]bool, error) {
	out := map[objKey]bool{}
	var classes, facets, units []string
	note := func(k objKey) {
		out[k] = true
		switch k.typ {
		case mo.Class:
			classes = append(classes, k.uuid)
		case mo.Facet:
			facets = append(facets, k.uuid)
		case mo.OrgUnit:
			units = append(units, k.uuid)
		}
	}
	for k := range changed {
		note(k)
	}
	for _, k := range due {
		note(k)
	}
	if err := st.loadReferrers(ctx, "", classes); err != nil {
		return nil, err
	}
	for _, c := range classes {
		for _, k := range st.referrers("", c) {
			out[k] = true
		}
	}
	users, err := st.classUsers(ctx, append(classes, facets...))
	if err != nil {
		return nil, err
	}
	for _, k := range users {
		out[k] = true
	}
	if mode != Actual {
		return out, nil
	}

	// Changed managers: the units they manage (in any period, before and
	// after). A manager recomputed for a class rename changes no unit.
	var managers []objKey
	for k := range changed {
		if k.typ == mo.Manager {
			managers = append(managers, k)
		}
	}
	for _, k := range due {
		if k.typ == mo.Manager {
			managers = append(managers, k)
		}
	}
	if err := st.load(ctx, managers); err != nil {
		return nil, err
	}
	for _, k := range managers {
		for _, o := range []*mo.Object{prev[k], st.get(k)} {
			for _, u := range valuesOf(o, "org_unit") {
				out[objKey{mo.OrgUnit, u}] = true
				units = append(units, u)
			}
		}
	}

	// Units: all descendants, level by level.
	seen := map[string]bool{}
	frontier := sortedUnique(units)
	for len(frontier) > 0 {
		for _, u := range frontier {
			seen[u] = true
		}
		if err := st.loadReferrers(ctx, mo.OrgUnit, frontier); err != nil {
			return nil, err
		}
		var next []string
		for _, u := range frontier {
			for _, k := range st.referrers(mo.OrgUnit, u) {
				out[k] = true
				if !seen[k.uuid] {
					seen[k.uuid] = true
					next = append(next, k.uuid)
				}
			}
		}
		frontier = next
	}

	return out, nil
}

// valuesOf lists the distinct values of a UUID field in any period.
func valuesOf(o *mo.Object, name string) []string {
	if o == nil {
		return nil
	}
	var out []string
	for _, v := range o.Validities {
		out = append(out, uuidsOf(v.Fields[name])...)
	}
	return sortedUnique(out)
}

// sortedKeys returns the keys of a set in a stable order.
func sortedKeys(set map[objKey]bool) []objKey {
	out := make([]objKey, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].typ != out[j].typ {
			return out[i].typ < out[j].typ
		}
		return out[i].uuid < out[j].uuid
	})
	return out
}
