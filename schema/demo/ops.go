package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
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
	{"unit_label", 4, planUnitLabel},
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
