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

// Op is one driver operation of churn: a realistic MO change such as a
// hire or an engagement moving unit. Its name is the driver_op of the
// changes it makes (as in ops.jsonl of the os2mo-wal corpus); each of its
// transactions also has a kind (create, update, terminate, delete, read).
type Op struct {
	// Name is the stable driver_op name.
	Name string
	// Weight is the op's share of the mix (relative to the others).
	Weight int
	// plan picks the objects and values; nil when there is nothing to do.
	// Called with the churner's lock held; it must not block.
	plan func(c *churner, r *rand.Rand) *plan
}

// Ops is churn's weighted table of driver ops. Reads are about a third of
// the mix; most writes are updates of engagements, addresses and IT users.
var Ops = []*Op{
	{"hire", 40, planHire},
	{"eng_move", 50, planEngMove(false)},
	{"eng_move_future", 25, planEngMove(true)},
	{"eng_job_function", 45, planEngJobFunction},
	{"eng_title", 15, planEngTitle},
	{"eng_terminate", 30, planEngTerminate},
	{"eng_create_future", 15, planEngCreateFuture},
	{"eng_delete", 5, planEngDelete},
	{"person_rename", 20, planPersonRename},
	{"person_nickname", 10, planPersonNickname},
	{"addr_create", 35, planAddrCreate},
	{"addr_change_value", 40, planAddrChange},
	{"addr_terminate", 20, planTerminateSpan(func(c *churner) *set[*Address] { return c.addresses }, mo.Address)},
	{"addr_delete", 20, planDelete(func(c *churner) *set[*Address] { return c.addresses }, mo.Address)},
	{"ituser_create", 25, planITUserCreate},
	{"ituser_link", 30, planITUserLink},
	{"ituser_unlink", 20, planITUserUnlink},
	{"ituser_terminate", 15, planTerminateSpan(func(c *churner) *set[*ITUser] { return c.itusers }, mo.ITUser)},
	{"ituser_delete", 5, planDelete(func(c *churner) *set[*ITUser] { return c.itusers }, mo.ITUser)},
	{"manager_vacant", 20, planManagerVacant},
	{"manager_assign", 20, planManagerAssign},
	{"manager_create", 8, planManagerCreate},
	{"manager_terminate", 8, planTerminateSpan(func(c *churner) *set[*Manager] { return c.managers }, mo.Manager)},
	{"unit_rename", 15, planUnitRename},
	{"unit_create", 8, planUnitCreate},
	{"unit_move", 5, planUnitMove},
	{"assoc_create", 10, planAssocCreate},
	{"assoc_terminate", 8, planTerminateSpan(func(c *churner) *set[*Span] { return c.assocs }, mo.Association)},
	{"assoc_delete", 2, planDelete(func(c *churner) *set[*Span] { return c.assocs }, mo.Association)},
	{"leave_create", 10, planLeaveCreate},
	{"leave_terminate", 3, planTerminateSpan(func(c *churner) *set[*Span] { return c.leaves }, mo.Leave)},
	{"kle_create", 5, planKLECreate},
	{"kle_delete", 5, planDelete(func(c *churner) *set[*Span] { return c.kles }, mo.KLE)},
	{"related_create", 6, planRelatedCreate},
	{"related_delete", 6, planDelete(func(c *churner) *set[*Span] { return c.related }, mo.RelatedUnit)},
	{"rolebinding_create", 6, planRoleBindingCreate},
	{"rolebinding_delete", 5, planDelete(func(c *churner) *set[*Span] { return c.roles }, mo.RoleBinding)},
	{"owner_create", 4, planOwnerCreate},
	{"owner_delete", 3, planDelete(func(c *churner) *set[*Span] { return c.owners }, mo.Owner)},
	{"class_create", 2, planClassCreate},
	{"class_rename", 2, planClassRename},
	{"read_employees", 70, planRead("employees")},
	{"read_engagements", 60, planRead("engagements")},
	{"read_org_units", 40, planRead("org_units")},
	{"read_itusers", 30, planRead("itusers")},
	{"read_addresses", 30, planRead("addresses")},
	{"read_managers", 20, planRead("managers")},
	{"read_classes", 20, planReadClasses},
	{"read_export", 10, planReadExport},
}

