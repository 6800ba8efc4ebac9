package ad

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
	"github.com/os2mo-cdc/mocdc/sinks/reconcile"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// Types are the MO types an account is rendered from: the sink's view
// holds only these (associations, leaves, KLE, related units, role
// bindings, owners and facets are not read).
var Types = []mo.Type{mo.Person, mo.OrgUnit, mo.Engagement, mo.ITUser, mo.Address, mo.Manager, mo.Class, mo.ITSystem, mo.Organisation}

// AccountsTopic is the compacted topic of Links: <prefix>.ad.accounts.
func AccountsTopic(t event.Topics) string { return prefix(t) + ".ad.accounts" }

// GroupOf is the consumer group of cfg's instances: ad.group, default
// "<topic prefix>.ad".
func GroupOf(cfg Config, t event.Topics) string {
	if cfg.Group != "" {
		return cfg.Group
	}
	return prefix(t) + ".ad"
}

func prefix(t event.Topics) string {
	if t.Prefix == "" {
		return event.DefaultPrefix
	}
	return t.Prefix
}

// Deps are what a Sink needs besides its Config.
type Deps struct {
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger).
	KafkaOpts []kgo.Opt
	Topics    event.Topics
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	// Now is the clock (tests inject one); nil is time.Now.
	Now func() time.Time
	// ReplicationFactor of the topics the sink creates. Default 1.
	ReplicationFactor int16
}

// Sink keeps AD accounts in step with MO; see the package documentation.
type Sink struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	m       *metrics
	mapping *Mapping
	sams    []*templateSAM
	tls     *tls.Config
	now     func() time.Time

	v      *view.View
	r      *renderer
	follow *view.Follower
	shard  *reconcile.Shard
	queue  *reconcile.Queue
	links  *links
	dl     *kgo.Client
	// creates is the create outbox (nil without ad.create or in dry-run);
	// it runs while createsOn (outbox.go).
	creates   *outbox.Outbox
	creator   *creator
	createsOn atomic.Bool
	// crash, when set (tests), is called at each failpoint of a create
	// and before each reconcile's write ("write").
	crash   func(point string)
	limiter *limiter
	absent  *absentGUIDs

	mu        sync.Mutex
	pending   map[string]pendingChange // person → its oldest unreconciled change
	lettered  map[string]bool          // person + reason dead-lettered already
	requested map[string]time.Time     // person → when its create was requested (no link yet)
	// proposed holds the names ("dn/…", "sam/…", lower case) that this
	// instance's open create requests propose, and for whom: a namesake
	// reconciled meanwhile proposes others, so a first sync of many
	// persons sharing a sAMAccountName prefix gets every one its own
	// names in one pass (proposals.go).
	proposed  map[string]string
	proposals map[string][]string // person → its keys in proposed
	resync    bool                // a full resync waits for the view
	day       mo.Date
	marker    chan struct{}
	started   atomic.Bool
	sysUUID   string
}

// New checks cfg (Defaults applied) and returns a Sink; it connects to
// nothing until Run.
func New(cfg Config, deps Deps) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(deps.KafkaOpts) == 0 {
		return nil, errors.New("ad sink: no Kafka options (seed brokers)")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	cfg.Group = GroupOf(cfg, deps.Topics)
	if deps.ReplicationFactor == 0 {
		deps.ReplicationFactor = 1
	}
	mp, err := CompileMapping(cfg.Mapping, cfg.CPRAttribute)
	if err != nil {
		return nil, fmt.Errorf("ad.mapping: %w", err)
	}
	tc, err := tlsConfig(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, deps: deps, log: deps.Logger.With(slog.String("sink", "ad")), m: newMetrics(deps.Registry),
		mapping: mp, tls: tc, now: deps.Now, v: view.New(), queue: reconcile.NewQueue(),
		pending: map[string]pendingChange{}, lettered: map[string]bool{}, requested: map[string]time.Time{}, proposed: map[string]string{}, proposals: map[string][]string{}, marker: make(chan struct{}, 1), limiter: newLimiter(cfg.RateLimit), absent: newAbsentGUIDs(10 * time.Minute)}
	if cfg.Create != nil {
		ts, err := compileSAM(cfg.Create.SAMAccountName)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			s.sams = append(s.sams, &templateSAM{t})
		}
	}
	s.r = &renderer{v: s.v, cfg: &s.cfg, system: s.systemUUID, scope: scope.New(cfg.Scope)}
	s.follow, err = view.NewFollower(s.v, view.FollowerDeps{Name: "ad", KafkaOpts: deps.KafkaOpts, Topics: deps.Topics,
		Types: Types, OnTouch: s.touched, Logger: s.log, Registry: deps.Registry})
	if err != nil {
		return nil, err
	}
	shardOpts := append(append([]kgo.Opt(nil), deps.KafkaOpts...), kgo.SessionTimeout(cfg.SessionTimeout))
	s.shard, err = reconcile.NewShard(shardOpts, cfg.Group, cfg.InstanceID, []string{deps.Topics.Object(mo.Person)}, s.assigned, s.log)
	if err != nil {
		return nil, err
	}
	if cfg.Create != nil && !cfg.DryRun {
		if s.creates, err = s.newCreates(); err != nil {
			return nil, err
		}
	}
	promauto.With(deps.Registry).NewGaugeFunc(prometheus.GaugeOpts{Name: "mocdc_sink_ad_queue_length",
		Help: "Persons waiting to be reconciled."}, func() float64 { return float64(s.queue.Len()) })
	promauto.With(deps.Registry).NewGaugeFunc(prometheus.GaugeOpts{Name: "mocdc_sink_ad_lag_seconds",
		Help: "Age of the oldest MO change not yet reconciled (0 when caught up)."}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		var oldest time.Time
		for _, c := range s.pending {
			if oldest.IsZero() || c.commit.Before(oldest) {
				oldest = c.commit
			}
		}
		if oldest.IsZero() {
			return 0
		}
		return s.now().Sub(oldest).Seconds()
	})
	return s, nil
}

