package fk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// Deps are what a Sink needs besides its Config.
type Deps struct {
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger).
	KafkaOpts []kgo.Opt
	Topics    event.Topics
	// Resync sends every FK object once at start, whatever was sent
	// before (a new FK tenant), with bypassCache.
	Resync bool
	// Replicas of the state topic when it is created (0: the broker's
	// default).
	Replicas int16
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// FullInterval is how often every owner is re-rendered although no
	// event touched it (it heals what an event could not reach, e.g. a
	// duplicate FK uuid released). Default 1h.
	FullInterval time.Duration
}

// followed are the MO types the sink renders from.
var followed = []mo.Type{mo.Person, mo.OrgUnit, mo.Engagement, mo.ITUser, mo.Address, mo.Manager, mo.KLE, mo.Class, mo.ITSystem}

// Sink keeps FK Organisation in step with MO through OS2sync. Run it once;
// one process per transactional id (a second one fences the first).
type Sink struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	m    *metrics
	v    *view.View
	fol  *view.Follower
	cl   *Client
	st   *store

	mu     sync.Mutex
	busy   bool // a reconcile is running (under mu)
	dirty  *dirtySet
	wake   chan struct{}
	claims map[string]string // FK object key → owner whose latest render has it
	// reported holds the duplicate FK uuids already logged ("key owner").
	reported map[string]bool
	stateMu  sync.Mutex // guards st while a stage sends concurrently
	passes   atomic.Int64
	// lastPosition is when the view position was last committed.
	lastPosition time.Time
	committedPos map[view.Partition]int64
}

// Passes returns how many reconciles completed and were committed since
// Run started (the first is the full one at start).
func (s *Sink) Passes() int64 { return s.passes.Load() }

// Idle reports whether the sink has reconciled at least once and nothing
// touched since is waiting.
func (s *Sink) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passes.Load() > 0 && s.dirty.empty() && !s.busy
}

// dirtySet is what events touched since the last reconcile.
type dirtySet struct {
	persons, units, wide, managers map[string]bool
	all                            bool
	first                          time.Time
	// commits holds, per owner, the oldest MO commit time not yet in FK.
	commits map[string]time.Time
}

func newDirty() *dirtySet {
	return &dirtySet{persons: map[string]bool{}, units: map[string]bool{}, wide: map[string]bool{}, managers: map[string]bool{}, commits: map[string]time.Time{}}
}

func (d *dirtySet) empty() bool {
	return !d.all && len(d.persons)+len(d.units)+len(d.wide)+len(d.managers) == 0
}

// New checks cfg (Defaults applied) and builds the sink; it connects to
// nothing until Run.
func New(cfg Config, deps Deps) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.FullInterval == 0 {
		deps.FullInterval = time.Hour
	}
	s := &Sink{cfg: cfg, deps: deps, log: deps.Logger, m: newMetrics(deps.Registry), v: view.New(),
		dirty: newDirty(), wake: make(chan struct{}, 1), claims: map[string]string{}, reported: map[string]bool{}}
	cl, err := NewClient(cfg.OS2sync, s.m)
	if err != nil {
		return nil, err
	}
	s.cl = cl
	s.fol, err = view.NewFollower(s.v, view.FollowerDeps{Name: "fk", KafkaOpts: deps.KafkaOpts, Topics: deps.Topics,
		Types: followed, OnTouch: s.touched, Logger: deps.Logger, Registry: deps.Registry})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// touched is the follower's callback: it notes which owners to re-render.
