package mirror

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// deriver computes the export rows of a set of objects from the state
// tables, as of one day.
type deriver struct {
	st    *state
	sc    *schema
	mode  Mode
	today time.Time // local midnight
	// rules filter rows by scope (scope.go); nil lets everything pass.
	rules *scope.Rules
	// fresh are objects new in this batch: they own no rows yet.
	fresh map[objKey]bool
	// memos
	leder map[string]string
}

func newDeriver(st *state, sc *schema, today mo.Date) *deriver {
	return &deriver{st: st, sc: sc, mode: sc.mode, today: today.Day(), fresh: map[objKey]bool{},
		leder: map[string]string{}}
}

// current is o's version valid today, or nil.
func (d *deriver) current(o *mo.Object) *mo.Version {
	if o == nil {
		return nil
	}
	return o.At(mo.Period{From: d.today, To: d.today})
}

// versions are the versions that become rows: today's in actual mode,
// every period in historic mode.
func (d *deriver) versions(o *mo.Object) []*mo.Version {
	if o == nil {
		return nil
	}
	if d.mode == Historic {
		out := make([]*mo.Version, len(o.Validities))
		for i := range o.Validities {
			out[i] = &o.Validities[i]
		}
		return out
	}
	if v := d.current(o); v != nil {
		return []*mo.Version{v}
	}
	return nil
}

// latest is the version of a class, facet or IT system the export shows
// (today's value, in both modes): today's, else the last one there is.
func (d *deriver) latest(o *mo.Object) *mo.Version {
	if o == nil || len(o.Validities) == 0 {
		return nil
	}
	if v := d.current(o); v != nil {
		return v
	}
	return &o.Validities[len(o.Validities)-1]
}

func (d *deriver) class(uuid string) *mo.Version {
	if uuid == "" {
		return nil
	}
	return d.latest(d.st.get(objKey{mo.Class, uuid}))
}

// title is the name of the class in field f of v, or NULL when the field
// is unset or the class is not known (yet: it is filled in when it arrives).
func (d *deriver) title(v *mo.Version, f string) any {
	return text(d.class(uuidOf(field(v, f))), "name")
}

// jobTitle is the job title the export shows: the export title capture's
// policy computed (capture/policy) when it came from the AD title or is the
// blank of a withheld sensitive job function; else the job_function
// class's current name (so a renamed class shows its new name, as without
// a policy).
func (d *deriver) jobTitle(v *mo.Version) any {
	if t, ok := field(v, "export_title").(string); ok {
		if src, _ := field(v, "export_title_source").(string); src != "job_function" {
			return t
		}
	}
	return d.title(v, "job_function")
}

func (d *deriver) unit(uuid string) *mo.Version {
	if uuid == "" {
		return nil
	}
	return d.current(d.st.get(objKey{mo.OrgUnit, uuid}))
}

// prefetch loads, with few queries, everything the rows of keys depend on.
func (d *deriver) prefetch(ctx context.Context, keys []objKey) error {
	st := d.st
	if err := st.load(ctx, keys); err != nil {
		return err
	}
	var classes, facets []string
	addClasses := func(k objKey) {
		for _, v := range d.versions(st.get(k)) {
			for _, f := range classFields[k.typ] {
				classes = append(classes, uuidsOf(v.Fields[f])...)
			}
		}
		if k.typ == mo.Class {
			facets = append(facets, uuidOf(field(d.latest(st.get(k)), "facet")))
		}
	}
	for _, k := range keys {
		addClasses(k)
	}
	if d.mode == Actual {
		// The ancestors of every unit, level by level, and the managers
		// of all of them.
		var chain []string
		seen := map[string]bool{}
		var frontier []objKey
		for _, k := range keys {
			if k.typ == mo.OrgUnit {
				frontier = append(frontier, k)
			}
		}
		for len(frontier) > 0 {
			if err := st.load(ctx, frontier); err != nil {
				return err
			}
			var next []objKey
			for _, k := range frontier {
				if seen[k.uuid] {
					continue
				}
				seen[k.uuid] = true
				chain = append(chain, k.uuid)
				if p := uuidOf(field(d.current(st.get(k)), "parent")); p != "" && !seen[p] {
					next = append(next, objKey{mo.OrgUnit, p})
				}
			}
			frontier = next
		}
		if err := st.loadReferrers(ctx, mo.Manager, chain); err != nil {
			return err
		}
		var managers []objKey
		for _, u := range chain {
			managers = append(managers, st.referrers(mo.Manager, u)...)
		}
		if err := st.load(ctx, managers); err != nil {
			return err
		}
	}
	load := func(typ mo.Type, uuids []string) error {
		ks := make([]objKey, 0, len(uuids))
		for _, u := range sortedUnique(uuids) {
			ks = append(ks, objKey{typ, u})
		}
		return st.load(ctx, ks)
	}
	if err := load(mo.Class, classes); err != nil {
		return err
	}
	return load(mo.Facet, facets)
}

