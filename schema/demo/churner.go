package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// step is one transaction of a plan.
type step struct {
	typ  mo.Type
	kind string
	uuid string
	run  func(ctx context.Context) error
}

// plan is one driver op: its steps run in order and stop at the first
// failure; done updates the catalog once all steps succeeded.
type plan struct {
	op    string
	steps []step
	busy  []string
	done  func()
}

type churner struct {
	st     *store.Writer
	w      *writer.Writer
	today  time.Time
	day    mo.Date // today as an MO date
	facets map[string]string
	ids    *ids
	n      int
	org    string
	ops    []weighted
	total  int

	mu        sync.Mutex // guards everything below
	classes   map[string][]Class
	itsystems map[string]string
	scopes    map[string]string
	persons   *set[*Person]
	units     *set[*Unit]
	engs      *set[*Engagement]
	itusers   *set[*ITUser]
	managers  *set[*Manager]
	addresses *set[*Address]
	assocs    *set[*Span]
	leaves    *set[*Span]
	kles      *set[*Span]
	related   *set[*Span]
	roles     *set[*Span]
	owners    *set[*Span]
	engsOf    map[string][]string // person → live engagements
	busy      map[string]bool
	stats     ChurnStats
	inARow    int
}

type weighted struct {
	def    *Op
	weight int
}

func newChurner(st *store.Writer, cat *Catalog, opts ChurnOptions) *churner {
	t := today(opts.Today)
	d := mo.DateOf(t)
	c := &churner{
		st:        st,
		today:     t,
		day:       d,
		facets:    cat.Facets,
		ids:       newIDs(fmt.Sprintf("churn/%d/%d", opts.Seed, cat.Registrations)),
		org:       cat.Organisation,
		classes:   map[string][]Class{},
		itsystems: cat.ITSystems,
		scopes:    map[string]string{},
		persons:   newSet[*Person](len(cat.Persons)),
		units:     newSet[*Unit](len(cat.Units)),
		engs:      newSet[*Engagement](len(cat.Engagements)),
		itusers:   newSet[*ITUser](len(cat.ITUsers)),
		managers:  newSet[*Manager](len(cat.Managers)),
		addresses: newSet[*Address](len(cat.Addresses)),
		assocs:    newSet[*Span](len(cat.Associations)),
		leaves:    newSet[*Span](len(cat.Leaves)),
		kles:      newSet[*Span](len(cat.KLEs)),
		related:   newSet[*Span](len(cat.RelatedUnits)),
		roles:     newSet[*Span](len(cat.RoleBindings)),
		owners:    newSet[*Span](len(cat.Owners)),
		engsOf:    map[string][]string{},
		busy:      map[string]bool{},
		stats:     ChurnStats{Changes: map[ChangeKey]int64{}, Ops: map[string]int64{}},
	}
	c.w = writer.New(st, scopeLookup{c}, cat.Organisation)
	for f, ks := range cat.Classes {
		c.classes[f] = append([]Class(nil), ks...)
		for _, k := range ks {
			c.scopes[k.UUID] = k.Scope
		}
	}
	// Only objects valid today or later are changed; copies, so the
	// caller's catalog stays as it was.
	for i := range cat.Persons {
		if x := cat.Persons[i]; x.LiveOn(d) {
			c.persons.add(&x)
		}
	}
	for i := range cat.Units {
		if x := cat.Units[i]; x.LiveOn(d) {
			c.units.add(&x)
		}
	}
	for i := range cat.Engagements {
		if x := cat.Engagements[i]; x.LiveOn(d) {
			c.addEng(&x)
		}
	}
	for i := range cat.ITUsers {
		if x := cat.ITUsers[i]; x.LiveOn(d) {
			x.Engagements = append([]string(nil), x.Engagements...)
			c.itusers.add(&x)
		}
	}
	for i := range cat.Managers {
		if x := cat.Managers[i]; x.LiveOn(d) {
			c.managers.add(&x)
		}
	}
	for i := range cat.Addresses {
		if x := cat.Addresses[i]; x.LiveOn(d) {
			c.addresses.add(&x)
		}
	}
	for _, p := range []struct {
		from []Span
		to   *set[*Span]
	}{{cat.Associations, c.assocs}, {cat.Leaves, c.leaves}, {cat.KLEs, c.kles}, {cat.RelatedUnits, c.related}, {cat.RoleBindings, c.roles}, {cat.Owners, c.owners}} {
		for i := range p.from {
			if x := p.from[i]; x.LiveOn(d) {
				p.to.add(&x)
			}
		}
	}
	for _, def := range Ops {
		w := def.Weight
		if o, ok := opts.Weights[def.Name]; ok {
			w = o
		}
		if w > 0 {
			c.ops = append(c.ops, weighted{def: def, weight: w})
			c.total += w
		}
	}
	return c
}

