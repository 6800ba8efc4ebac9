package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// people generates n persons with their engagements, addresses, IT users,
// role bindings and leaves.
func (g *generator) people(n int) {
	r := g.rng("persons")
	cprs := make(map[string]bool, n)
	emails := make(map[string]int, n)
	for i := 0; i < n; i++ {
		p := g.person(r, i, cprs)
		g.engagements(r, p, i)
		g.personAddresses(r, p, emails)
		g.itUsers(r, p, i)
		g.leave(r, p)
	}
}

func (g *generator) person(r *rand.Rand, i int, cprs map[string]bool) *personGen {
	male := r.IntN(2) == 0
	names := femaleNames
	if male {
		names = maleNames
	}
	given := names[r.IntN(len(names))]
	if r.IntN(100) < 10 {
		if second := names[r.IntN(len(names))]; !strings.Contains(given, second) {
			given += " " + second
		}
	}
	surname := surnames[r.IntN(len(surnames))]
	if r.IntN(100) < 8 {
		if second := surnames[r.IntN(len(surnames))]; second != surname {
			surname += "-" + second
		}
	}
	birth := between(r, time.Date(1958, 1, 1, 0, 0, 0, 0, mo.Location), time.Date(2006, 12, 31, 0, 0, 0, 0, mo.Location))
	var c string
	for serial := r.IntN(4000); ; serial++ {
		if c = cpr(birth, serial, male); !cprs[c] {
			break
		}
	}
	cprs[c] = true

	p := &personGen{uuid: g.ids.uuid("person", i), given: given, surname: surname, birth: birth}
	f := writer.Fields{"user_key": p.uuid, "given_name": given, "surname": surname, "cpr_number": c}
	if r.IntN(100) < 5 {
		f["nickname_given_name"] = nicknames[r.IntN(len(nicknames))]
		f["nickname_surname"] = surname
	}
	v := from(birth)
	g.emit(item{typ: mo.Person, uuid: p.uuid, validity: v, fields: f, meta: meta(ActorOPUS)})
	g.cat.Persons = append(g.cat.Persons, Person{Span: span(p.uuid, v), GivenName: given, Surname: surname})
	g.persons = append(g.persons, p)
	return p
}

var (
	genericJobs = []string{"rengoering", "servicemedarbejder", "overassistent", "fuldmaegtig"}
	fractions   = []int64{1000000, 864865, 810811, 675676, 500000, 270270}
	// neutral titles that an AD title field carries for people whose job
	// function is sensitive
	neutralTitles = []string{"Medarbejder", "Administrativ medarbejder", "Servicemedarbejder", "Kontorassistent"}
)

func (g *generator) engagements(r *rand.Rand, p *personGen, i int) {
	k := 1
	switch x := r.IntN(100); {
	case x < 2:
		k = 3
	case x < 15:
		k = 2
	}
	earliest := p.birth.AddDate(18, 0, 0)
	if y := time.Date(1998, 1, 1, 0, 0, 0, 0, mo.Location); earliest.Before(y) {
		earliest = y
	}
	yesterday := addDays(g.today, -1)
	manual := k > 1 && r.IntN(100) < 10
	p.alive = false
	open := false
	for j := 0; j < k; j++ {
		ui := g.staffable[r.IntN(len(g.staffable))]
		u := g.units[ui]
		lo := earliest
		if u.from.After(lo) {
			lo = u.from
		}
		var a time.Time
		var b *time.Time
		switch s := r.IntN(100); {
		case s < 3: // hired, starts soon
			a = between(r, addDays(g.today, 1), addDays(g.today, 120))
		case s < 11 && lo.Before(addDays(g.today, -460)): // has left
			a = between(r, lo, addDays(g.today, -400))
			end := between(r, addDays(a, 60), yesterday)
			b = &end
		case s < 14: // fixed-term contract
			a = between(r, lo, yesterday)
			end := between(r, addDays(g.today, 1), addDays(g.today, 365))
			b = &end
		default:
			a = between(r, lo, yesterday)
		}
		if a.Before(lo) {
			a = lo
		}
		e := engGen{uuid: g.ids.uuid("engagement", i*4+j), unit: ui, from: a, to: b, employee: fmt.Sprintf("%06d", 100000+i*4+j)}
		p.engs = append(p.engs, e)
		if b == nil || !b.Before(g.today) {
			p.alive = true
		}
		if b == nil {
			open = true
		}
		if j == 0 || a.Before(p.firstDay) {
			p.firstDay = a
		}
		if b != nil && b.After(p.lastDay) {
			p.lastDay = *b
		}

		c := categories[u.cat]
		var jf string
		sensitive := false
		switch x := r.IntN(1000); {
		case x < 12:
			jf, sensitive = "fleksjob", true
		case x < 18:
			jf, sensitive = "skaanejob", true
		case x < 25:
			jf, sensitive = "loentilskud", true
		case x < 45:
			jf = "elev"
		case x < 150:
			jf = genericJobs[r.IntN(len(genericJobs))]
		default:
			jf = c.JobFunctions[r.IntN(len(c.JobFunctions))]
		}
		et := "ansat"
		switch x := r.IntN(100); {
		case jf == "elev":
			et = "elev"
		case x < 12:
			et = "timeloennet"
		case x < 19:
			et = "vikar"
		case x < 25:
			et = "tjenestemand"
		case x < 27:
			et = "praktikant"
		}
		primary := "primary"
		if j > 0 {
			primary = "non-primary"
		}
		if manual {
			primary = map[bool]string{true: "non-primary", false: "explicitly-primary"}[j == 0]
			if j > 1 {
				primary = "non-primary"
			}
		}
		f := writer.Fields{
			"user_key": e.employee, "person": p.uuid, "org_unit": u.uuid,
			"engagement_type": g.cls(FacetEngagementType, et),
			"job_function":    g.cls(FacetJobFunction, jf),
			"primary":         g.cls(FacetPrimaryType, primary),
			"fraction":        fractions[r.IntN(len(fractions))],
		}
		if sensitive && r.IntN(100) < 80 {
			f["extension_1"] = neutralTitles[r.IntN(len(neutralTitles))]
		} else if r.IntN(100) < 25 {
			f["extension_1"] = className(FacetJobFunction, jf) + ", " + u.name
		}
		if r.IntN(100) < 30 {
			f["extension_2"] = fmt.Sprintf("LK %d", 20+r.IntN(30))
		}
		v := fromTo(a, b)
		g.emit(item{typ: mo.Engagement, uuid: e.uuid, validity: v, fields: f, meta: meta(ActorOPUS)})
		g.cat.Engagements = append(g.cat.Engagements, Engagement{Span: span(e.uuid, v), Person: p.uuid, Unit: u.uuid, JobFunction: f["job_function"].(string)})
		if j == 0 {
			p.unit = ui
		}
		if (b == nil || !b.Before(g.today)) && !a.After(g.today) && len(u.staff) < 8 {
			u.staff = append(u.staff, staffRef{person: len(g.persons) - 1, eng: e.uuid, from: a})
		}
	}
	if open {
		p.lastDay = time.Time{}
	}
}