// Events read before the view caught up are skipped: everything is
// reconciled once then.
func (s *Sink) touched(t view.Touch) {
	if t.Replaying {
		return
	}
	s.mu.Lock()
	d := s.dirty
	var owners []string
	mark := func(m map[string]bool, xs []string) {
		for _, x := range xs {
			m[x] = true
		}
		owners = append(owners, xs...)
	}
	switch {
	case len(t.Owners.Classes) > 0:
		d.all = true
	case t.Type == mo.OrgUnit:
		// Name, parent, label, level, type: the subtree's relevance and
		// parents and the positions in it may change.
		mark(d.wide, t.Owners.Units)
	case t.Type == mo.ITUser:
		// A unit's FK IT user is its FK uuid (children and positions
		// name it); a person's FK IT user is also its ManagerUuid.
		mark(d.wide, t.Owners.Units)
		mark(d.persons, t.Owners.Persons)
		if s.cfg.SyncManagers {
			mark(d.managers, t.Owners.Persons)
		}
	case t.Type == mo.Engagement:
		mark(d.persons, t.Owners.Persons)
	default:
		mark(d.persons, t.Owners.Persons)
		mark(d.units, t.Owners.Units)
	}
	if d.first.IsZero() {
		d.first = time.Now()
	}
	if t.Event != nil && !t.Event.Source.CommitTime.IsZero() {
		for _, o := range owners {
			if c, ok := d.commits[o]; !ok || t.Event.Source.CommitTime.Before(c) {
				d.commits[o] = t.Event.Source.CommitTime
			}
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run follows MO, reconciles every owner once caught up, then each owner
// an event touches, until ctx ends (nil) or a permanent error.
func (s *Sink) Run(ctx context.Context) error {
	st, err := openStore(ctx, s.deps.KafkaOpts, s.cfg.StateTopic, s.deps.Topics.DeadLetter(), s.cfg.TransactionalID, s.deps.Replicas)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.st = st
	defer st.close()
	s.log.Info("fk sink started", slog.String("os2sync", s.cfg.OS2sync.URL), slog.String("state_topic", s.cfg.StateTopic),
		slog.Int("fk_objects_sent_before", len(st.entries)), slog.Bool("resync", s.deps.Resync), slog.Bool("dry_run", s.cfg.DryRun))
	if err := s.waitTopics(ctx, kadm.NewClient(st.cl)); err != nil {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.fol.Run(ctx) })
	g.Go(func() error {
		if err := s.fol.WaitReady(ctx); err != nil {
			return nil
		}
		return s.loop(ctx)
	})
	err = g.Wait()
	if ctx.Err() != nil && !errors.As(err, new(permanentError)) {
		return nil
	}
	return err
}

// loop reconciles: everything once, then what events touch (batched by
// Batch.MaxWait), and everything again every FullInterval.
func (s *Sink) loop(ctx context.Context) error {
	full := true
	resync := s.deps.Resync
	lastFull := time.Now()
	for attempt := 0; ; {
		if !full {
			idle, err := s.waitDirty(ctx, lastFull)
			if err != nil {
				return nil
			}
			if idle {
				// Nothing to reconcile: only let the position follow.
				if err := s.commitAt(ctx, s.fol.Position()); err != nil && errors.As(err, new(permanentError)) {
					return err
				}
				continue
			}
		}
		// The position before the dirty set is taken: every event below it
		// is in this reconcile or an earlier one.
		pos := s.fol.Position()
		s.mu.Lock()
		d := s.dirty
		s.dirty, s.busy = newDirty(), true
		s.mu.Unlock()
		if full || time.Since(lastFull) >= s.deps.FullInterval {
			d.all = true
		}
		writes, err := s.reconcile(ctx, d, resync)
		if err == nil {
			err = s.commitAt(ctx, pos)
		}
		s.mu.Lock()
		s.busy = false
		s.mu.Unlock()
		if err == nil {
			if s.passes.Add(1) == 1 {
				s.log.Info("fk caught up: every unit and person reconciled with FK Organisation", slog.Int("writes", writes),
					slog.Int("fk_objects", len(s.st.entries)), slog.Bool("resync", resync))
			}
			if d.all {
				lastFull = time.Now()
			}
			full, resync, attempt = false, false, 0
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return err
		}
		// Put the owners back: they are tried again with the next batch.
		s.mu.Lock()
		s.dirty = merge(d, s.dirty)
		s.mu.Unlock()
		full = false
		s.log.Warn("fk reconcile failed; retrying", slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := s.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return nil
		}
		attempt++
	}
}

// waitDirty blocks until something is dirty and Batch.MaxWait passed
// since it became so, or a full reconcile is due; or, with idle true,
// until the view position moved and was not committed for a while.
func (s *Sink) waitDirty(ctx context.Context, lastFull time.Time) (idle bool, err error) {
	for {
		s.mu.Lock()
		d := s.dirty
		first, empty := d.first, d.empty()
		s.mu.Unlock()
		due := time.Until(lastFull.Add(s.deps.FullInterval))
		if !empty {
			wait := s.cfg.Batch.MaxWait - time.Since(first)
			if wait <= 0 {
				return false, nil
			}
			due = min(due, wait)
		}
		if due <= 0 {
			return false, nil
		}
		if empty && s.positionMoved() {
			if wait := 5*time.Second - time.Since(s.lastPosition); wait <= 0 {
				return true, nil
			} else {
				due = min(due, wait)
			}
		}
		t := time.NewTimer(due)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// positionMoved reports whether the view read past the last committed
// position.
func (s *Sink) positionMoved() bool {
	cur := s.fol.Position()
	if len(cur) != len(s.committedPos) {
		return true
	}
	for p, n := range cur {
		if s.committedPos[p] != n {
			return true
		}
	}
	return false
}

func merge(a, b *dirtySet) *dirtySet {
	out := newDirty()
	for _, d := range []*dirtySet{a, b} {
		out.all = out.all || d.all
		for _, pair := range [][2]map[string]bool{{out.persons, d.persons}, {out.units, d.units}, {out.wide, d.wide}, {out.managers, d.managers}} {
			for k := range pair[1] {
				pair[0][k] = true
			}
		}
		for k, t := range d.commits {
			if c, ok := out.commits[k]; !ok || t.Before(c) {
				out.commits[k] = t
			}
		}
		if !d.first.IsZero() && (out.first.IsZero() || d.first.Before(out.first)) {
			out.first = d.first
		}
	}
	return out
}

// commit makes what was sent durable, with the view's position now.
func (s *Sink) commit(ctx context.Context) error { return s.commitAt(ctx, s.fol.Position()) }

// commitAt makes what was sent durable, retrying until it succeeds (a
// fenced producer is returned at once). The view position goes with it,
// and alone every few seconds while nothing is written, so that `mocdc
// status` sees an idle sink caught up.
func (s *Sink) commitAt(ctx context.Context, at map[view.Partition]int64) error {
	if s.cfg.DryRun {
		return nil
	}
	pos := map[string]map[int32]int64{}
	for p, n := range at {
		if pos[p.Topic] == nil {
			pos[p.Topic] = map[int32]int64{}
		}
		pos[p.Topic][p.Partition] = n
	}
	force := time.Since(s.lastPosition) > 5*time.Second
	for attempt := 0; ; attempt++ {
		err := s.st.commit(ctx, pos, force)
		if err == nil {
			if force {
				s.lastPosition, s.committedPos = time.Now(), at
			}
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return err
		}
		s.log.Warn("fk state commit failed; retrying", slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := s.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return fmt.Errorf("fk state commit: %w", err)
		}
	}
}
