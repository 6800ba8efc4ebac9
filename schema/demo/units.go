package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// active reports whether the unit is open today (not future, not closed).
func (u *unitGen) active(today time.Time) bool { return u.to == nil && !u.from.After(today) }

func (g *generator) unitAddresses() {
	r := g.rng("unit-addresses")
	for _, u := range g.units {
		v := fromTo(u.from, u.to)
		owner := writer.Fields{"org_unit": u.uuid}
		g.address(r, FacetOrgUnitAddressType, "AddressMailUnit", "Public", owner, randUUID(r), v, ActorMorten)
		if r.IntN(100) < 60 {
			g.address(r, FacetOrgUnitAddressType, "PhoneUnit", "Public", owner, phone(r, 3+r.IntN(7)), v, ActorMorten)
		}
		if r.IntN(100) < 35 {
			g.address(r, FacetOrgUnitAddressType, "EmailUnit", "Public", owner,
				fmt.Sprintf("%s@%s", asciiFold(u.name), g.domain), v, ActorMorten)
		}
		if u.level >= 3 && r.IntN(100) < 40 {
			g.address(r, FacetOrgUnitAddressType, "EAN", "", owner, fmt.Sprintf("579800%07d", r.IntN(10000000)), v, ActorMorten)
		}
		if u.level == 3 {
			if r.IntN(100) < 30 {
				g.address(r, FacetOrgUnitAddressType, "p-nummer", "", owner, fmt.Sprintf("10%08d", r.IntN(100000000)), v, ActorMorten)
			}
			if r.IntN(100) < 15 {
				g.address(r, FacetOrgUnitAddressType, "WebUnit", "Public", owner,
					fmt.Sprintf("www.%s/%s", g.domain, asciiFold(u.name)), v, ActorMorten)
			}
			if r.IntN(100) < 10 {
				g.address(r, FacetOrgUnitAddressType, "OpeningHours", "Public", owner, "Man-tor 8-15, fre 8-13", v, ActorMorten)
			}
		}
	}
}

// alivePerson draws a person who is employed today, or -1.
func (g *generator) alivePerson(r *rand.Rand) int {
	for try := 0; try < 20; try++ {
		if i := r.IntN(len(g.persons)); g.persons[i].alive {
			return i
		}
	}
	return -1
}

func (g *generator) manager(r *rand.Rand, u *unitGen, mtype, mlevel string, a time.Time, b *time.Time, person int, eng string) {
	n := len(g.cat.Managers)
	resp := g.cat.Classes[FacetResponsibility]
	k := 1 + r.IntN(3)
	var rs []string
	for _, j := range r.Perm(len(resp))[:k] {
		rs = append(rs, resp[j].UUID)
	}
	f := writer.Fields{
		"user_key": fmt.Sprintf("L%05d", n+1), "org_unit": u.uuid,
		"manager_type":     g.cls(FacetManagerType, mtype),
		"manager_level":    g.cls(FacetManagerLevel, mlevel),
		"responsibilities": rs,
	}
	m := Manager{Unit: u.uuid}
	if person >= 0 {
		f["person"] = g.persons[person].uuid
		m.Person = g.persons[person].uuid
		if eng != "" {
			f["engagement"] = eng
		}
	}
	uid := g.ids.uuid("manager", n)
	v := fromTo(a, b)
	m.Span = span(uid, v)
	g.emit(item{typ: mo.Manager, uuid: uid, validity: v, fields: f, meta: meta(ActorMorten)})
	g.cat.Managers = append(g.cat.Managers, m)
}

// managers gives most open units a manager; some posts are vacant, some
// units had a manager before the present one, some institutions have a
// deputy.
func (g *generator) managers() {
	r := g.rng("managers")
	types := []string{"direktoer", "direktoer", "chef", "leder", "teamleder", "teamleder"}
	levels := []string{"niveau1", "niveau1", "niveau2", "niveau3", "niveau4", "niveau4"}
	yesterday := addDays(g.today, -1)
	vacant := 0
	for _, u := range g.units {
		if !u.active(g.today) || r.IntN(100) < 4 {
			continue
		}
		start := between(r, u.from, yesterday)
		person, eng := -1, ""
		// 8 % of the posts are vacant, and a small municipality has one too.
		if r.IntN(100) < 8 || (vacant == 0 && u.level >= 4) {
			vacant++
		} else {
			if len(u.staff) > 0 {
				s := u.staff[r.IntN(len(u.staff))]
				person, eng = s.person, s.eng
				lo := u.from
				if s.from.After(lo) {
					lo = s.from
				}
				start = between(r, lo, yesterday)
			} else {
				person = g.alivePerson(r)
			}
		}
		g.manager(r, u, types[u.level], levels[u.level], start, nil, person, eng)
		if r.IntN(100) < 10 && start.After(addDays(u.from, 400)) {
			a := between(r, u.from, addDays(start, -200))
			b := addDays(start, -1)
			g.manager(r, u, types[u.level], levels[u.level], a, &b, g.alivePerson(r), "")
		}
		if u.level == 3 && r.IntN(100) < 10 {
			g.manager(r, u, "souschef", "niveau4", between(r, u.from, yesterday), nil, g.alivePerson(r), "")
		}
	}
}