func className(facet, userKey string) string {
	for _, f := range facets {
		if f.UserKey != facet {
			continue
		}
		for _, c := range f.Classes {
			if c.UserKey == userKey {
				return c.Name
			}
		}
	}
	return userKey
}

// primaryEng is the engagement the person's email and accounts hang on.
func (p *personGen) primaryEng() engGen { return p.engs[0] }

// until returns the last day of the person's employment, nil if open.
func (p *personGen) until() *time.Time {
	if p.lastDay.IsZero() {
		return nil
	}
	t := p.lastDay
	return &t
}

func phone(r *rand.Rand, first int) string {
	return fmt.Sprintf("+45%d%07d", first, r.IntN(10000000))
}

func (g *generator) address(r *rand.Rand, facet, typeKey, visibility string, owner writer.Fields, value string, v mo.Validity, actor string) string {
	u := g.ids.uuid("address", len(g.cat.Addresses))
	f := writer.Fields{"user_key": value, "value": value, "address_type": g.cls(facet, typeKey)}
	if visibility != "" {
		f["visibility"] = g.cls(FacetVisibility, visibility)
	}
	a := Address{Span: span(u, v), AddressType: f["address_type"].(string)}
	for k, x := range owner {
		f[k] = x
		switch k {
		case "person":
			a.Person = x.(string)
		case "org_unit":
			a.Unit = x.(string)
		case "engagement":
			a.Engagement = x.(string)
		case "ituser":
			a.ITUser = x.(string)
		}
	}
	scope := ""
	for _, fd := range facets {
		if fd.UserKey == facet {
			for _, c := range fd.Classes {
				if c.UserKey == typeKey {
					scope = c.Scope
				}
			}
		}
	}
	a.Scope = scope
	g.emit(item{typ: mo.Address, uuid: u, validity: v, fields: f, meta: meta(actor), scope: scope})
	g.cat.Addresses = append(g.cat.Addresses, a)
	return u
}

func (g *generator) personAddresses(r *rand.Rand, p *personGen, emails map[string]int) {
	e := p.primaryEng()
	v := fromTo(e.from, p.until())
	if r.IntN(100) < 90 {
		local := asciiFold(strings.Fields(p.given)[0]) + "." + asciiFold(strings.Split(p.surname, "-")[0])
		n := emails[local]
		emails[local] = n + 1
		if n > 0 {
			local += fmt.Sprint(n + 1)
		}
		g.address(r, FacetEmployeeAddressType, "EmailEmployee", "Public",
			writer.Fields{"person": p.uuid, "engagement": e.uuid}, local+"@"+g.domain, v, ActorLDAP)
	}
	if r.IntN(100) < 55 {
		typ, vis := "MobilePhoneEmployee", "Internal"
		if r.IntN(100) < 30 {
			typ = "PhoneEmployee"
		}
		if r.IntN(100) < 40 {
			vis = "Secret"
		}
		g.address(r, FacetEmployeeAddressType, typ, vis, writer.Fields{"person": p.uuid}, phone(r, 2+r.IntN(8)), v, ActorAnne)
	}
	if r.IntN(100) < 30 {
		g.address(r, FacetEmployeeAddressType, "AdressePostEmployee", "Secret", writer.Fields{"person": p.uuid},
			randUUID(r), from(e.from), ActorOPUS)
	}
	if r.IntN(100) < 4 {
		g.address(r, FacetEmployeeAddressType, "LocationEmployee", "Internal",
			writer.Fields{"person": p.uuid, "engagement": e.uuid}, fmt.Sprintf("Lokale %d.%02d", r.IntN(4), 1+r.IntN(40)), v, ActorAnne)
	}
}

