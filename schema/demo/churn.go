package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// Change kinds, as ops.jsonl of the os2mo-wal corpus names them, plus read.
const (
	KindCreate    = "create"
	KindUpdate    = "update"
	KindTerminate = "terminate"
	KindDelete    = "delete"
	KindRead      = "read"
)

// ChurnOptions say how Churn changes the store.
type ChurnOptions struct {
	// Seed selects the sequence of changes; with Workers 1 the same seed on
	// the same store makes the same changes.
	Seed int64 `yaml:"seed"`
	// Rate is the number of changes per second; 0 means as fast as possible.
	// A change is one write transaction or one recorded read.
	Rate float64 `yaml:"rate"`
	// Duration stops churn after this long; 0 means no limit.
	Duration time.Duration `yaml:"duration"`
	// MaxChanges stops churn after this many attempted changes (successful,
	// no-change or failed; an op that writes several objects, like hire, is
	// finished); 0 means no limit.
	MaxChanges int `yaml:"max_changes"`
	// Today is the day changes are dated around; zero means today in
	// Europe/Copenhagen.
	Today time.Time `yaml:"today"`
	// Workers is the number of changes in flight at once; default 1, or 4
	// when Rate is 0 or above 300. Each object is changed by one worker at
	// a time.
	Workers int `yaml:"workers"`
	// ProgressEvery is how often progress is called; default 1s.
	ProgressEvery time.Duration `yaml:"progress_every"`
	// Weights overrides the weight of driver ops by name (see Ops); 0
	// disables one.
	Weights map[string]int `yaml:"weights"`
}

// Validate reports options Churn cannot use.
func (o ChurnOptions) Validate() error {
	if o.Rate < 0 || o.Duration < 0 || o.MaxChanges < 0 || o.Workers < 0 || o.ProgressEvery < 0 {
		return errors.New("demo churn: rate, duration, max_changes, workers and progress_every must not be negative")
	}
	for name := range o.Weights {
		if opByName(name) == nil {
			return fmt.Errorf("demo churn: weights: no driver op %q (see demo.Ops)", name)
		}
	}
	return nil
}

// ChangeKey names one kind of change of one MO type.
type ChangeKey struct {
	Type mo.Type
	Kind string // KindCreate, KindUpdate, KindTerminate, KindDelete or KindRead
}

// ChurnStats counts what churn did.
type ChurnStats struct {
	// Changes counts successful writes and reads by (type, kind); an update
	// the writer rejected as changing nothing is not counted here.
	Changes map[ChangeKey]int64
	// Ops counts successful changes by driver op (hire, eng_move, ...).
	Ops map[string]int64
	// Total is the sum of Changes.
	Total int64
	// NoChange counts updates skipped because they changed nothing.
	NoChange int64
	// Errors counts failed changes; LastError is the latest.
	Errors    int64
	LastError string
	// Elapsed is the time since churn started.
	Elapsed time.Duration
}

// Rate is the achieved rate in changes per second.
func (s ChurnStats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Total) / s.Elapsed.Seconds()
}

// maxErrorsInARow stops churn: the store is gone or broken.
const maxErrorsInARow = 50

// Churn changes the MO store pool points at with a weighted mix of
// realistic MO changes (see Ops), each through schema/writer in its own
// transaction, and reads recorded in the access log, until ctx is
// cancelled, opts.Duration has passed or opts.MaxChanges were made. It
// loads the catalog from the store first, so it works on any seeded store.
// progress (optional) is called every opts.ProgressEvery and at the end,
// from Churn's goroutine. A cancelled context or the end of Duration is a
// clean stop (nil error). A failed change is counted in the stats and
// churn goes on; it returns an error only when it cannot start or after
// 50 failed changes in a row.
func Churn(ctx context.Context, pool *pgxpool.Pool, opts ChurnOptions, progress func(ChurnStats)) (ChurnStats, error) {
	if err := opts.Validate(); err != nil {
		return ChurnStats{}, err
	}
	cat, err := LoadCatalog(ctx, pool, opts.Today)
	if err != nil {
		return ChurnStats{}, fmt.Errorf("demo churn: %w", err)
	}
	if cat.Organisation == "" || len(cat.Persons) == 0 || len(cat.Units) == 0 {
		return ChurnStats{}, errors.New("demo churn: the store holds no organisation, persons or units: seed it first (demo.Seed)")
	}
	c := newChurner(store.NewWriter(pool), cat, opts)
	return c.run(ctx, opts, progress)
}

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

func (c *churner) newUUID(kind string) string {
	c.n++
	return c.ids.uuid(kind, c.n)
}

