package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Deps are what an Outbox needs besides its Config.
type Deps struct {
	// Name labels logs and metrics, e.g. "notify".
	Name string
	// Topics are the source topics consumed.
	Topics []string
	// DeadLetterTopic receives dead effects and records Handle gives up on.
	DeadLetterTopic string
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger).
	KafkaOpts []kgo.Opt
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	// Now is the clock stamped on records (default time.Now).
	Now func() time.Time
}

// Stats is a snapshot of an Outbox.
type Stats struct {
	// Intended, Performing, Done and Dead count effects by status.
	Intended, Performing, Done, Dead int
	// Pending is effects not done or dead yet (Intended + Performing).
	Pending int
	// Recovered counts, since this process started, intents found pending
	// at a session start: each may be a duplicate (the crash window).
	Recovered int
	// Batches committed since start.
	Batches int
}

// Outbox runs the consume → decide → commit → perform → mark loop; see the
// package documentation.
type Outbox struct {
	cfg  Config
	deps Deps
	h    Handler
	p    Performer
	log  *slog.Logger
	m    *metrics

	// afterPerform, when set (tests), runs after Perform succeeded and
	// before the done record is written; an error ends the session there,
	// as a crash would.
	afterPerform func(Effect) error

	mu        sync.Mutex
	mem       *memory
	recovered int
	batches   int
	cancel    context.CancelFunc
	done      chan struct{}
}

// New checks its arguments and returns an Outbox; nothing connects until
// Run.
func New(cfg Config, h Handler, p Performer, deps Deps) (*Outbox, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil || p == nil {
		return nil, errors.New("outbox: a Handler and a Performer are required")
	}
	if len(deps.KafkaOpts) == 0 {
		return nil, errors.New("outbox: no Kafka options (seed brokers)")
	}
	if len(deps.Topics) == 0 {
		return nil, errors.New("outbox: no source topics")
	}
	if deps.DeadLetterTopic == "" {
		return nil, errors.New("outbox: no dead-letter topic")
	}
	if deps.Name == "" {
		deps.Name = cfg.Group
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
	return &Outbox{cfg: cfg, deps: deps, h: h, p: p, log: deps.Logger.With(slog.String("outbox", deps.Name)),
		m: newMetrics(deps.Registry, deps.Name), mem: newMemory()}, nil
}

// Stats returns counts of the committed state. Safe concurrently.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	mem, s := o.mem, Stats{Recovered: o.recovered, Batches: o.batches}
	o.mu.Unlock()
	mem.mu.RLock()
	defer mem.mu.RUnlock()
	for _, e := range mem.effects {
		switch e.Status {
		case Intended:
			s.Intended++
		case Performing:
			s.Performing++
		case Done:
			s.Done++
		case Dead:
			s.Dead++
		}
	}
	s.Pending = s.Intended + s.Performing
	return s
}

// Effects returns a copy of every effect record, sorted by key. Safe
// concurrently.
func (o *Outbox) Effects() []Effect {
	o.mu.Lock()
	mem := o.mem
	o.mu.Unlock()
	mem.mu.RLock()
	defer mem.mu.RUnlock()
	out := make([]Effect, 0, len(mem.effects))
	for _, e := range mem.effects {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// State returns the committed value of a state key. Safe concurrently.
func (o *Outbox) State(key string) ([]byte, bool) {
	o.mu.Lock()
	mem := o.mem
	o.mu.Unlock()
	mem.mu.RLock()
	defer mem.mu.RUnlock()
	v, ok := mem.state[key]
	return v, ok
}

func isFatal(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.FencedInstanceID) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed) ||
		errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed)
}

