package view

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Touch is what a Follower reports after applying one event.
type Touch struct {
	// Owners are the persons, units and classification objects the event
	// touched (before and after it).
	Owners Owners
	// Event is the applied event; nil for a tombstone.
	Event *event.Envelope
	// Type and UUID name the object (also for a tombstone).
	Type mo.Type
	UUID string
	// Topic, Partition and Offset locate the record.
	Topic     string
	Partition int32
	Offset    int64
	// Replaying is true while the follower is still reading the history it
	// found at start (before Ready). Sinks that reconcile every owner once
	// caught up ignore these touches.
	Replaying bool
}

// FollowerDeps are what a Follower needs.
type FollowerDeps struct {
	// Name labels the metrics and logs, e.g. "ad".
	Name string
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger).
	KafkaOpts []kgo.Opt
	Topics    event.Topics
	// Types are the MO types to follow (their object topics); nil means all.
	Types []mo.Type
	// OnTouch, when set, is called after each event is applied, from the
	// follower's goroutine (keep it quick: enqueue work).
	OnTouch func(Touch)
	// OnBad, when set, is called for a record that does not decode (the
	// view keeps the object's previous state). It is also counted.
	OnBad    func(rec *kgo.Record, err error)
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Follower keeps a View current from the compacted object topics: it reads
// every partition of each followed topic from its start (no consumer
// group, read_committed) and applies each event. Each process builds its
// own view this way at start; nothing is stored, so the restart cost is
// one read of the compacted topics (measured by
// mocdc_view_catchup_seconds and logged).
type Follower struct {
	v     *View
	deps  FollowerDeps
	log   *slog.Logger
	ready chan struct{}
	once  sync.Once
	types map[string]mo.Type

	mu   sync.Mutex
	next map[Partition]int64
	end  map[Partition]int64 // what must be read before Ready

	events, bad prometheus.Counter
	catchup     prometheus.Gauge
}

// NewFollower returns a follower that fills v. It connects to nothing
// until Run.
func NewFollower(v *View, deps FollowerDeps) (*Follower, error) {
	if len(deps.KafkaOpts) == 0 {
		return nil, errors.New("view follower: no Kafka options (seed brokers)")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Types == nil {
		deps.Types = mo.Types
	}
	f := &Follower{v: v, deps: deps, log: deps.Logger.With(slog.String("view", deps.Name)),
		ready: make(chan struct{}), types: map[string]mo.Type{},
		next: map[Partition]int64{}, end: map[Partition]int64{}}
	for _, t := range deps.Types {
		if !t.Valid() {
			return nil, fmt.Errorf("view follower: unknown MO type %q", t)
		}
		f.types[deps.Topics.Object(t)] = t
	}
	reg := promauto.With(prometheus.WrapRegistererWith(prometheus.Labels{"sink": deps.Name}, deps.Registry))
	f.events = reg.NewCounter(prometheus.CounterOpts{Name: "mocdc_view_events_total", Help: "Events applied to the sink's view of MO."})
	f.bad = reg.NewCounter(prometheus.CounterOpts{Name: "mocdc_view_undecodable_total", Help: "Records of the object topics that did not decode (the view kept the object's previous state)."})
	f.catchup = reg.NewGauge(prometheus.GaugeOpts{Name: "mocdc_view_catchup_seconds", Help: "Time the view took at start to read the object topics up to their end (the restart cost); 0 until caught up."})
	for _, t := range deps.Types {
		reg.NewGaugeFunc(prometheus.GaugeOpts{Name: "mocdc_view_objects", Help: "Objects held in the sink's view of MO, by type.", ConstLabels: prometheus.Labels{"type": string(t)}},
			func() float64 { return float64(v.Len(t)) })
	}
	return f, nil
}

// Ready is closed once the view holds everything that was committed on the
// followed topics when Run started.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// WaitReady blocks until Ready or ctx ends.
func (f *Follower) WaitReady(ctx context.Context) error {
	select {
	case <-f.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run follows the topics until ctx ends (then it returns nil). Kafka errors
// are retried by the client; Run returns an error only when the client
// cannot be made or the end offsets cannot be listed.
func (f *Follower) Run(ctx context.Context) error {
	topics := make([]string, 0, len(f.types))
	for t := range f.types {
		topics = append(topics, t)
	}
	opts := append(append([]kgo.Opt(nil), f.deps.KafkaOpts...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("view follower: kafka client: %w", err)
	}
	defer cl.Close()
	start := time.Now()
	if err := f.listEnds(ctx, kadm.NewClient(cl), topics); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	f.checkReady(start)
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				f.log.Warn("view fetch failed", slog.String("topic", topic), slog.Int("partition", int(p)), slog.Any("err", err))
			}
		})
		fs.EachRecord(f.apply)
		f.checkReady(start)
	}
}

