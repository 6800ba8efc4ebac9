package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// --- engagements and persons

func planHire(c *churner, r *rand.Rand) *plan {
	u, ok := c.units.pick(r, func(u *Unit) bool { return u.Level >= 2 && c.openUnit(u) })
	if !ok {
		return nil
	}
	et, ok1 := c.classOr(r, FacetEngagementType, "ansat")
	jf, ok2 := c.pickClass(r, FacetJobFunction)
	prim, ok3 := c.classOr(r, FacetPrimaryType, "primary")
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	start := startOf(between(r, addDays(c.today, -10), addDays(c.today, 60)), u.Span)
	male, given, surname := randomName(r)
	birth := between(r, time.Date(1960, 1, 1, 0, 0, 0, 0, mo.Location), time.Date(2005, 12, 31, 0, 0, 0, 0, mo.Location))
	pu, eu := c.newUUID("person"), c.newUUID("engagement")
	p := &Person{Span: span(pu, from(birth)), GivenName: given, Surname: surname}
	e := &Engagement{Span: span(eu, from(start)), Person: pu, Unit: u.UUID, JobFunction: jf}
	steps := []step{
		c.create(mo.Person, pu, from(birth), writer.Fields{"user_key": pu, "given_name": given, "surname": surname,
			"cpr_number": cpr(birth, r.IntN(4000), male)}, ActorOPUS),
		c.create(mo.Engagement, eu, from(start), writer.Fields{"user_key": fmt.Sprintf("%06d", 500000+c.n),
			"person": pu, "org_unit": u.UUID, "engagement_type": et, "job_function": jf, "primary": prim,
			"fraction": fractions[r.IntN(len(fractions))]}, ActorOPUS),
	}
	var adds []func()
	local := asciiFold(strings.Fields(given)[0]) + "." + asciiFold(surname) + fmt.Sprint(c.n)
	if at, ok := c.addrType(r, FacetEmployeeAddressType, "EMAIL"); ok {
		au, email := c.newUUID("address"), local+"@kommune.dk"
		f := writer.Fields{"user_key": email, "value": email, "address_type": at.UUID, "person": pu, "engagement": eu}
		if vis, ok := c.classOr(r, FacetVisibility, "Public"); ok {
			f["visibility"] = vis
		}
		steps = append(steps, c.create(mo.Address, au, from(start), f, ActorLDAP))
		adds = append(adds, func() {
			c.addresses.add(&Address{Span: span(au, from(start)), Scope: at.Scope, AddressType: at.UUID, Person: pu, Engagement: eu})
		})
	}
	if ad, ok := c.itsystems["AD"]; ok {
		iu := c.newUUID("ituser")
		g, sn := asciiFold(given), asciiFold(surname)
		uname := g[:min(3, len(g))] + sn[:min(2, len(sn))] + fmt.Sprint(c.n)
		steps = append(steps, c.create(mo.ITUser, iu, from(start), writer.Fields{"user_key": uname,
			"external_id": randUUID(r), "itsystem": ad, "person": pu, "engagements": []string{eu}}, ActorLDAP))
		adds = append(adds, func() {
			c.itusers.add(&ITUser{Span: span(iu, from(start)), UserKey: uname, ITSystem: ad, Person: pu, Engagements: []string{eu}})
		})
	}
	if at, ok := c.addrType(r, FacetEmployeeAddressType, "PHONE"); ok && r.IntN(2) == 0 {
		au, tlf := c.newUUID("address"), phone(r, 2+r.IntN(8))
		steps = append(steps, c.create(mo.Address, au, from(start), writer.Fields{"user_key": tlf, "value": tlf,
			"address_type": at.UUID, "person": pu}, ActorAnne))
		adds = append(adds, func() {
			c.addresses.add(&Address{Span: span(au, from(start)), Scope: at.Scope, AddressType: at.UUID, Person: pu})
		})
	}
	return &plan{steps: steps, done: func() {
		c.persons.add(p)
		c.addEng(e)
		for _, f := range adds {
			f()
		}
	}}
}

func planEngMove(future bool) func(c *churner, r *rand.Rand) *plan {
	return func(c *churner, r *rand.Rand) *plan {
		e, ok := c.pickEng(r)
		if !ok {
			return nil
		}
		u, ok := c.units.pick(r, func(u *Unit) bool { return u.UUID != e.Unit && u.Level >= 1 && c.openUnit(u) })
		if !ok {
			return nil
		}
		day := c.changeDay(r)
		if future {
			day = c.futureDay(r)
		}
		return &plan{busy: []string{e.UUID},
			steps: []step{c.update(mo.Engagement, e.Span, day, writer.Fields{"org_unit": u.UUID}, pickActor(r, ActorOPUS, ActorAnne), "Flyt engagement")},
			done: func() {
				if !day.After(c.today) {
					e.Unit = u.UUID
				}
			}}
	}
}

