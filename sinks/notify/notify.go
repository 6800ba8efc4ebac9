package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// Deps are what a Sink needs besides its Config.
type Deps struct {
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger).
	KafkaOpts []kgo.Opt
	Topics    event.Topics
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	// Now is the clock the rules judge dates by (default time.Now). Tests
	// inject one; in production capture's ticks bring a future date's
	// events on the day.
	Now func() time.Time
}

// Sink is the email notification sink: `mocdc sink notify`.
type Sink struct {
	ob *outbox.Outbox
	h  *handler
}

// New checks cfg (after Defaults) and returns a Sink; nothing connects
// until Run.
func New(cfg Config, d Deps) (*Sink, error) {
	cfg.Names(d.Topics)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	log := d.Logger.With(slog.String("sink", "notify"))
	m := newMetrics(d.Registry)
	ev := &evaluator{v: newView(nil), scope: scope.New(cfg.Scope)}
	h := &handler{cfg: cfg, ev: ev, kafkaOpts: d.KafkaOpts, now: d.Now, log: log, m: m}
	for _, r := range mergeRules(cfg.Rules) {
		if !r.enabled() {
			continue
		}
		c, err := compile(r, ev.funcs())
		if err != nil {
			return nil, err
		}
		h.rules = append(h.rules, c)
	}
	if len(h.rules) == 0 {
		return nil, errors.New("notify: every rule is disabled: enable one under notify.rules")
	}
	h.topics = ConsumedTopics(cfg, d.Topics)
	if cfg.Scope.Persons {
		h.types = append(h.types, mo.Engagement) // a person passes by its engagements
	}
	for _, r := range h.rules {
		h.types = append(h.types, r.TargetType)
		for t := range r.on {
			h.types = append(h.types, t)
		}
	}
	ev.v = newView(h.types)
	snd, err := newSender(cfg, log, m)
	if err != nil {
		return nil, err
	}
	ob, err := outbox.New(outbox.Config{Topic: cfg.StateTopic, Group: cfg.GroupID, TransactionalID: cfg.TransactionalID,
		BatchMax: cfg.BatchMax, ReplicationFactor: cfg.ReplicationFactor, RetryMin: cfg.RetryMin, RetryMax: cfg.RetryMax,
		PerformTimeout: cfg.SMTP.Timeout + 10*time.Second},
		h, snd, outbox.Deps{Name: "notify", Topics: h.topics, DeadLetterTopic: d.Topics.DeadLetter(),
			KafkaOpts: d.KafkaOpts, Logger: log, Registry: d.Registry, Now: d.Now})
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return &Sink{ob: ob, h: h}, nil
}

// ConsumedTopics lists the object topics the sink consumes (in its group,
// cfg.GroupID after Names): what its view holds and what its enabled
// rules are triggered by.
func ConsumedTopics(cfg Config, t event.Topics) []string {
	types := map[mo.Type]bool{}
	for _, typ := range viewTypes {
		types[typ] = true
	}
	if cfg.Scope.Persons {
		types[mo.Engagement] = true
	}
	for _, r := range mergeRules(cfg.Rules) {
		if r.enabled() {
			for _, typ := range r.On {
				types[typ] = true
			}
			if r.TargetType != "" {
				types[r.TargetType] = true
			}
		}
	}
	var out []string
	for typ := range types {
		out = append(out, t.Object(typ))
	}
	sort.Strings(out)
	return out
}

// Rules returns the names of the enabled rules.
func (s *Sink) Rules() []string {
	var out []string
	for _, r := range s.h.rules {
		out = append(out, r.Name)
	}
	return out
}

// Run consumes, alerts and mails until ctx is cancelled (see outbox.Run).
func (s *Sink) Run(ctx context.Context) error { return s.ob.Run(ctx) }

// Close stops Run and waits for it until ctx ends.
func (s *Sink) Close(ctx context.Context) error { return s.ob.Close(ctx) }

// Stats reports the outbox's counts: alerts pending, sent (done), dead,
// and recovered after a crash (possible duplicates).
func (s *Sink) Stats() outbox.Stats { return s.ob.Stats() }