// Run consumes, decides and performs until ctx is cancelled (then it
// returns nil). After an error it starts a new session from the committed
// state with capped, jittered backoff; it returns an error only when
// another instance took over (fenced) or permissions are missing. Once it
// returned, Run may be called again (not concurrently): each run starts
// from the committed state.
func (o *Outbox) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o.mu.Lock()
	if o.cancel != nil {
		o.mu.Unlock()
		return errors.New("outbox: Run called while it runs")
	}
	o.cancel, o.done = cancel, make(chan struct{})
	done := o.done
	o.mu.Unlock()
	defer func() {
		// Run may be called again once it returned (a sink that runs
		// the outbox only while it holds a partition).
		o.mu.Lock()
		o.cancel = nil
		o.mu.Unlock()
		close(done)
	}()

	admCl, err := kgo.NewClient(o.deps.KafkaOpts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	const minWait, maxWait = 500 * time.Millisecond, 30 * time.Second
	wait := minWait
	for {
		started := time.Now()
		err := o.session(ctx, adm)
		if ctx.Err() != nil {
			return nil
		}
		if isFatal(err) {
			return fmt.Errorf("outbox %s: another instance with transactional id %q took over, or access is denied: %w", o.deps.Name, o.cfg.TransactionalID, err)
		}
		if time.Since(started) > time.Minute {
			wait = minWait
		}
		o.m.restarts.Inc()
		d := wait/2 + rand.N(wait/2+1)
		o.log.Warn("outbox restarts from the committed state", slog.Any("err", err), slog.Duration("in", d))
		if sleep(ctx, d) != nil {
			return nil
		}
		wait = min(2*wait, maxWait)
	}
}

// Close stops a running Run and waits for it until ctx ends.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	cancel, done := o.cancel, o.done
	o.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sortPending(ps []*pending) {
	sort.SliceStable(ps, func(i, j int) bool {
		if !ps[i].e.IntendedAt.Equal(ps[j].e.IntendedAt) {
			return ps[i].e.IntendedAt.Before(ps[j].e.IntendedAt)
		}
		return ps[i].e.Key < ps[j].e.Key
	})
}