func (g *generator) itUser(system, userKey, externalID string, p *personGen, engs []string, v mo.Validity, actor string) string {
	u := g.ids.uuid("ituser", len(g.cat.ITUsers))
	f := writer.Fields{"user_key": userKey, "itsystem": ITSystemUUID(system), "person": p.uuid, "engagements": engs}
	if externalID != "" {
		f["external_id"] = externalID
	}
	g.emit(item{typ: mo.ITUser, uuid: u, validity: v, fields: f, meta: meta(actor)})
	g.cat.ITUsers = append(g.cat.ITUsers, ITUser{Span: span(u, v), UserKey: userKey, ITSystem: ITSystemUUID(system), Person: p.uuid, Engagements: engs})
	return u
}

func (g *generator) itUsers(r *rand.Rand, p *personGen, i int) {
	e := p.primaryEng()
	v := fromTo(p.firstDay, p.until())
	first := asciiFold(strings.Fields(p.given)[0])
	last := asciiFold(p.surname)
	uname := first[:min(3, len(first))] + last[:min(2, len(last))] + fmt.Sprint(i+1)
	one := []string{e.uuid}
	all := make([]string, len(p.engs))
	for j, x := range p.engs {
		all[j] = x.uuid
	}
	if r.IntN(100) < 95 {
		engs := one
		if r.IntN(100) < 20 {
			engs = all
		}
		p.ad = g.itUser("AD", uname, randUUID(r), p, engs, v, ActorLDAP)
		if r.IntN(100) < 8 {
			g.address(r, FacetEmployeeAddressType, "EmailEmployee", "Internal",
				writer.Fields{"person": p.uuid, "ituser": p.ad}, uname+"@"+g.domain, v, ActorLDAP)
		}
		if r.IntN(100) < 25 {
			g.itUser("FK-ORG", uname, randUUID(r), p, one, v, ActorOS2Sync)
		}
		if r.IntN(100) < 3 || len(g.cat.RoleBindings) == 0 {
			f := writer.Fields{"user_key": "RB-" + uname, "role": g.pick(r, FacetRole), "ituser": p.ad}
			if r.IntN(2) == 0 {
				f["org_unit"] = g.units[p.unit].uuid
			}
			u := g.ids.uuid("rolebinding", len(g.cat.RoleBindings))
			g.emit(item{typ: mo.RoleBinding, uuid: u, validity: v, fields: f, meta: meta(ActorBirgitte)})
			g.cat.RoleBindings = append(g.cat.RoleBindings, span(u, v))
		}
	}
	if r.IntN(100) < 25 {
		g.itUser("OPUS", e.employee, "", p, all, v, ActorOPUS)
	}
	if sys := categories[g.units[p.unit].cat].ITSystem; sys != "" && r.IntN(100) < 50 {
		g.itUser(sys, uname, "", p, one, v, ActorBirgitte)
	}
	if r.IntN(100) < 10 {
		g.itUser("Plan2Learn", uname, "", p, one, v, ActorBirgitte)
	}
}

func (g *generator) leave(r *rand.Rand, p *personGen) {
	if !p.alive || (r.IntN(100) >= 3 && len(g.cat.Leaves) > 0) {
		return
	}
	e := p.primaryEng()
	var a, b time.Time
	switch x := r.IntN(10); {
	case x < 4: // on leave now
		a = between(r, addDays(g.today, -150), g.today)
		b = between(r, addDays(g.today, 1), addDays(g.today, 200))
	case x < 8: // was on leave
		a = between(r, addDays(g.today, -900), addDays(g.today, -200))
		b = between(r, addDays(a, 30), addDays(g.today, -1))
	default: // will be on leave
		a = between(r, addDays(g.today, 10), addDays(g.today, 90))
		b = between(r, addDays(a, 30), addDays(a, 300))
	}
	if a.Before(e.from) {
		a = e.from
	}
	if e.to != nil && b.After(*e.to) {
		b = *e.to
	}
	if b.Before(a) {
		return
	}
	u := g.ids.uuid("leave", len(g.cat.Leaves))
	v := fromTo(a, &b)
	f := writer.Fields{"user_key": fmt.Sprintf("O%05d", len(g.cat.Leaves)+1), "person": p.uuid,
		"leave_type": g.pick(r, FacetLeaveType), "engagement": e.uuid}
	g.emit(item{typ: mo.Leave, uuid: u, validity: v, fields: f, meta: meta(ActorOPUS)})
	g.cat.Leaves = append(g.cat.Leaves, span(u, v))
}
