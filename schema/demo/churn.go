package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	// Today is the day changes are dated around; zero means the current day
	// in Europe/Copenhagen, followed across midnight in a long run.
	Today time.Time `yaml:"today"`
	// Workers is the number of changes in flight at once; default 1, or 4
	// when Rate is 0 or above 300. On 2 shared cores and a 50,000-person
	// store one worker made about 370 changes/s, two 400-560, four 720-730,
	// eight 650-670 (PostgreSQL is the bottleneck). Each object is changed
	// by one worker at a time; with more than one worker the order of
	// changes, and so their outcome, is no longer fixed by Seed.
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
// churn goes on, backing off while changes keep failing; it returns an
// error only when it cannot start or after 50 failed changes in a row
// (about two minutes of failures).
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
		failed, last := c.inARow, c.stats.LastError
		c.mu.Unlock()
		if failed >= maxErrorsInARow {
			fatal = fmt.Errorf("demo churn: %d changes in a row failed, the last: %s", failed, last)
			break
		}
		if failed > 3 {
			// The store may be restarting: back off, so that 50 failures
			// take about two minutes, not 50 milliseconds.
			t := time.NewTimer(min(time.Duration(failed)*100*time.Millisecond, 5*time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				break loop
			case <-t.C:
			}
		}
		c.mu.Lock()
		if opts.Today.IsZero() {
			c.setToday(time.Now()) // a long run follows the clock
		}
		p := c.plan(r)
		c.mu.Unlock()
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