func planEngJobFunction(c *churner, r *rand.Rand) *plan {
	e, ok := c.pickEng(r)
	if !ok {
		return nil
	}
	jf, ok := c.pickClass(r, FacetJobFunction)
	if !ok || jf == e.JobFunction {
		return nil
	}
	day := c.changeDay(r)
	if r.IntN(4) == 0 {
		day = c.futureDay(r)
	}
	return &plan{busy: []string{e.UUID},
		steps: []step{c.update(mo.Engagement, e.Span, day, writer.Fields{"job_function": jf}, pickActor(r, ActorOPUS, ActorAnne), "Rediger engagement")},
		done:  func() { e.JobFunction = jf }}
}

func planEngTitle(c *churner, r *rand.Rand) *plan {
	e, ok := c.pickEng(r)
	if !ok {
		return nil
	}
	title := neutralTitles[r.IntN(len(neutralTitles))]
	if r.IntN(2) == 0 {
		title = className(FacetJobFunction, categories[r.IntN(len(categories))].JobFunctions[0]) + ", " + places[r.IntN(len(places))]
	}
	return &plan{busy: []string{e.UUID},
		steps: []step{c.update(mo.Engagement, e.Span, c.changeDay(r), writer.Fields{"extension_1": title}, ActorLDAP, "Rediger engagement")}}
}

func planEngTerminate(c *churner, r *rand.Rand) *plan {
	e, ok := c.pickEng(r)
	if !ok {
		return nil
	}
	last, ok := lastDayFor(between(r, addDays(c.today, -5), addDays(c.today, 60)), e.Span)
	if !ok {
		return nil
	}
	return &plan{busy: []string{e.UUID},
		steps: []step{c.terminate(mo.Engagement, e.UUID, last, pickActor(r, ActorOPUS, ActorAnne))},
		done:  func() { c.dropEng(e.UUID) }}
}

func planEngCreateFuture(c *churner, r *rand.Rand) *plan {
	e0, ok := c.pickEng(r)
	if !ok {
		return nil
	}
	u, ok := c.units.pick(r, func(u *Unit) bool { return u.Level >= 2 && c.openUnit(u) })
	if !ok {
		return nil
	}
	et, ok1 := c.pickClass(r, FacetEngagementType)
	jf, ok2 := c.pickClass(r, FacetJobFunction)
	prim, ok3 := c.classOr(r, FacetPrimaryType, "non-primary")
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	start := addDays(c.today, 14+r.IntN(107))
	eu := c.newUUID("engagement")
	e := &Engagement{Span: span(eu, from(start)), Person: e0.Person, Unit: u.UUID, JobFunction: jf}
	return &plan{
		steps: []step{c.create(mo.Engagement, eu, from(start), writer.Fields{"user_key": fmt.Sprintf("%06d", 500000+c.n),
			"person": e0.Person, "org_unit": u.UUID, "engagement_type": et, "job_function": jf, "primary": prim,
			"fraction": fractions[r.IntN(len(fractions))]}, ActorOPUS)},
		done: func() { c.addEng(e) }}
}

func planEngDelete(c *churner, r *rand.Rand) *plan {
	e, ok := c.pickEng(r)
	if !ok {
		return nil
	}
	return &plan{busy: []string{e.UUID},
		steps: []step{c.delete(mo.Engagement, e.UUID, ActorAnne)},
		done:  func() { c.dropEng(e.UUID) }}
}

func planPersonRename(c *churner, r *rand.Rand) *plan {
	p, ok := c.persons.pick(r, func(p *Person) bool { return c.free(p.UUID) })
	if !ok {
		return nil
	}
	s := surnames[r.IntN(len(surnames))]
	if r.IntN(3) == 0 && p.Surname != "" && !strings.Contains(p.Surname, "-") {
		s = p.Surname + "-" + s
	}
	return &plan{busy: []string{p.UUID},
		steps: []step{c.update(mo.Person, p.Span, c.changeDay(r), writer.Fields{"surname": s}, pickActor(r, ActorOPUS, ActorAnne), "Rediger medarbejder")},
		done:  func() { p.Surname = s }}
}

func planPersonNickname(c *churner, r *rand.Rand) *plan {
	p, ok := c.persons.pick(r, func(p *Person) bool { return c.free(p.UUID) })
	if !ok {
		return nil
	}
	f := writer.Fields{"nickname_given_name": nicknames[r.IntN(len(nicknames))], "nickname_surname": p.Surname}
	return &plan{busy: []string{p.UUID},
		steps: []step{c.update(mo.Person, p.Span, c.changeDay(r), f, ActorAnne, "Rediger medarbejder")}}
}

// --- addresses