func (g *generator) associations() {
	r := g.rng("associations")
	var committees []*unitGen // units whose MED committees people sit in
	for _, u := range g.units {
		if u.level <= 2 && u.active(g.today) {
			committees = append(committees, u)
		}
	}
	yesterday := addDays(g.today, -1)
	for _, p := range g.persons {
		if !p.alive || (r.IntN(100) >= 5 && len(g.cat.Associations) > 0) {
			continue
		}
		u := g.units[p.unit]
		if r.IntN(2) == 0 || !u.active(g.today) {
			u = committees[r.IntN(len(committees))]
		}
		lo := p.firstDay
		if u.from.After(lo) {
			lo = u.from
		}
		a := lo
		if lo.Before(yesterday) {
			a = between(r, lo, yesterday)
		}
		var b *time.Time
		if r.IntN(100) < 20 && a.Before(addDays(g.today, -60)) {
			end := between(r, addDays(a, 30), yesterday)
			b = &end
		}
		n := len(g.cat.Associations)
		f := writer.Fields{"user_key": fmt.Sprintf("T%05d", n+1), "person": p.uuid, "org_unit": u.uuid,
			"association_type": g.pick(r, FacetAssociationType)}
		if r.IntN(100) < 30 {
			f["primary"] = g.cls(FacetPrimaryType, "primary")
		}
		if p.ad != "" && r.IntN(100) < 10 {
			f["it_user"] = p.ad
		}
		uid := g.ids.uuid("association", n)
		v := fromTo(a, b)
		g.emit(item{typ: mo.Association, uuid: uid, validity: v, fields: f, meta: meta(ActorAnne)})
		g.cat.Associations = append(g.cat.Associations, span(uid, v))
	}
}

func (g *generator) kle() {
	r := g.rng("kle")
	numbers := g.cat.Classes[FacetKLENumber]
	aspects := g.cat.Classes[FacetKLEAspect]
	for _, u := range g.units {
		if u.level < 2 || u.level > 3 || (r.IntN(100) >= 50 && len(g.cat.KLEs) > 0) {
			continue
		}
		for _, j := range r.Perm(len(numbers))[:1+r.IntN(3)] {
			var as []string
			for _, x := range r.Perm(len(aspects))[:1+r.IntN(2)] {
				as = append(as, aspects[x].UUID)
			}
			n := len(g.cat.KLEs)
			uid := g.ids.uuid("kle", n)
			v := fromTo(u.from, u.to)
			f := writer.Fields{"user_key": fmt.Sprintf("K%05d", n+1), "org_unit": u.uuid,
				"kle_number": numbers[j].UUID, "kle_aspects": as}
			g.emit(item{typ: mo.KLE, uuid: uid, validity: v, fields: f, meta: meta(ActorMorten)})
			g.cat.KLEs = append(g.cat.KLEs, span(uid, v))
		}
	}
}

func (g *generator) relatedUnits() {
	r := g.rng("related-units")
	var cands []*unitGen
	for _, u := range g.units {
		if u.level >= 2 && u.level <= 4 && u.active(g.today) {
			cands = append(cands, u)
		}
	}
	if len(cands) < 2 {
		return
	}
	yesterday := addDays(g.today, -1)
	want := max(2, len(g.units)/25)
	for try := 0; len(g.cat.RelatedUnits) < want && try < 10*want; try++ {
		a, b := cands[r.IntN(len(cands))], cands[r.IntN(len(cands))]
		if a == b {
			continue
		}
		lo := a.from
		if b.from.After(lo) {
			lo = b.from
		}
		start := between(r, lo, yesterday)
		var end *time.Time
		if r.IntN(100) < 10 && start.Before(addDays(g.today, -60)) {
			e := between(r, addDays(start, 30), yesterday)
			end = &e
		}
		n := len(g.cat.RelatedUnits)
		uid := g.ids.uuid("related_unit", n)
		v := fromTo(start, end)
		f := writer.Fields{"user_key": fmt.Sprintf("R%05d", n+1), "org_units": []string{a.uuid, b.uuid}}
		g.emit(item{typ: mo.RelatedUnit, uuid: uid, validity: v, fields: f, meta: meta(ActorMorten)})
		g.cat.RelatedUnits = append(g.cat.RelatedUnits, span(uid, v))
	}
}

// owners: some units and a few persons have an owner (a person responsible
// for their data in MO).
func (g *generator) owners() {
	r := g.rng("owners")
	yesterday := addDays(g.today, -1)
	add := func(f writer.Fields, a time.Time) {
		n := len(g.cat.Owners)
		uid := g.ids.uuid("owner", n)
		f["user_key"] = fmt.Sprintf("EJ%05d", n+1)
		v := from(a)
		g.emit(item{typ: mo.Owner, uuid: uid, validity: v, fields: f, meta: meta(ActorAnne)})
		g.cat.Owners = append(g.cat.Owners, span(uid, v))
	}
	for _, u := range g.units {
		if !u.active(g.today) || (r.IntN(100) >= 4 && (len(g.cat.Owners) > 0 || u.level < 3)) {
			continue
		}
		if o := g.alivePerson(r); o >= 0 {
			add(writer.Fields{"owner": g.persons[o].uuid, "org_unit": u.uuid}, between(r, u.from, yesterday))
		}
	}
	for _, p := range g.persons {
		if !p.alive || (r.IntN(1000) >= 5 && len(g.cat.Owners) > 1) || !p.firstDay.Before(g.today) {
			continue
		}
		if o := g.alivePerson(r); o >= 0 && g.persons[o] != p {
			prio := []string{"engagement_priority", "association_priority"}[r.IntN(2)]
			add(writer.Fields{"owner": g.persons[o].uuid, "person": p.uuid, "inference_priority": prio},
				between(r, p.firstDay, yesterday))
		}
	}
}