// listEnds records, per partition, the end offset as of now: Ready waits
// for those. It retries until the topics answer (they may not exist yet:
// capture creates them).
func (f *Follower) listEnds(ctx context.Context, adm *kadm.Client, topics []string) error {
	for attempt := 0; ; attempt++ {
		starts, err1 := adm.ListStartOffsets(ctx, topics...)
		ends, err2 := adm.ListEndOffsets(ctx, topics...)
		if err := errors.Join(err1, err2); err == nil {
			f.mu.Lock()
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err != nil {
					return // unknown topic: nothing to wait for
				}
				s, ok := starts.Lookup(o.Topic, o.Partition)
				if ok && s.Err == nil && s.Offset >= o.Offset {
					return // empty
				}
				f.end[Partition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
			})
			f.mu.Unlock()
			return nil
		} else if attempt >= 30 {
			return fmt.Errorf("view follower: list offsets of %v: %w", topics, err)
		} else {
			f.log.Warn("list offsets failed; retrying", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (f *Follower) apply(rec *kgo.Record) {
	// The position moves only after the record is applied and reported,
	// so that WaitFor(offset) means "OnTouch has seen it".
	tp := Partition{Topic: rec.Topic, Partition: rec.Partition}
	defer func() {
		f.mu.Lock()
		f.next[tp] = rec.Offset + 1
		f.mu.Unlock()
	}()
	if rec.Attrs.IsControl() {
		return
	}
	typ := f.types[rec.Topic]
	t := Touch{Type: typ, UUID: string(rec.Key), Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Replaying: !f.isReady()}
	if rec.Value == nil {
		t.Owners = f.v.Remove(typ, t.UUID)
	} else {
		e, err := event.Decode(rec.Value)
		if err == nil && e.Type != typ {
			err = fmt.Errorf("event of type %s on topic %s", e.Type, rec.Topic)
		}
		if err != nil {
			f.bad.Inc()
			f.log.Error("undecodable record on an object topic; the view keeps the object's previous state",
				slog.String("topic", rec.Topic), slog.Int("partition", int(rec.Partition)), slog.Int64("offset", rec.Offset), slog.Any("err", err))
			if f.deps.OnBad != nil {
				f.deps.OnBad(rec, err)
			}
			return
		}
		t.Event, t.UUID = e, e.UUID
		t.Owners = f.v.Apply(e, rec.Partition)
	}
	f.events.Inc()
	if f.deps.OnTouch != nil {
		f.deps.OnTouch(t)
	}
}

func (f *Follower) isReady() bool {
	select {
	case <-f.ready:
		return true
	default:
		return false
	}
}

func (f *Follower) checkReady(start time.Time) {
	if f.isReady() {
		return
	}
	f.mu.Lock()
	for tp, end := range f.end {
		if f.next[tp] < end {
			f.mu.Unlock()
			return
		}
	}
	f.mu.Unlock()
	f.once.Do(func() {
		d := time.Since(start)
		f.catchup.Set(d.Seconds())
		n := 0
		for _, t := range f.deps.Types {
			n += f.v.Len(t)
		}
		f.log.Info("view caught up", slog.Int("objects", n), slog.Duration("took", d))
		close(f.ready)
	})
}

// Position returns the next offset the follower will apply per partition
// (what it has read so far).
func (f *Follower) Position() map[Partition]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[Partition]int64, len(f.next))
	for k, v := range f.next {
		out[k] = v
	}
	return out
}

// WaitFor blocks until the follower has applied every record of
// topic/partition below offset, or ctx ends.
func (f *Follower) WaitFor(ctx context.Context, topic string, partition int32, offset int64) error {
	tp := Partition{Topic: topic, Partition: partition}
	for {
		f.mu.Lock()
		n := f.next[tp]
		f.mu.Unlock()
		if n >= offset {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Partition names one partition of a topic.
type Partition struct {
	Topic     string
	Partition int32
}