func planAddrCreate(c *churner, r *rand.Rand) *plan {
	var at Class
	var ok bool
	a := &Address{}
	f := writer.Fields{}
	actor := ActorAnne
	switch x := r.IntN(10); {
	case x < 5:
		e, ok2 := c.pickEng(r)
		if at, ok = c.addrType(r, FacetEmployeeAddressType, "EMAIL", "PHONE"); !ok || !ok2 {
			return nil
		}
		a.Person, a.Engagement = e.Person, e.UUID
		f["person"], f["engagement"] = e.Person, e.UUID
	case x < 8:
		u, ok2 := c.units.pick(r, c.openUnit)
		if at, ok = c.addrType(r, FacetOrgUnitAddressType); !ok || !ok2 {
			return nil
		}
		a.Unit, f["org_unit"], actor = u.UUID, u.UUID, ActorMorten
	default:
		it, ok2 := c.itusers.pick(r, func(it *ITUser) bool { return it.Person != "" })
		if at, ok = c.addrType(r, FacetEmployeeAddressType, "EMAIL"); !ok || !ok2 {
			return nil
		}
		a.Person, a.ITUser = it.Person, it.UUID
		f["person"], f["ituser"], actor = it.Person, it.UUID, ActorLDAP
	}
	v := value(r, at.Scope)
	f["user_key"], f["value"], f["address_type"] = v, v, at.UUID
	if vis, ok := c.pickClass(r, FacetVisibility); ok && r.IntN(2) == 0 {
		f["visibility"] = vis
	}
	day := c.changeDay(r)
	a.UUID, a.Scope, a.AddressType = c.newUUID("address"), at.Scope, at.UUID
	a.From = date(day)
	return &plan{steps: []step{c.create(mo.Address, a.UUID, from(day), f, actor)}, done: func() { c.addresses.add(a) }}
}

func planAddrChange(c *churner, r *rand.Rand) *plan {
	a, ok := c.addresses.pick(r, func(a *Address) bool {
		_, known := mo.AddressPrefixes[a.Scope]
		return known && c.free(a.UUID)
	})
	if !ok {
		return nil
	}
	day := c.changeDay(r)
	if r.IntN(5) == 0 {
		day = c.futureDay(r)
	}
	return &plan{busy: []string{a.UUID},
		steps: []step{c.update(mo.Address, a.Span, day, writer.Fields{"value": value(r, a.Scope)}, pickActor(r, ActorAnne, ActorLDAP), "Rediger adresse")}}
}

// --- IT users

func planITUserCreate(c *churner, r *rand.Rand) *plan {
	e, ok := c.pickEng(r)
	if !ok {
		return nil
	}
	var systems []string
	for k, u := range c.itsystems {
		if k != "AD" {
			systems = append(systems, u)
		}
	}
	if len(systems) == 0 {
		return nil
	}
	sort.Strings(systems)
	sys := systems[r.IntN(len(systems))]
	day := startOf(c.changeDay(r), e.Span)
	iu := c.newUUID("ituser")
	uname := fmt.Sprintf("u%06d", c.n)
	it := &ITUser{Span: span(iu, from(day)), UserKey: uname, ITSystem: sys, Person: e.Person, Engagements: []string{e.UUID}}
	return &plan{
		steps: []step{c.create(mo.ITUser, iu, from(day), writer.Fields{"user_key": uname, "itsystem": sys,
			"person": e.Person, "engagements": []string{e.UUID}}, ActorBirgitte)},
		done: func() { c.itusers.add(it) }}
}

func planITUserLink(c *churner, r *rand.Rand) *plan {
	var add string
	it, ok := c.itusers.pick(r, func(it *ITUser) bool {
		if !c.free(it.UUID) {
			return false
		}
		for _, e := range c.engsOf[it.Person] {
			if !contains(it.Engagements, e) {
				add = e
				return true
			}
		}
		return false
	})
	if !ok {
		return nil
	}
	engs := append(append([]string(nil), it.Engagements...), add)
	sort.Strings(engs)
	return &plan{busy: []string{it.UUID},
		steps: []step{c.update(mo.ITUser, it.Span, c.changeDay(r), writer.Fields{"engagements": engs}, ActorLDAP, "Rediger IT-bruger")},
		done:  func() { it.Engagements = engs }}
}

func planITUserUnlink(c *churner, r *rand.Rand) *plan {
	it, ok := c.itusers.pick(r, func(it *ITUser) bool { return c.free(it.UUID) && len(it.Engagements) > 0 })
	if !ok {
		return nil
	}
	drop := r.IntN(len(it.Engagements))
	engs := make([]string, 0, len(it.Engagements)-1)
	for i, e := range it.Engagements {
		if i != drop {
			engs = append(engs, e)
		}
	}
	return &plan{busy: []string{it.UUID},
		steps: []step{c.update(mo.ITUser, it.Span, c.changeDay(r), writer.Fields{"engagements": engs}, ActorLDAP, "Rediger IT-bruger")},
		done:  func() { it.Engagements = engs }}
}