func opByName(name string) *Op {
	for _, o := range Ops {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// --- helpers; all called with the churner's lock held.

// changeDay is the first day of an ordinary change: mostly today, some
// back-dated corrections.
func (c *churner) changeDay(r *rand.Rand) time.Time {
	if r.IntN(10) < 8 {
		return c.today
	}
	return addDays(c.today, -1-r.IntN(30))
}

// futureDay is the first day of a change planned ahead.
func (c *churner) futureDay(r *rand.Rand) time.Time { return addDays(c.today, 1+r.IntN(120)) }

func (c *churner) pickClass(r *rand.Rand, facet string) (string, bool) {
	ks := c.classes[facet]
	if len(ks) == 0 {
		return "", false
	}
	return ks[r.IntN(len(ks))].UUID, true
}

// classOr returns the class with user_key in facet, or any class of it.
func (c *churner) classOr(r *rand.Rand, facet, userKey string) (string, bool) {
	for _, k := range c.classes[facet] {
		if k.UserKey == userKey {
			return k.UUID, true
		}
	}
	return c.pickClass(r, facet)
}

// addrType draws an address type of facet whose scope is one of scopes
// (any scope when none are given).
func (c *churner) addrType(r *rand.Rand, facet string, scopes ...string) (Class, bool) {
	var ks []Class
	for _, k := range c.classes[facet] {
		if _, ok := mo.AddressPrefixes[k.Scope]; ok && (len(scopes) == 0 || contains(scopes, k.Scope)) {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return Class{}, false
	}
	return ks[r.IntN(len(ks))], true
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// value draws an address value fitting scope.
func value(r *rand.Rand, scope string) string {
	switch scope {
	case "EMAIL":
		return fmt.Sprintf("%s%d@kommune.dk", asciiFold(surnames[r.IntN(len(surnames))]), r.IntN(100000))
	case "PHONE":
		return phone(r, 2+r.IntN(8))
	case "DAR":
		return randUUID(r)
	case "EAN":
		return fmt.Sprintf("579800%07d", r.IntN(10000000))
	case "PNUMBER":
		return fmt.Sprintf("10%08d", r.IntN(100000000))
	case "WWW":
		return fmt.Sprintf("www.kommune.dk/%s", asciiFold(places[r.IntN(len(places))]))
	}
	return fmt.Sprintf("Lokale %d.%02d", r.IntN(4), 1+r.IntN(40))
}

func (c *churner) openUnit(u *Unit) bool {
	return u.To == nil && (u.From == nil || *u.From <= c.day)
}

// startOf returns the later of t and the span's first day.
func startOf(t time.Time, s Span) time.Time {
	if s.From != nil && t.Before(s.From.Day()) {
		return s.From.Day()
	}
	return t
}

// lastDayFor clamps a termination's last day into the span; false when the
// span leaves no room.
func lastDayFor(t time.Time, s Span) (time.Time, bool) {
	t = startOf(t, s)
	if s.To != nil && !t.Before(s.To.Day()) {
		t = addDays(s.To.Day(), -1)
		if s.From != nil && t.Before(s.From.Day()) {
			return t, false
		}
	}
	return t, true
}

func (c *churner) pickEng(r *rand.Rand) (*Engagement, bool) {
	return c.engs.pick(r, func(e *Engagement) bool { return c.free(e.UUID) })
}

func randomName(r *rand.Rand) (male bool, given, surname string) {
	male = r.IntN(2) == 0
	names := femaleNames
	if male {
		names = maleNames
	}
	return male, names[r.IntN(len(names))], surnames[r.IntN(len(surnames))]
}

func newUnitName(r *rand.Rand) string {
	c := categories[r.IntN(len(categories))]
	switch r.IntN(3) {
	case 0:
		return replacePlace(c.Institutions[r.IntN(len(c.Institutions))], places[r.IntN(len(places))])
	case 1:
		return c.Teams[r.IntN(len(c.Teams))] + " " + places[r.IntN(len(places))]
	}
	return c.Departments[r.IntN(len(c.Departments))] + " " + []string{"Nord", "Syd", "Øst", "Vest", "Midt"}[r.IntN(5)]
}

var writers = []string{ActorOPUS, ActorAnne, ActorMorten, ActorBirgitte, ActorLDAP}

func pickActor(r *rand.Rand, actors ...string) string {
	if len(actors) == 0 {
		actors = writers
	}
	return actors[r.IntN(len(actors))]
}

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
		uname := local[:min(4, len(local))] + fmt.Sprint(c.n)
		steps = append(steps, c.create(mo.ITUser, iu, from(start), writer.Fields{"user_key": uname,
			"external_id": randUUID(r), "itsystem": ad, "person": pu, "engagements": []string{eu}}, ActorLDAP))
		adds = append(adds, func() {
			c.itusers.add(&ITUser{Span: span(iu, from(start)), UserKey: uname, ITSystem: ad, Person: pu, Engagements: []string{eu}})
		})
	}
	if at, ok := c.addrType(r, FacetEmployeeAddressType, "PHONE"); ok && r.IntN(2) == 0 {
		au := c.newUUID("address")
		steps = append(steps, c.create(mo.Address, au, from(start), writer.Fields{"user_key": "tlf", "value": phone(r, 2+r.IntN(8)),
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

// --- generic terminate and delete

type liveObject interface {
	keyed
	span() Span
}

func (s *Span) span() Span { return *s }

func planTerminateSpan[T liveObject](of func(*churner) *set[T], typ mo.Type) func(*churner, *rand.Rand) *plan {
	return func(c *churner, r *rand.Rand) *plan {
		x, ok := of(c).pick(r, func(x T) bool { return c.free(x.id()) })
		if !ok {
			return nil
		}
		last, ok := lastDayFor(between(r, addDays(c.today, -3), addDays(c.today, 45)), x.span())
		if !ok {
			return nil
		}
		u := x.id()
		return &plan{busy: []string{u},
			steps: []step{c.terminate(typ, u, last, pickActor(r))},
			done:  func() { c.forget(u) }}
	}
}

func planDelete[T keyed](of func(*churner) *set[T], typ mo.Type) func(*churner, *rand.Rand) *plan {
	return func(c *churner, r *rand.Rand) *plan {
		x, ok := of(c).pick(r, func(x T) bool { return c.free(x.id()) })
		if !ok {
			return nil
		}
		u := x.id()
		return &plan{busy: []string{u},
			steps: []step{c.delete(typ, u, pickActor(r, ActorAnne, ActorMorten, ActorBirgitte))},
			done:  func() { c.forget(u) }}
	}
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

// --- reads (access log)

var readers = []string{ActorOS2Sync, ActorLDAP, ActorOrgViewer, ActorPlan2Learn, ActorAnne, ActorMorten, ActorBirgitte}

func planRead(operation string) func(*churner, *rand.Rand) *plan {
	return func(c *churner, r *rand.Rand) *plan {
		n := 1
		if r.IntN(10) >= 6 {
			n = 2 + r.IntN(19)
		}
		var uuids []string
		var typ mo.Type
		model := "OrganisationFunktion"
		switch operation {
		case "employees":
			typ, model, uuids = mo.Person, "Bruger", c.persons.sample(r, n)
		case "org_units":
			typ, model, uuids = mo.OrgUnit, "OrganisationEnhed", c.units.sample(r, n)
		case "engagements":
			typ, uuids = mo.Engagement, c.engs.sample(r, n)
		case "itusers":
			typ, uuids = mo.ITUser, c.itusers.sample(r, n)
		case "addresses":
			typ, uuids = mo.Address, c.addresses.sample(r, n)
		case "managers":
			typ, uuids = mo.Manager, c.managers.sample(r, n)
		}
		if len(uuids) == 0 {
			return nil
		}
		args := map[string]any{"filter": map[string]any{"uuids": uuids}}
		if len(uuids) > 5 {
			args = map[string]any{"filter": map[string]any{"from_date": string(c.day)}, "limit": len(uuids)}
		}
		return &plan{steps: []step{c.read(typ, model, operation, pickActor(r, readers...), args, uuids)}}
	}
}

func planReadClasses(c *churner, r *rand.Rand) *plan {
	keys := make([]string, 0, len(c.classes))
	for f := range c.classes {
		keys = append(keys, f)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	f := keys[r.IntN(len(keys))]
	var uuids []string
	for _, k := range c.classes[f] {
		uuids = append(uuids, k.UUID)
	}
	args := map[string]any{"filter": map[string]any{"facet_user_keys": []string{f}}}
	return &plan{steps: []step{c.read(mo.Class, "Klasse", "classes", pickActor(r, readers...), args, uuids)}}
}

// planReadExport is the SQL export's bulk read of many persons.
func planReadExport(c *churner, r *rand.Rand) *plan {
	uuids := c.persons.sample(r, 200+r.IntN(801))
	if len(uuids) == 0 {
		return nil
	}
	args := map[string]any{"limit": len(uuids), "offset": r.IntN(10) * 1000}
	return &plan{steps: []step{c.read(mo.Person, "Bruger", "employees", ActorSQLExport, args, uuids)}}
}