// path is organisatorisk_sti: the unit names from the root down to u,
// joined with a backslash. It stops at a unit that is not known or not
// valid today (as OS2mo's export stops at a parent outside its cache).
func (d *deriver) path(u string) string {
	var names []string
	seen := map[string]bool{}
	for u != "" && !seen[u] {
		seen[u] = true
		v := d.unit(u)
		if v == nil {
			break
		}
		name, _ := text(v, "name").(string)
		names = append(names, name)
		u = uuidOf(v.Fields["parent"])
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return truncate(strings.Join(names, `\`), 1000)
}

// managerOf is leder_uuid: the manager object (vacant or not) valid today
// in unit u; with several, the lowest uuid (OS2mo orders them by uuid).
func (d *deriver) managerOf(u string) string {
	if m, ok := d.leder[u]; ok {
		return m
	}
	best := ""
	for _, k := range d.st.referrers(mo.Manager, u) {
		if v := d.current(d.st.get(k)); v != nil && uuidOf(v.Fields["org_unit"]) == u && (best == "" || k.uuid < best) {
			best = k.uuid
		}
	}
	d.leder[u] = best
	return best
}

// actingManagerOf is fungerende_leder_uuid: the unit's own manager, else
// the nearest one up the tree.
func (d *deriver) actingManagerOf(u string) string {
	seen := map[string]bool{}
	for u != "" && !seen[u] {
		seen[u] = true
		if m := d.managerOf(u); m != "" {
			return m
		}
		u = uuidOf(field(d.unit(u), "parent"))
	}
	return ""
}

// MinimumPrimaryScope is OS2mo's MINIMUM_PRIMARY_SCOPE_VALUE: a primary
// class whose scope is at least this is primary (mora/service/facet.py
// is_class_primary).
const MinimumPrimaryScope = 3000

// isPrimary is engagementer.primær_boolean: OS2mo's GraphQL is_primary of
// the engagement itself — its own primary class has an integer scope of
// at least 3000. False without a primary class, for a class not known
// (yet) or a scope that is not an integer. Per engagement: a person may
// have several primary engagements, or none.
func (d *deriver) isPrimary(v *mo.Version) bool {
	c := d.class(uuidOf(field(v, "primary")))
	scope, _ := text(c, "scope").(string)
	n, err := strconv.Atoi(strings.TrimSpace(scope))
	return err == nil && n >= MinimumPrimaryScope
}

// primaryFlag is primær_boolean of associations and IT users: whether the
// primary class has user_key "primary"; NULL without a primary class.
func (d *deriver) primaryFlag(v *mo.Version) any {
	u := uuidOf(field(v, "primary"))
	if u == "" {
		return nil
	}
	c := d.class(u)
	if c == nil {
		return nil
	}
	key, _ := text(c, "user_key").(string)
	return strings.EqualFold(key, "primary")
}