// pendingChange is when the oldest change of a person not yet reconciled
// was committed in MO and read by the sink, and where it was read.
type pendingChange struct {
	commit, read time.Time
	src          outbox.Source
}

// systemUUID is the uuid of the configured AD IT system (by uuid or
// user_key), "" while the view does not know it.
func (s *Sink) systemUUID() string {
	s.mu.Lock()
	u := s.sysUUID
	s.mu.Unlock()
	if u != "" {
		return u
	}
	if o := s.v.Get(mo.ITSystem, s.cfg.ITSystem); o != nil {
		u = o.UUID
	} else if o := s.v.ITSystemByUserKey(s.cfg.ITSystem); o != nil {
		u = o.UUID
	}
	s.mu.Lock()
	s.sysUUID = u
	s.mu.Unlock()
	return u
}

// CheckBind connects and binds once: a wrong password or an unreachable
// DC is reported before anything else starts.
func (s *Sink) CheckBind(ctx context.Context) error {
	c, err := dial(ctx, &s.cfg, s.tls)
	if err != nil {
		return err
	}
	return c.Close()
}

// Run keeps AD in step until ctx ends (then it returns nil). It fails at
// once when AD refuses the bind.
func (s *Sink) Run(ctx context.Context) error {
	if err := s.CheckBind(ctx); err != nil {
		if errors.Is(err, errBind) {
			return err
		}
		s.log.Warn("AD not reachable at start; the sink retries while it runs", slog.Any("err", err))
	}
	if err := s.ensureTopics(ctx); err != nil {
		return err
	}
	var err error
	if s.links, err = newLinks(s.deps.KafkaOpts, AccountsTopic(s.deps.Topics), s.linked); err != nil {
		return fmt.Errorf("ad sink: kafka client: %w", err)
	}
	defer s.links.close()
	if s.dl, err = kgo.NewClient(s.deps.KafkaOpts...); err != nil {
		return fmt.Errorf("ad sink: kafka client: %w", err)
	}
	defer s.dl.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { s.links.run(gctx); return nil })
	g.Go(func() error { return s.follow.Run(gctx) })
	g.Go(func() error { return s.shard.Run(gctx) })
	g.Go(func() error { s.runCreates(gctx); return nil })
	g.Go(func() error {
		if err := s.follow.WaitReady(gctx); err != nil {
			return nil
		}
		if err := s.links.sync(gctx); err != nil && gctx.Err() == nil {
			s.log.Warn("reading the accounts topic failed; creates wait for it", slog.Any("err", err))
		}
		s.mu.Lock()
		s.day = mo.DateOf(s.now())
		s.mu.Unlock()
		s.fullResync(gctx, "start")
		s.started.Store(true)
		for i := 0; i < s.cfg.Workers; i++ {
			g.Go(func() error { return s.worker(gctx) })
		}
		g.Go(func() error { s.commitPosition(gctx); return nil })
		s.midnight(gctx)
		return nil
	})
	return g.Wait()
}

// PositionGroup is the consumer group (without members) whose committed
// offsets say up to where the sink has reconciled every object topic:
// `mocdc status` reads its lag from them. "<group>.position".
func PositionGroup(cfg Config, t event.Topics) string { return GroupOf(cfg, t) + ".position" }

