package demo

import (
	"fmt"
	"math/rand/v2"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// --- managers

func planManagerVacant(c *churner, r *rand.Rand) *plan {
	m, ok := c.managers.pick(r, func(m *Manager) bool { return m.Person != "" && c.free(m.UUID) })
	if !ok {
		return nil
	}
	return &plan{busy: []string{m.UUID},
		steps: []step{c.update(mo.Manager, m.Span, c.changeDay(r), writer.Fields{"person": nil}, ActorMorten, "Ledig lederstilling")},
		done:  func() { m.Person = "" }}
}

func planManagerAssign(c *churner, r *rand.Rand) *plan {
	m, ok := c.managers.pick(r, func(m *Manager) bool { return m.Person == "" && c.free(m.UUID) })
	if !ok {
		return nil
	}
	// Prefer someone employed in the unit.
	e, ok := c.engs.pick(r, func(e *Engagement) bool { return e.Unit == m.Unit })
	f := writer.Fields{}
	if ok {
		f["person"], f["engagement"] = e.Person, e.UUID
	} else if e, ok = c.pickEng(r); ok {
		f["person"] = e.Person
	} else {
		return nil
	}
	person := f["person"].(string)
	day := c.changeDay(r)
	if r.IntN(4) == 0 {
		day = c.futureDay(r)
	}
	return &plan{busy: []string{m.UUID},
		steps: []step{c.update(mo.Manager, m.Span, day, f, ActorMorten, "Rediger leder")},
		done:  func() { m.Person = person }}
}

func planManagerCreate(c *churner, r *rand.Rand) *plan {
	u, ok := c.units.pick(r, c.openUnit)
	if !ok {
		return nil
	}
	mt, ok1 := c.pickClass(r, FacetManagerType)
	ml, ok2 := c.pickClass(r, FacetManagerLevel)
	resp, ok3 := c.pickClass(r, FacetResponsibility)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	mu := c.newUUID("manager")
	f := writer.Fields{"user_key": fmt.Sprintf("L-C%05d", c.n), "org_unit": u.UUID, "manager_type": mt,
		"manager_level": ml, "responsibilities": []string{resp}}
	m := &Manager{Unit: u.UUID}
	if e, ok := c.pickEng(r); ok && r.IntN(10) < 7 {
		f["person"], m.Person = e.Person, e.Person
	}
	day := c.changeDay(r)
	m.Span = span(mu, from(day))
	return &plan{steps: []step{c.create(mo.Manager, mu, from(day), f, ActorMorten)}, done: func() { c.managers.add(m) }}
}

// --- units

func planUnitRename(c *churner, r *rand.Rand) *plan {
	u, ok := c.units.pick(r, func(u *Unit) bool { return u.Level >= 1 && c.free(u.UUID) })
	if !ok {
		return nil
	}
	name := newUnitName(r)
	day := c.changeDay(r)
	if r.IntN(3) == 0 {
		day = c.futureDay(r)
	}
	return &plan{busy: []string{u.UUID},
		steps: []step{c.update(mo.OrgUnit, u.Span, day, writer.Fields{"name": name}, ActorMorten, "Omdøb enhed")},
		done: func() {
			if !day.After(c.today) {
				u.Name = name
			}
		}}
}

// planUnitLabel relabels a unit (OS2mo's organisation gatekeeper writes
// org_unit_hierarchy from today when a unit's label changes).
func planUnitLabel(c *churner, r *rand.Rand) *plan {
	u, ok := c.units.pick(r, func(u *Unit) bool { return u.Level >= 1 && c.free(u.UUID) && c.openUnit(u) })
	if !ok {
		return nil
	}
	label, ok := c.pickClass(r, FacetOrgUnitHierarchy)
	if !ok {
		return nil
	}
	return &plan{busy: []string{u.UUID},
		steps: []step{c.update(mo.OrgUnit, u.Span, c.today, writer.Fields{"org_unit_hierarchy": label}, ActorMorten, "Opmærkning")}}
}

func planUnitCreate(c *churner, r *rand.Rand) *plan {
	parent, ok := c.units.pick(r, func(u *Unit) bool { return u.Level >= 2 && u.Level <= 5 && c.openUnit(u) })
	if !ok {
		return nil
	}
	ut, ok1 := c.classOr(r, FacetOrgUnitType, "team")
	lvl, ok2 := c.classOr(r, FacetOrgUnitLevel, fmt.Sprintf("N%d", min(parent.Level+2, 6)))
	if !ok1 || !ok2 {
		return nil
	}
	uu := c.newUUID("org_unit")
	name := newUnitName(r)
	day := c.changeDay(r)
	f := writer.Fields{"user_key": fmt.Sprintf("ENH-C%05d", c.n), "name": name, "parent": parent.UUID,
		"unit_type": ut, "org_unit_level": lvl}
	if h, ok := c.classOr(r, FacetOrgUnitHierarchy, "linjeorg"); ok {
		f["org_unit_hierarchy"] = h
	}
	u := &Unit{Span: span(uu, from(day)), UserKey: f["user_key"].(string), Name: name, Parent: parent.UUID, Level: parent.Level + 1}
	steps := []step{c.create(mo.OrgUnit, uu, from(day), f, ActorMorten)}
	var a *Address
	if at, ok := c.addrType(r, FacetOrgUnitAddressType, "DAR"); ok {
		a = &Address{Span: span(c.newUUID("address"), from(day)), Scope: at.Scope, AddressType: at.UUID, Unit: uu}
		v := value(r, at.Scope)
		steps = append(steps, c.create(mo.Address, a.UUID, from(day), writer.Fields{"user_key": v, "value": v,
			"address_type": at.UUID, "org_unit": uu}, ActorMorten))
	}
	return &plan{steps: steps, done: func() {
		c.units.add(u)
		if a != nil {
			c.addresses.add(a)
		}
	}}
}

// below reports whether unit u lies in the subtree of unit top.
func (c *churner) below(u *Unit, top string) bool {
	for i := 0; u != nil && i < 64; i++ {
		if u.UUID == top {
			return true
		}
		next, ok := c.units.get(u.Parent)
		if !ok {
			return false
		}
		u = next
	}
	return true // too deep or a cycle: do not move there
}

func planUnitMove(c *churner, r *rand.Rand) *plan {
	u, ok := c.units.pick(r, func(u *Unit) bool { return u.Level >= 3 && c.free(u.UUID) })
	if !ok {
		return nil
	}
	np, ok := c.units.pick(r, func(p *Unit) bool {
		return p.Level >= 2 && p.Level <= 4 && p.UUID != u.Parent && c.openUnit(p) && !c.below(p, u.UUID)
	})
	if !ok {
		return nil
	}
	day := c.changeDay(r)
	return &plan{busy: []string{u.UUID},
		steps: []step{c.update(mo.OrgUnit, u.Span, day, writer.Fields{"parent": np.UUID}, ActorMorten, "Flyt enhed")},
		done: func() {
			u.Parent, u.Level = np.UUID, np.Level+1
		}}
}

// --- the other organisation functions

func planAssocCreate(c *churner, r *rand.Rand) *plan {
	e, ok1 := c.pickEng(r)
	u, ok2 := c.units.pick(r, func(u *Unit) bool { return u.Level <= 3 && c.openUnit(u) })
	at, ok3 := c.pickClass(r, FacetAssociationType)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	day := startOf(c.changeDay(r), e.Span)
	s := &Span{UUID: c.newUUID("association"), From: date(day)}
	return &plan{steps: []step{c.create(mo.Association, s.UUID, from(day), writer.Fields{"user_key": fmt.Sprintf("T-C%05d", c.n),
		"person": e.Person, "org_unit": u.UUID, "association_type": at}, ActorAnne)},
		done: func() { c.assocs.add(s) }}
}

func planLeaveCreate(c *churner, r *rand.Rand) *plan {
	e, ok1 := c.engs.pick(r, func(e *Engagement) bool { return e.From != nil && *e.From <= c.day })
	lt, ok2 := c.pickClass(r, FacetLeaveType)
	if !ok1 || !ok2 {
		return nil
	}
	a := addDays(c.today, 1+r.IntN(60))
	b := addDays(a, 30+r.IntN(270))
	if e.To != nil && b.After(e.To.Day()) {
		b = e.To.Day()
	}
	if b.Before(a) {
		return nil
	}
	v := fromTo(a, &b)
	s := &Span{UUID: c.newUUID("leave"), From: v.From, To: v.To}
	return &plan{steps: []step{c.create(mo.Leave, s.UUID, v, writer.Fields{"user_key": fmt.Sprintf("O-C%05d", c.n),
		"person": e.Person, "leave_type": lt, "engagement": e.UUID}, ActorOPUS)},
		done: func() { c.leaves.add(s) }}
}

func planKLECreate(c *churner, r *rand.Rand) *plan {
	u, ok1 := c.units.pick(r, c.openUnit)
	n, ok2 := c.pickClass(r, FacetKLENumber)
	a, ok3 := c.pickClass(r, FacetKLEAspect)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	day := c.changeDay(r)
	s := &Span{UUID: c.newUUID("kle"), From: date(day)}
	return &plan{steps: []step{c.create(mo.KLE, s.UUID, from(day), writer.Fields{"user_key": fmt.Sprintf("K-C%05d", c.n),
		"org_unit": u.UUID, "kle_number": n, "kle_aspects": []string{a}}, ActorMorten)},
		done: func() { c.kles.add(s) }}
}

func planRelatedCreate(c *churner, r *rand.Rand) *plan {
	a, ok1 := c.units.pick(r, func(u *Unit) bool { return u.Level >= 2 && c.openUnit(u) })
	b, ok2 := c.units.pick(r, func(u *Unit) bool { return u.Level >= 2 && c.openUnit(u) && u != a })
	if !ok1 || !ok2 {
		return nil
	}
	day := c.changeDay(r)
	s := &Span{UUID: c.newUUID("related_unit"), From: date(day)}
	return &plan{steps: []step{c.create(mo.RelatedUnit, s.UUID, from(day), writer.Fields{"user_key": fmt.Sprintf("R-C%05d", c.n),
		"org_units": []string{a.UUID, b.UUID}}, ActorMorten)},
		done: func() { c.related.add(s) }}
}

func planRoleBindingCreate(c *churner, r *rand.Rand) *plan {
	ad := c.itsystems["AD"]
	it, ok1 := c.itusers.pick(r, func(it *ITUser) bool { return it.ITSystem == ad })
	role, ok2 := c.pickClass(r, FacetRole)
	if !ok1 || !ok2 {
		return nil
	}
	day := startOf(c.changeDay(r), it.Span)
	s := &Span{UUID: c.newUUID("rolebinding"), From: date(day)}
	return &plan{steps: []step{c.create(mo.RoleBinding, s.UUID, from(day), writer.Fields{"user_key": "RB-" + it.UserKey,
		"role": role, "ituser": it.UUID}, ActorBirgitte)},
		done: func() { c.roles.add(s) }}
}

func planOwnerCreate(c *churner, r *rand.Rand) *plan {
	u, ok1 := c.units.pick(r, c.openUnit)
	e, ok2 := c.pickEng(r)
	if !ok1 || !ok2 {
		return nil
	}
	day := c.changeDay(r)
	s := &Span{UUID: c.newUUID("owner"), From: date(day)}
	return &plan{steps: []step{c.create(mo.Owner, s.UUID, from(day), writer.Fields{"user_key": fmt.Sprintf("EJ-C%05d", c.n),
		"owner": e.Person, "org_unit": u.UUID}, ActorAnne)},
		done: func() { c.owners.add(s) }}
}

// --- classes

var newJobTitles = []string{"Koordinator", "Projektleder", "Udviklingskonsulent", "Fagkoordinator",
	"Teknisk servicemedarbejder", "Sundhedsplejerske", "Økonomikonsulent", "Læsevejleder", "Værkstedsassistent"}

func planClassCreate(c *churner, r *rand.Rand) *plan {
	facet, ok := c.facets[FacetJobFunction]
	if !ok {
		return nil
	}
	cu := c.newUUID("class")
	k := Class{UUID: cu, UserKey: fmt.Sprintf("jf_c%05d", c.n), Name: newJobTitles[r.IntN(len(newJobTitles))]}
	return &plan{steps: []step{c.create(mo.Class, cu, mo.Validity{}, writer.Fields{"user_key": k.UserKey, "name": k.Name, "facet": facet}, ActorAnne)},
		done: func() {
			c.classes[FacetJobFunction] = append(c.classes[FacetJobFunction], k)
			c.scopes[cu] = ""
		}}
}

func planClassRename(c *churner, r *rand.Rand) *plan {
	ks := c.classes[FacetJobFunction]
	if len(ks) == 0 {
		return nil
	}
	i := r.IntN(len(ks))
	k := ks[i]
	if !c.free(k.UUID) || contains(SensitiveJobFunctions, k.UUID) {
		return nil
	}
	name := newJobTitles[r.IntN(len(newJobTitles))]
	return &plan{busy: []string{k.UUID},
		steps: []step{c.update(mo.Class, Span{UUID: k.UUID}, c.today, writer.Fields{"name": name}, ActorAnne, "Rediger klasse")},
		done: func() {
			for j := range c.classes[FacetJobFunction] {
				if c.classes[FacetJobFunction][j].UUID == k.UUID {
					c.classes[FacetJobFunction][j].Name = name
				}
			}
		}}
}