// scopeLookup gives writer.Writer the scopes of address types from the
// catalog (the store has no lookup of its own).
type scopeLookup struct{ c *churner }

func (s scopeLookup) ClassScope(_ context.Context, class string) (string, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	scope, ok := s.c.scopes[class]
	if !ok {
		return "", fmt.Errorf("class %s is not in the catalog", class)
	}
	return scope, nil
}

func (c *churner) addEng(e *Engagement) {
	c.engs.add(e)
	c.engsOf[e.Person] = append(c.engsOf[e.Person], e.UUID)
}

func (c *churner) dropEng(uuid string) {
	e, ok := c.engs.get(uuid)
	if !ok {
		return
	}
	c.engs.remove(uuid)
	list := c.engsOf[e.Person]
	for i, u := range list {
		if u == uuid {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(c.engsOf, e.Person)
	} else {
		c.engsOf[e.Person] = list
	}
}

// forget removes an object that could not be changed from every set, so
// a long run does not keep failing on it.
func (c *churner) forget(uuid string) {
	c.persons.remove(uuid)
	c.units.remove(uuid)
	c.dropEng(uuid)
	c.itusers.remove(uuid)
	c.managers.remove(uuid)
	c.addresses.remove(uuid)
	for _, s := range []*set[*Span]{c.assocs, c.leaves, c.kles, c.related, c.roles, c.owners} {
		s.remove(uuid)
	}
}

// setToday moves the churner's today to the day of t.
func (c *churner) setToday(t time.Time) {
	if d := day(t); !d.Equal(c.today) {
		c.today, c.day = d, mo.DateOf(d)
	}
}

func (c *churner) newUUID(kind string) string {
	c.n++
	return c.ids.uuid(kind, c.n)
}

// --- steps

func (c *churner) create(typ mo.Type, uuid string, v mo.Validity, f writer.Fields, actor string) step {
	return step{typ: typ, kind: KindCreate, uuid: uuid, run: func(ctx context.Context) error {
		return c.w.Create(ctx, typ, uuid, v, f, writer.Meta{Actor: actor})
	}}
}

// update sets fields f of the object s from day on; a day after the
// object's last day becomes its last day, so the change stays inside the
// object's validity.
func (c *churner) update(typ mo.Type, s Span, day time.Time, f writer.Fields, actor, note string) step {
	if s.To != nil && day.After(s.To.Day()) {
		day = s.To.Day()
	}
	return step{typ: typ, kind: KindUpdate, uuid: s.UUID, run: func(ctx context.Context) error {
		return c.w.Update(ctx, typ, s.UUID, from(day), f, writer.Meta{Actor: actor, Note: note})
	}}
}

func (c *churner) terminate(typ mo.Type, uuid string, lastDay time.Time, actor string) step {
	return step{typ: typ, kind: KindTerminate, uuid: uuid, run: func(ctx context.Context) error {
		return c.w.Terminate(ctx, typ, uuid, mo.DateOf(lastDay), writer.Meta{Actor: actor})
	}}
}

func (c *churner) delete(typ mo.Type, uuid string, actor string) step {
	return step{typ: typ, kind: KindDelete, uuid: uuid, run: func(ctx context.Context) error {
		return c.w.Delete(ctx, typ, uuid, writer.Meta{Actor: actor})
	}}
}

// read records a read of uuids by actor in the access log.
func (c *churner) read(typ mo.Type, model, operation, actor string, args any, uuids []string) step {
	sort.Strings(uuids)
	return step{typ: typ, kind: KindRead, run: func(ctx context.Context) error {
		b, err := json.Marshal(args)
		if err != nil {
			return err
		}
		return c.st.RecordRead(ctx, actor, model, operation, b, uuids)
	}}
}