// positionMarker is the queue key that stands for "everything queued
// before me has been taken": the position read when it was queued is then
// committed (one reconcile in flight may still be running).
const positionMarker = "\x00position"

// commitPosition queues a marker every few seconds and commits the view's
// position as read before it, as the offsets of PositionGroup, when a
// worker takes it. Only for status: the sink itself never reads them (it
// reconciles everyone at start).
func (s *Sink) commitPosition(ctx context.Context) {
	cl, err := kgo.NewClient(s.deps.KafkaOpts...)
	if err != nil {
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	group := PositionGroup(s.cfg, s.deps.Topics)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		pos := s.follow.Position()
		s.queue.AddBackground(positionMarker) // behind everything queued now
		select {
		case <-ctx.Done():
			return
		case <-s.marker:
		}
		os := kadm.Offsets{}
		for p, n := range pos {
			os.AddOffset(p.Topic, p.Partition, n, -1)
		}
		if _, err := adm.CommitOffsets(ctx, group, os); err != nil && ctx.Err() == nil {
			s.log.Debug("commit position for status failed", slog.Any("err", err))
		}
	}
}

func (s *Sink) ensureTopics(ctx context.Context) error {
	cl, err := kgo.NewClient(s.deps.KafkaOpts...)
	if err != nil {
		return fmt.Errorf("ad sink: kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, t := range []struct {
		name string
		cfg  map[string]*string
	}{
		{AccountsTopic(s.deps.Topics), map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}},
		// Requests wait here while no instance performs creates; a week
		// is far more than a restart takes.
		{CreatesTopic(s.deps.Topics), map[string]*string{"cleanup.policy": kadm.StringPtr("delete"), "retention.ms": kadm.StringPtr("604800000")}},
		{s.deps.Topics.DeadLetter(), nil},
	} {
		res, err := adm.CreateTopic(ctx, 1, s.deps.ReplicationFactor, t.cfg, t.name)
		if err == nil {
			err = res.Err
		}
		if err != nil && !errors.Is(err, kerrTopicExists) {
			return fmt.Errorf("ad sink: create topic %s: %w", t.name, err)
		}
	}
	return nil
}

// unitFields are the unit fields an account can show (Data.Engagement.Unit,
// the path, the manager search): a unit change elsewhere (a label, time
// planning) does not fan out.
var unitFields = map[string]bool{"name": true, "user_key": true, "unit_type": true, "org_unit_level": true}

// treeFields are the unit fields that change the path or the inherited
// manager of the whole subtree.
var treeFields = map[string]bool{"parent": true, "validity": true}

// managerFields are the manager fields that decide who manages whom.
var managerFields = map[string]bool{"person": true, "org_unit": true, "validity": true}

// relevant reports whether an event of a unit or manager can change other
// persons' accounts: a snapshot, tick or delete always can; an update when
// it changed one of fields.
func relevant(t view.Touch, fields map[string]bool) bool {
	e := t.Event
	if e == nil || len(e.Changed) == 0 {
		return true
	}
	for _, c := range e.Changed {
		if fields[c] {
			return true
		}
	}
	return false
}

