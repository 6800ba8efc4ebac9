package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// handler decides the alerts (outbox.Handler): it keeps the MO view from
// the consumed events, evaluates the rules an event triggers and records
// each new alert as an outbox intent, with the state that makes it once.
type handler struct {
	cfg       Config
	rules     []*compiled
	ev        *evaluator
	topics    []string
	types     []mo.Type // held in the view besides viewTypes
	kafkaOpts []kgo.Opt
	now       func() time.Time
	log       *slog.Logger
	m         *metrics
	// dirty: a batch applied to the view was not committed (a rebalance
	// aborted it); the view is ahead of the offsets until rebuilt.
	dirty bool
	// warmedTo: at a first start the view is built up to the topics' ends
	// (Warm); the records below are in it already and are passed over.
	warmedTo outbox.Offsets
}

// State keys.
const sinceKey = "since"

func lastKey(rule, uuid string) string { return "last/" + rule + "/" + uuid }

var (
	_ outbox.Handler   = (*handler)(nil)
	_ outbox.Warmer    = (*handler)(nil)
	_ outbox.Committer = (*handler)(nil)
)

// Committed is outbox.Committer.
func (h *handler) Committed([]*kgo.Record) {}

// Aborted is outbox.Committer: the view saw a batch that did not commit.
func (h *handler) Aborted([]*kgo.Record) { h.dirty = true }

// errDirtyView restarts the session, whose Warm rebuilds the view.
var errDirtyView = errors.New("notify: a batch the view applied was not committed; rebuilding the view from the committed offsets")

// Warm rebuilds the view from the start of the topics up to the committed
// offsets, so what Handle sees next is what it would have seen without a
// restart.
//
// A partition without a committed offset (all of them at a first start;
// without History) is read up to its end instead, and Handle does not
// apply its records below that again, only judges those from after the
// start mark against the view: consumed one partition at a time they would
// leave the view without, say, the person or the role bindings of an IT
// user updated on another partition — an alert rendered then would name
// no one and list no roles (warmRanges).
func (h *handler) Warm(ctx context.Context, committed outbox.Offsets) error {
	started := time.Now()
	h.dirty = false
	h.ev.v = newView(h.types)
	h.warmedTo = nil
	if !h.cfg.History {
		cl, err := kgo.NewClient(h.kafkaOpts...)
		if err != nil {
			return err
		}
		ends, err := outbox.EndOffsets(ctx, kadm.NewClient(cl), h.topics)
		cl.Close()
		if err != nil {
			return fmt.Errorf("read the ends of the topics: %w", err)
		}
		committed, h.warmedTo = warmRanges(committed, ends)
	}
	ranges := map[string]map[int32][2]int64{}
	for t, ps := range committed {
		for p, n := range ps {
			if ranges[t] == nil {
				ranges[t] = map[int32][2]int64{}
			}
			ranges[t][p] = [2]int64{0, n}
		}
	}
	n := 0
	err := outbox.Scan(ctx, h.kafkaOpts, ranges, func(r *kgo.Record) error {
		n++
		_, _, _ = h.apply(r)
		return nil
	})
	if err != nil {
		return err
	}
	h.log.Info("notify view rebuilt", slog.Int("events", n), slog.Duration("took", time.Since(started)))
	return nil
}

// apply puts one record into the view and returns the event (nil for a
// tombstone) and the object's previous state.
func (h *handler) apply(r *kgo.Record) (*event.Envelope, *mo.Object, error) {
	if r.Value == nil {
		typ := typeOfTopic(r.Topic)
		h.ev.v.put(typ, string(r.Key), nil)
		return nil, nil, nil
	}
	e, err := event.Decode(r.Value)
	if err != nil {
		return nil, nil, err
	}
	var obj *mo.Object
	if e.Op != event.Delete {
		obj = e.Object
	}
	old := h.ev.v.put(e.Type, e.UUID, obj)
	return e, old, nil
}

// typeOfTopic returns the MO type of an object topic "<prefix>.<type>".
func typeOfTopic(topic string) mo.Type {
	for i := len(topic) - 1; i >= 0; i-- {
		if topic[i] == '.' {
			return mo.Type(topic[i+1:])
		}
	}
	return mo.Type(topic)
}

// Handle is outbox.Handler.Handle.
func (h *handler) Handle(_ context.Context, tx *outbox.Tx, recs []*kgo.Record) error {
	if h.dirty {
		return errDirtyView
	}
	now := h.now()
	h.ev.now, h.ev.today = now, string(mo.DateOf(now))
	since := time.Time{}
	if !h.cfg.History {
		if b, ok := tx.Get(sinceKey); ok {
			since, _ = time.Parse(time.RFC3339Nano, string(b))
		} else {
			since = now
			tx.Put(sinceKey, []byte(now.UTC().Format(time.RFC3339Nano)))
		}
	}
	for _, r := range recs {
		var e *event.Envelope
		var old *mo.Object
		var err error
		if r.Offset < h.warmedTo[r.Topic][r.Partition] {
			// In the view since Warm: not applied again. From before the
			// start mark, so it alerts nothing, unless the clocks of
			// capture's host and this one differ: then it is judged
			// against the view as of the start.
			if r.Value != nil {
				e, err = event.Decode(r.Value)
			}
		} else {
			e, old, err = h.apply(r)
		}
		if err != nil {
			tx.DeadLetter(r, "notify", err.Error())
			continue
		}
		if e == nil || !h.triggers(e, since) {
			continue
		}
		info := eventInfo{Type: e.Type, UUID: e.UUID, Op: string(e.Op), Day: e.Day}
		// A relabel or move may bring the units below into scope: the
		// unit rules judge them as though they had changed.
		var below []string
		if h.ev.scope.MovesEvent(e) {
			below = h.ev.v.subtree(e.UUID, now)
		}
		for _, rule := range h.rules {
			if !rule.on[e.Type] {
				continue
			}
			err := h.evaluate(tx, r, rule, info, old, e.Object)
			if err == nil && rule.TargetType == mo.OrgUnit {
				err = h.evaluateTargets(tx, r, rule, info, below)
			}
			if err != nil {
				h.m.ruleErrors.WithLabelValues(rule.Name).Inc()
				tx.DeadLetter(r, "notify", err.Error())
			}
		}
	}
	return nil
}