func (o *Outbox) session(ctx context.Context, adm *kadm.Client) error {
	if err := ensureTopic(ctx, adm, o.cfg.Topic, o.cfg.ReplicationFactor); err != nil {
		return err
	}
	if err := ensureDeadLetterTopic(ctx, adm, o.deps.DeadLetterTopic, o.cfg.ReplicationFactor); err != nil {
		return err
	}
	base := o.deps.KafkaOpts[:len(o.deps.KafkaOpts):len(o.deps.KafkaOpts)]
	sess, err := kgo.NewGroupTransactSession(append(base,
		kgo.TransactionalID(o.cfg.TransactionalID),
		kgo.TransactionTimeout(o.cfg.TransactionTimeout),
		kgo.ConsumerGroup(o.cfg.Group),
		// Static membership: a restarted instance takes its
		// predecessor's place at once.
		kgo.InstanceID(o.cfg.TransactionalID),
		kgo.ConsumeTopics(o.deps.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer sess.Close()
	// Fence any predecessor and resolve its open transaction before the
	// state is read: what load sees is then final.
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return fmt.Errorf("init transactional producer %q: %w", o.cfg.TransactionalID, err)
	}
	// Effect records (performing, done, dead) go through a transactional
	// producer of their own: a produce-only transaction of a group session
	// waits 500 ms before the next may begin (franz-go, without offsets to
	// commit), which would cap the outbox at one effect a second.
	marksID := o.cfg.TransactionalID + ".effects"
	marks, err := kgo.NewClient(append(base,
		kgo.TransactionalID(marksID),
		kgo.TransactionTimeout(o.cfg.TransactionTimeout),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer marks.Close()
	if _, _, err := marks.ProducerID(ctx); err != nil {
		return fmt.Errorf("init transactional producer %q: %w", marksID, err)
	}
	mem, err := load(ctx, base, adm, o.cfg.Topic)
	if err != nil {
		return fmt.Errorf("load outbox state: %w", err)
	}
	recovered := 0
	for _, p := range mem.pending {
		if p.e.Recovered {
			recovered++
			o.log.Warn("effect was being performed when the last session ended: performing it again (it may have happened already)",
				slog.String("key", p.e.Key), slog.Time("intended_at", p.e.IntendedAt))
		}
	}
	o.mu.Lock()
	o.mem = mem
	o.recovered += recovered
	o.mu.Unlock()
	o.m.recovered.Add(float64(recovered))
	o.m.pending.Set(float64(len(mem.pending)))
	if w, ok := o.h.(Warmer); ok {
		committed, err := Committed(ctx, adm, o.cfg.Group, o.deps.Topics)
		if err != nil {
			return err
		}
		if err := w.Warm(ctx, committed); err != nil {
			return fmt.Errorf("warm handler: %w", err)
		}
	}
	o.log.Info("outbox started", slog.String("topic", o.cfg.Topic), slog.Int("effects", len(mem.effects)),
		slog.Int("state_keys", len(mem.state)), slog.Int("pending", len(mem.pending)), slog.Int("recovered", recovered))

	for {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if at, ok := o.nextDue(mem); ok {
			pollCtx, cancel = context.WithDeadline(ctx, maxTime(at, time.Now().Add(5*time.Millisecond)))
		}
		fs := sess.PollRecords(pollCtx, o.cfg.BatchMax)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("kafka client closed")
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			switch {
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			case t == "":
				ferr = errors.Join(ferr, fmt.Errorf("consume: %w", err))
			default:
				ferr = errors.Join(ferr, fmt.Errorf("fetch %s/%d: %w", t, p, err))
			}
		})
		if ferr != nil {
			return ferr
		}
		if recs := fs.Records(); len(recs) > 0 {
			if err := o.transact(ctx, sess, mem, recs); err != nil {
				return err
			}
		}
		if err := o.performDue(ctx, marks, mem); err != nil {
			return err
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// transact hands recs to the handler and commits what it decided with the
// consumed offsets in one transaction.
func (o *Outbox) transact(ctx context.Context, sess *kgo.GroupTransactSession, mem *memory, recs []*kgo.Record) error {
	started := time.Now()
	tx := newTx(mem, o.deps.Now(), o.deps.DeadLetterTopic)
	cm, _ := o.h.(Committer)
	if err := o.h.Handle(ctx, tx, recs); err != nil {
		if cm != nil {
			cm.Aborted(recs)
		}
		return fmt.Errorf("handle batch: %w", err)
	}
	out, err := tx.records(o.cfg.Topic)
	if err != nil {
		return fmt.Errorf("encode outbox records: %w", err)
	}
	committed, err := o.produce(ctx, sess, out)
	if err != nil || !committed {
		if cm != nil {
			cm.Aborted(recs)
		}
		if err != nil {
			return err
		}
		o.log.Info("outbox transaction aborted by a group rebalance; the batch is redone")
		return nil
	}
	intents := tx.commit()
	if cm != nil {
		cm.Committed(recs)
	}
	for _, e := range intents {
		mem.pending = append(mem.pending, &pending{e: e})
	}
	o.mu.Lock()
	o.batches++
	o.mu.Unlock()
	o.m.intents.Add(float64(len(intents)))
	o.m.pending.Set(float64(len(mem.pending)))
	o.m.deadLetters.Add(float64(len(tx.dead)))
	o.m.batch.Observe(time.Since(started).Seconds())
	o.log.Debug("outbox batch committed", slog.Int("consumed", len(recs)), slog.Int("intents", len(intents)), slog.Int("state_writes", len(tx.stateOrder)))
	return nil
}

// produce writes out in one transaction, with the offsets of what was
// polled since the last one.
func (o *Outbox) produce(ctx context.Context, sess *kgo.GroupTransactSession, out []*kgo.Record) (bool, error) {
	// Once begun, a transaction is finished even if ctx is cancelled: a
	// clean commit or abort, never one left to time out.
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.TransactionTimeout)
	defer cancel()
	if err := sess.Begin(); err != nil {
		return false, fmt.Errorf("begin kafka transaction: %w", err)
	}
	var (
		pmu  sync.Mutex
		perr error
	)
	for _, r := range out {
		sess.Produce(txCtx, r, func(r *kgo.Record, err error) {
			if err != nil {
				pmu.Lock()
				perr = errors.Join(perr, fmt.Errorf("produce to %s: %w", r.Topic, err))
				pmu.Unlock()
			}
		})
	}
	if err := sess.Client().Flush(txCtx); err != nil {
		return false, fmt.Errorf("flush: %w", err)
	}
	pmu.Lock()
	failed := perr
	pmu.Unlock()
	end := kgo.TryCommit
	if failed != nil {
		end = kgo.TryAbort
	}
	committed, err := sess.End(txCtx, end)
	switch {
	case failed != nil:
		o.m.transactions.WithLabelValues("aborted").Inc()
		return false, errors.Join(failed, err)
	case err != nil:
		o.m.transactions.WithLabelValues("failed").Inc()
		return false, fmt.Errorf("end kafka transaction: %w", err)
	case !committed:
		o.m.transactions.WithLabelValues("aborted").Inc()
		return false, nil
	}
	o.m.transactions.WithLabelValues("committed").Inc()
	return true, nil
}