func (c *churner) run(ctx context.Context, opts ChurnOptions, progress func(ChurnStats)) (ChurnStats, error) {
	start := time.Now()
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	workers := opts.Workers
	if workers == 0 {
		workers = 1
		if opts.Rate == 0 || opts.Rate > 300 {
			workers = 4
		}
	}
	every := opts.ProgressEvery
	if every == 0 {
		every = time.Second
	}
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0x636875726e))

	plans := make(chan *plan)
	var wg sync.WaitGroup
	if workers > 1 {
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range plans {
					c.exec(ctx, p)
				}
			}()
		}
	}
	snapshot := func() ChurnStats {
		c.mu.Lock()
		defer c.mu.Unlock()
		s := c.stats
		s.Changes = make(map[ChangeKey]int64, len(c.stats.Changes))
		for k, v := range c.stats.Changes {
			s.Changes[k] = v
		}
		s.Ops = make(map[string]int64, len(c.stats.Ops))
		for k, v := range c.stats.Ops {
			s.Ops[k] = v
		}
		s.Elapsed = time.Since(start)
		return s
	}

	var fatal error
	next := time.Now()
	lastProgress := time.Now()
	dispatched, idle := 0, 0
loop:
	for ctx.Err() == nil && (opts.MaxChanges == 0 || dispatched < opts.MaxChanges) {
		c.mu.Lock()
		p := c.plan(r)
		if c.inARow >= maxErrorsInARow {
			fatal = fmt.Errorf("demo churn: %d changes in a row failed, the last: %s", c.inARow, c.stats.LastError)
		}
		c.mu.Unlock()
		if fatal != nil {
			break
		}
		if p == nil {
			if idle++; idle > 10000 {
				fatal = errors.New("demo churn: found nothing to change (is the store empty?)")
				break
			}
			continue
		}
		idle = 0
		if opts.Rate > 0 {
			if wait := time.Until(next); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					c.release(p)
					break loop
				case <-t.C:
				}
			} else if wait < -time.Second {
				next = time.Now() // fell behind: do not burst to catch up
			}
			next = next.Add(time.Duration(float64(len(p.steps)) / opts.Rate * float64(time.Second)))
		}
		if workers == 1 {
			c.exec(ctx, p)
		} else {
			select {
			case plans <- p:
			case <-ctx.Done():
				c.release(p)
				break loop
			}
		}
		dispatched += len(p.steps)
		if progress != nil && time.Since(lastProgress) >= every {
			progress(snapshot())
			lastProgress = time.Now()
		}
	}
	close(plans)
	wg.Wait()
	s := snapshot()
	if progress != nil {
		progress(s)
	}
	return s, fatal
}

// release frees the objects a plan had reserved.
func (c *churner) release(p *plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range p.busy {
		delete(c.busy, u)
	}
}

// exec runs a plan's steps and records the outcome.
func (c *churner) exec(ctx context.Context, p *plan) {
	ok := true
	for _, s := range p.steps {
		err := s.run(ctx)
		c.mu.Lock()
		switch {
		case err == nil:
			c.stats.Changes[ChangeKey{s.typ, s.kind}]++
			c.stats.Ops[p.op]++
			c.stats.Total++
			c.inARow = 0
		case errors.Is(err, writer.ErrNoChange) || errors.Is(err, store.ErrNoChange):
			c.stats.NoChange++
			c.inARow = 0
		case ctx.Err() != nil:
			ok = false // stopping: not the store's fault
		default:
			ok = false
			c.stats.Errors++
			c.inARow++
			c.stats.LastError = fmt.Sprintf("%s: %s %s %s: %v", p.op, s.kind, s.typ, s.uuid, err)
			if s.kind != KindCreate && s.kind != KindRead {
				c.forget(s.uuid)
			}
		}
		c.mu.Unlock()
		if !ok {
			break
		}
	}
	c.mu.Lock()
	if ok && p.done != nil {
		p.done()
	}
	for _, u := range p.busy {
		delete(c.busy, u)
	}
	c.mu.Unlock()
}

// plan draws the next driver op and plans it; nil when the drawn op found
// nothing to change. Called with mu held.
func (c *churner) plan(r *rand.Rand) *plan {
	x := r.IntN(c.total)
	for _, w := range c.ops {
		if x < w.weight {
			p := w.def.plan(c, r)
			if p == nil {
				return nil
			}
			p.op = w.def.Name
			for _, u := range p.busy {
				c.busy[u] = true
			}
			return p
		}
		x -= w.weight
	}
	return nil
}

func (c *churner) free(uuid string) bool { return !c.busy[uuid] }

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