// triggers reports whether an event may alert: snapshots only build the
// view; without History, so do events from before the sink's first start.
func (h *handler) triggers(e *event.Envelope, since time.Time) bool {
	switch e.Op {
	case event.Snapshot:
		return false
	case event.Tick:
		return since.IsZero() || e.Day >= string(mo.DateOf(since))
	}
	if since.IsZero() {
		return true
	}
	t := e.Source.CommitTime
	if t.IsZero() && e.Registration != nil {
		t = e.Registration.Time
	}
	return !t.Before(since)
}

// evaluate runs one rule for one event and records what it decides.
func (h *handler) evaluate(tx *outbox.Tx, r *kgo.Record, rule *compiled, info eventInfo, old, new *mo.Object) error {
	targets, err := h.ev.targets(rule, info, old, new)
	if err != nil {
		return err
	}
	return h.evaluateTargets(tx, r, rule, info, targets)
}

// evaluateTargets decides rule for each target and records what it
// decides.
func (h *handler) evaluateTargets(tx *outbox.Tx, r *kgo.Record, rule *compiled, info eventInfo, targets []string) error {
	for _, uuid := range targets {
		d, err := h.ev.decide(rule, info, uuid)
		if err != nil {
			return err
		}
		if d.outside {
			h.m.outside.WithLabelValues(rule.Name).Inc()
			continue
		}
		lk := lastKey(rule.Name, uuid)
		last, alerted := tx.Get(lk)
		switch {
		case d.reset && alerted:
			tx.Delete(lk)
		case !d.alert:
		case rule.Once == "entry" && alerted:
		case rule.Once == "content" && alerted && string(last) == d.hash():
		default:
			if err := h.intend(tx, r, d); err != nil {
				return err
			}
			tx.Put(lk, []byte(d.hash()))
		}
	}
	return nil
}

// intend renders the mail of decision d and records it in the outbox.
func (h *handler) intend(tx *outbox.Tx, r *kgo.Record, d decision) error {
	key := d.rule.Name + "/" + d.uuid + "/" + d.hash()
	// The same content again after other content (A, B, A): a new alert,
	// numbered, so every key is sent once.
	for n := 2; ; n++ {
		if _, ok := tx.Effect(key); !ok {
			break
		}
		key = d.rule.Name + "/" + d.uuid + "/" + d.hash() + "/" + strconv.Itoa(n)
	}
	to, err := h.ev.receivers(d, h.cfg.Receivers)
	if err != nil {
		return err
	}
	m := Mail{Key: key, Rule: d.rule.Name, Object: d.uuid, MessageID: MessageID(key, h.cfg.Sender),
		From: h.cfg.Sender, To: to, Date: h.ev.now}
	if m.Subject, err = render(d.rule.subj, d.data); err != nil {
		return fmt.Errorf("rule %s subject: %w", d.rule.Name, err)
	}
	if m.Text, err = render(d.rule.text, d.data); err != nil {
		return fmt.Errorf("rule %s text: %w", d.rule.Name, err)
	}
	if d.rule.html != nil {
		var b []byte
		buf := &byteBuf{b: b}
		if err := d.rule.html.Execute(buf, d.data); err != nil {
			return fmt.Errorf("rule %s html: %w", d.rule.Name, err)
		}
		m.HTML = string(buf.b)
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if tx.Intend(key, payload, outbox.SourceOf(r)) {
		h.m.alerts.WithLabelValues(d.rule.Name).Inc()
	}
	return nil
}

type byteBuf struct{ b []byte }

func (w *byteBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// warmRanges returns how far Warm reads each partition: to its committed
// offset, or, for a partition without one, to its end — and those ends,
// below which Handle does not apply the records again. (A first start has
// no committed offsets; nor, after it, has a partition its first batches
// did not reach: a session restarted then must not rebuild the view
// without them, or a manager's termination read before its unit's
// snapshot finds no current unit and alerts nothing.)
func warmRanges(committed, ends outbox.Offsets) (upTo, skipBelow outbox.Offsets) {
	upTo, skipBelow = outbox.Offsets{}, outbox.Offsets{}
	for t, ps := range ends {
		for p, end := range ps {
			n := committed[t][p]
			if n <= 0 {
				n = end
				if skipBelow[t] == nil {
					skipBelow[t] = map[int32]int64{}
				}
				skipBelow[t][p] = end
			}
			if upTo[t] == nil {
				upTo[t] = map[int32]int64{}
			}
			upTo[t][p] = n
		}
	}
	return upTo, skipBelow
}