// touched turns an applied event into persons to reconcile: the persons it
// names directly first, then (in the background) those it reaches through
// a unit's subtree, a manager or a class.
func (s *Sink) touched(t view.Touch) {
	if t.Replaying {
		return // the resync after catching up renders everyone
	}
	now := s.now()
	fan := map[string]bool{}
	switch {
	case len(t.Owners.Units) == 0:
	case t.Type == mo.OrgUnit && relevant(t, treeFields), t.Type == mo.Manager && relevant(t, managerFields):
		// A unit's parent or manager decides the path and the inherited
		// manager of everyone in its subtree.
		for _, p := range s.v.PersonsInUnits(t.Owners.Units, now, true) {
			fan[p] = true
		}
	case t.Type == mo.OrgUnit && relevant(t, unitFields):
		// Its name, type or level shows on the accounts of those engaged
		// in it — and below it when a template shows the path.
		for _, p := range s.v.PersonsInUnits(t.Owners.Units, now, s.mapping.UsesPath()) {
			fan[p] = true
		}
	}
	if s.r.scope.Moves(t) {
		// A relabel or move takes the subtree's engagements into or out of
		// the scope: everyone engaged there is re-derived (enabled,
		// created, or disabled).
		for _, p := range s.r.scope.Widen(s.v, t.Owners, now).Persons {
			fan[p] = true
		}
	}
	for _, c := range t.Owners.Classes {
		if c == s.systemUUID() || t.Type == mo.Class || t.Type == mo.ITSystem {
			for _, p := range s.v.OwnersOfClass(c).Persons {
				fan[p] = true
			}
		}
	}
	if t.Type == mo.ITUser || t.Type == mo.Person {
		// A manager's account link shows on the accounts of the people
		// the manager manages.
		for _, p := range t.Owners.Persons {
			for _, m := range s.v.Referrers(p, mo.Manager, "person", nil) {
				if u := m.Last().Str("org_unit"); u != "" {
					for _, q := range s.v.PersonsInUnits([]string{u}, now, true) {
						fan[q] = true
					}
				}
			}
		}
	}
	var commit time.Time
	var src outbox.Source
	if t.Event != nil {
		commit = t.Event.Source.CommitTime
		src = outbox.Source{Topic: t.Topic, Partition: t.Partition, Offset: t.Offset}
	}
	if t.Type == mo.Person && s.v.Get(mo.Person, t.UUID) == nil && s.shard.Owns(t.Topic, t.Partition) {
		// A deleted person is no longer in the view to say whose it is:
		// its record's partition does (ad.delete acts on it).
		s.queue.Add(t.UUID)
	}
	s.enqueue(t.Owners.Persons, commit, src, false)
	s.enqueue(keys(fan), commit, src, true)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// owns reports whether this instance acts for the person.
func (s *Sink) owns(person string) bool {
	o := s.v.Get(mo.Person, person)
	return o != nil && s.shard.Owns(s.deps.Topics.Object(mo.Person), o.Partition)
}

// enqueue queues the owned persons of persons (in the background: behind
// every direct change) and remembers the oldest change's times for the
// latency metrics.
func (s *Sink) enqueue(persons []string, commit time.Time, src outbox.Source, background bool) {
	var mine []string
	s.mu.Lock()
	for _, p := range persons {
		if !s.owns(p) {
			continue
		}
		mine = append(mine, p)
		if !commit.IsZero() {
			if c, ok := s.pending[p]; !ok || commit.Before(c.commit) {
				s.pending[p] = pendingChange{commit: commit, read: time.Now(), src: src}
			}
		}
	}
	s.mu.Unlock()
	if background {
		s.queue.AddBackground(mine...)
	} else {
		s.queue.Add(mine...)
	}
}

// assigned is the shard's callback: reconcile every person of the gained
// partitions (the previous owner may have left work undone).
func (s *Sink) assigned(topic string, parts []int32) {
	select {
	case <-s.follow.Ready():
	default:
		s.mu.Lock()
		s.resync = true // the start resync covers it
		s.mu.Unlock()
		return
	}
	gained := map[int32]bool{}
	for _, p := range parts {
		gained[p] = true
	}
	var persons []string
	for _, o := range s.v.All(mo.Person) {
		if gained[o.Partition] {
			persons = append(persons, o.UUID)
		}
	}
	s.log.Info("partitions gained: reconciling their persons", slog.Int("partitions", len(parts)), slog.Int("persons", len(persons)))
	s.m.resyncs.Inc()
	s.queue.AddBackground(persons...)
}

// fullResync queues every owned person. At start it first waits (until
// ctx ends, or at most session_timeout plus a bit: a member may be given
// no partition at all) for the group's first assignment.
func (s *Sink) fullResync(ctx context.Context, why string) {
	t := time.NewTimer(s.cfg.SessionTimeout + 5*time.Second)
	defer t.Stop()
	select {
	case <-s.shard.Assigned():
	case <-ctx.Done():
		return
	case <-t.C:
	}
	var persons []string
	for _, o := range s.v.All(mo.Person) {
		persons = append(persons, o.UUID)
	}
	s.m.resyncs.Inc()
	s.log.Info("full resync: every owned person is re-derived and compared", slog.String("why", why), slog.Int("persons", len(persons)), slog.Int("partitions", s.shard.Owned()))
	s.enqueue(persons, time.Time{}, outbox.Source{}, true)
}

// midnight queues every owned person when the date changes: engagements
// that start or end today enable or disable accounts on their day. Every
// second it also re-queues persons whose create requests timed out.
func (s *Sink) midnight(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.sweepRequests()
		d := mo.DateOf(s.now())
		s.mu.Lock()
		changed := d != s.day
		s.day = d
		s.mu.Unlock()
		if changed {
			s.fullResync(ctx, "the date changed to "+string(d))
		}
	}
}

// Idle reports whether the sink has caught up: the view is ready, no
// person waits or is being reconciled, and no create is in flight.
func (s *Sink) Idle() bool {
	if !s.started.Load() {
		return false // the start resync is not queued yet
	}
	select {
	case <-s.shard.Assigned():
	default:
		return false // no partition yet: the persons are not queued
	}
	select {
	case <-s.follow.Ready():
	default:
		return false
	}
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	return n == 0 && s.queue.IdleBut(positionMarker) && !s.creating()
}
