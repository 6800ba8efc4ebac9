package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// Deps are what a Builder needs besides its Config.
type Deps struct {
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger).
	// The builder adds its consumer-group and transaction options and
	// builds its own clients from them, because a fenced or failed
	// transactional session can only be replaced, not repaired.
	KafkaOpts []kgo.Opt
	Topics    event.Topics
	// Key signs the checkpoints (LoadPrivateKey).
	Key      ed25519.PrivateKey
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Builder appends an entry per registration and per read to the ledger
// topic, exactly once, and signs the chain head at checkpoints. Run it in
// one process per ledger.
type Builder struct {
	cfg     Config
	deps    Deps
	groupID string
	txnID   string
	log     *slog.Logger
	m       *metrics
	now     func() time.Time
	// afterFlush, when set (tests), runs after a batch's records are
	// produced and flushed and before its transaction ends.
	afterFlush func()
	lag        map[string]int64
	headSeq    atomic.Uint64 // the committed chain head, for the stop line

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewBuilder checks cfg and deps and returns a Builder; it connects to
// nothing until Run. cfg must have had Defaults applied.
func NewBuilder(cfg Config, deps Deps) (*Builder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(deps.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("ledger builder: no signing key: set ledger.private_key_file (make one with `mocdc ledger keygen --out DIR`)")
	}
	if len(deps.KafkaOpts) == 0 {
		return nil, errors.New("ledger builder: no Kafka options (seed brokers)")
	}
	b := &Builder{cfg: cfg, deps: deps, log: deps.Logger, m: newMetrics(deps.Registry), now: time.Now, lag: map[string]int64{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	prefix := deps.Topics.Prefix
	if prefix == "" {
		prefix = event.DefaultPrefix
	}
	b.groupID, b.txnID = cfg.Group(deps.Topics), cfg.TransactionalID
	if b.txnID == "" {
		b.txnID = prefix + ".ledger-builder"
	}
	return b, nil
}

// permanent marks an error that a fresh session cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func isPermanent(err error) bool {
	var p permanent
	var v *ErrEventVersion
	return errors.As(err, &p) || errors.As(err, &v) ||
		errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.FencedInstanceID) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed) ||
		errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed) || errors.Is(err, kerr.SaslAuthenticationFailed)
}

// Run builds the ledger until ctx is cancelled (then it finishes the open
// batch, if any, and returns nil). After a Kafka error it drops its
// session and starts over from the committed state — the ledger's last
// record and the group's committed offsets, which always match — with
// capped, jittered backoff. It returns an error only for what retrying
// cannot fix: another builder fenced this one, an event newer than this
// mocdc, missing permissions, or a ledger whose head fails its own hash.
func (b *Builder) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.mu.Lock()
	if b.cancel != nil {
		b.mu.Unlock()
		return errors.New("ledger builder: Run called twice")
	}
	b.cancel, b.done = cancel, make(chan struct{})
	b.mu.Unlock()
	defer close(b.done)

	admCl, err := kgo.NewClient(b.deps.KafkaOpts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	const minWait, maxWait = 500 * time.Millisecond, 30 * time.Second
	wait := minWait
	topicsReady := false
	for {
		started := time.Now()
		var err error
		if !topicsReady {
			// Kafka unreachable is retried like any session failure; a
			// ledger topic with the wrong settings is permanent.
			err = EnsureTopic(ctx, adm, b.deps.Topics.Ledger(), b.cfg.ReplicationFactor)
			if err == nil {
				err = ensureDeadLetterTopic(ctx, adm, b.deps.Topics.DeadLetter(), b.cfg.ReplicationFactor)
			}
			topicsReady = err == nil
		}
		if topicsReady {
			err = b.session(ctx, adm)
		}
		if ctx.Err() != nil {
			b.leave(ctx, adm)
			return nil
		}
		if isPermanent(err) {
			if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.FencedInstanceID) {
				return fmt.Errorf("another ledger builder with transactional id %q took over (only one may run): %w", b.txnID, err)
			}
			if errors.Is(err, kerr.SaslAuthenticationFailed) {
				return fmt.Errorf("%w — Kafka refused the SASL login: check kafka.sasl (mechanism, user, password)", err)
			}
			if !errors.As(err, new(permanent)) && !errors.As(err, new(*ErrEventVersion)) {
				return fmt.Errorf("%w — Kafka refused an operation: the ledger builder's principal needs the ACLs in docs/operations.md", err)
			}
			return err
		}
		if time.Since(started) > time.Minute {
			wait = minWait
		}
		b.m.restarts.Inc()
		d := wait/2 + rand.N(wait/2+1)
		b.log.Warn("ledger builder restarts from the committed state", slog.Any("err", err), slog.Duration("in", d))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
		wait = min(2*wait, maxWait)
	}
}

// leaveTimeout bounds the LeaveGroup request of a stopping builder.
const leaveTimeout = 5 * time.Second

// leave takes the stopped builder out of its consumer group at once. It is
// a static member (its instance id is its transactional id), and closing
// a static member's client does not leave the group: without this the
// group would wait out the session timeout before another builder gets
// the partitions. It logs where the ledger stands.
func (b *Builder) leave(ctx context.Context, adm *kadm.Client) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	resp, err := adm.LeaveGroup(lctx, kadm.LeaveGroup(b.groupID).InstanceIDs(b.txnID).Reason("ledger builder stopped"))
	if err == nil {
		err = resp.Error()
	}
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		b.log.Warn("ledger builder stopped but could not leave its group; another builder gets the partitions after the session timeout", slog.String("group", b.groupID), slog.Any("err", err))
	}
	b.log.Info("ledger builder stopped (a batch in progress was finished first)", slog.String("topic", b.deps.Topics.Ledger()),
		slog.Uint64("head_sequence", b.headSeq.Load()), slog.String("group", b.groupID))
}

// Close stops a running Run, letting it finish its open batch, and waits
// for it until ctx ends.
func (b *Builder) Close(ctx context.Context) error {
	b.mu.Lock()
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
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

// session runs one transactional group session until ctx ends or an error.
func (b *Builder) session(ctx context.Context, adm *kadm.Client) error {
	base := b.deps.KafkaOpts[:len(b.deps.KafkaOpts):len(b.deps.KafkaOpts)]
	sess, err := kgo.NewGroupTransactSession(append(base,
		kgo.TransactionalID(b.txnID),
		kgo.TransactionTimeout(b.cfg.TransactionTimeout),
		kgo.ConsumerGroup(b.groupID),
		// Static membership: a restarted builder takes its predecessor's
		// place in the group at once instead of waiting out its session.
		kgo.InstanceID(b.txnID),
		kgo.ConsumeTopics(Consumed(b.deps.Topics)...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers take an offset each: seen, the lag of a
		// caught-up builder is 0 (not one per partition), and the
		// committed offsets step past them.
		kgo.KeepControlRecords(),
		kgo.RequireStableFetchOffsets(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		// transact produces a whole batch and then flushes: lingering
		// keeps a partition's first records from leaving alone ahead of
		// the rest, so a transaction carries as few record batches per
		// partition as the batch size allows (a second, pipelined batch
		// behind a retried first one is what makes the broker log
		// OutOfOrderSequenceException; see capture). Flush sends at once.
		kgo.ProducerLinger(time.Second),
	)...)
	if err != nil {
		return permanent{fmt.Errorf("kafka client: %w", err)}
	}
	defer sess.Close()

	// Initialising the producer id fences any predecessor with the same
	// transactional id and resolves its open transaction (commit if it had
	// asked to commit, else abort) before we read the head: the head read
	// below is then final.
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return fmt.Errorf("init transactional producer %q: %w", b.txnID, err)
	}
	head, err := readHead(ctx, b.deps.KafkaOpts, adm, b.deps.Topics.Ledger())
	if err != nil {
		return err
	}
	actors, err := newActorNames(b.deps.KafkaOpts, adm, b.deps.Topics.Actor(), b.log)
	if err != nil {
		return err
	}
	defer actors.close()
	b.m.head.Set(float64(head.Sequence))
	b.headSeq.Store(head.Sequence)
	b.log.Info("ledger builder started", slog.String("topic", b.deps.Topics.Ledger()),
		slog.Uint64("head_sequence", head.Sequence), slog.String("transactional_id", b.txnID))

	for {
		c := newChain(head, b.deps.Key, b.cfg.CheckpointEvery, b.cfg.CheckpointInterval)
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if at, ok := c.due(); ok {
			pollCtx, cancel = context.WithDeadline(ctx, at)
		}
		fs := sess.PollRecords(pollCtx, b.cfg.BatchMax)
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
		b.observeLag(fs)
		recs := slices.DeleteFunc(fs.Records(), func(r *kgo.Record) bool { return r.Attrs.IsControl() })
		if len(recs) == 0 && !c.timeDue(b.now()) {
			continue
		}
		committed, err := b.transact(ctx, sess, actors, c, recs)
		if err != nil {
			return err
		}
		if committed {
			head = c.head
		}
	}
}

// transact appends the entries of recs (and any due checkpoint) in one
// Kafka transaction together with the consumed offsets. It reports whether
// the transaction committed; on false with a nil error (a rebalance) the
// session has rewound to the committed offsets and c's head is discarded.
func (b *Builder) transact(ctx context.Context, sess *kgo.GroupTransactSession, actors *actorNames, c *chain, recs []*kgo.Record) (bool, error) {
	started := time.Now()
	if len(recs) > 0 {
		if err := actors.catchUp(ctx); err != nil {
			return false, fmt.Errorf("read actor names: %w", err)
		}
	}
	items := make([]item, 0, len(recs))
	var dead []*event.DeadLetter
	for _, r := range recs {
		it, err := transform(r, b.deps.Topics.Access())
		if err != nil {
			return false, err
		}
		if it.dead != nil {
			dead = append(dead, it.dead)
		}
		items = append(items, it)
	}
	entries := order(items)

	now := b.now()
	ledger := b.deps.Topics.Ledger()
	out := make([]*kgo.Record, 0, len(entries)+len(entries)/b.cfg.CheckpointEvery+len(dead)+1)
	counts := map[Kind]int{}
	add := func(seq uint64, v []byte) {
		out = append(out, &kgo.Record{Topic: ledger, Partition: 0, Key: strconv.AppendUint(nil, seq, 10), Value: v})
	}
	for _, e := range entries {
		e.ActorName = actors.name(e.Actor)
		v := c.entry(e, now)
		add(e.Sequence, v)
		counts[e.Kind]++
		if c.countDue() {
			cp, v := c.checkpoint(now)
			add(cp.Sequence, v)
			counts[KindCheckpoint]++
		}
	}
	if c.timeDue(now) {
		cp, v := c.checkpoint(now)
		add(cp.Sequence, v)
		counts[KindCheckpoint]++
	}
	for _, d := range dead {
		v, err := json.Marshal(d)
		if err != nil {
			return false, fmt.Errorf("encode dead letter: %w", err)
		}
		out = append(out, &kgo.Record{Topic: b.deps.Topics.DeadLetter(), Partition: 0, Key: []byte(d.Topic), Value: v})
		b.log.Warn("event sent to the dead-letter topic", slog.String("topic", d.Topic),
			slog.Int("partition", int(d.Partition)), slog.Int64("offset", d.Offset), slog.String("reason", d.Reason))
	}

	// Once begun, the batch is finished even if ctx is cancelled (SIGTERM):
	// a clean commit or abort, never a transaction left to time out.
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.TransactionTimeout)
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
	if b.afterFlush != nil {
		b.afterFlush()
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
		b.m.transactions.WithLabelValues("aborted").Inc()
		return false, errors.Join(failed, err)
	case err != nil:
		return false, fmt.Errorf("end kafka transaction: %w", err)
	case !committed:
		b.m.transactions.WithLabelValues("aborted").Inc()
		b.log.Info("ledger transaction aborted by a group rebalance; the batch is redone")
		return false, nil
	}
	b.m.transactions.WithLabelValues("committed").Inc()
	b.m.entries.WithLabelValues(string(KindWrite)).Add(float64(counts[KindWrite]))
	b.m.entries.WithLabelValues(string(KindRead)).Add(float64(counts[KindRead]))
	b.m.checkpoints.Add(float64(counts[KindCheckpoint]))
	b.m.deadLetters.Add(float64(len(dead)))
	b.m.head.Set(float64(c.head.Sequence))
	b.headSeq.Store(c.head.Sequence)
	b.m.batch.Observe(time.Since(started).Seconds())
	b.log.Debug("ledger batch committed", slog.Int("consumed", len(recs)), slog.Int("entries", len(entries)),
		slog.Int("checkpoints", counts[KindCheckpoint]), slog.Uint64("head_sequence", c.head.Sequence))
	return true, nil
}

// observeLag records, per partition in fs, how far its last stable offset
// is ahead of the last record polled (a transaction marker included: the
// lag of a caught-up partition is 0).
func (b *Builder) observeLag(fs kgo.Fetches) {
	changed := false
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if n := len(p.Records); n > 0 && p.LastStableOffset >= 0 {
			b.lag[p.Topic+"/"+strconv.Itoa(int(p.Partition))] = max(0, p.LastStableOffset-(p.Records[n-1].Offset+1))
			changed = true
		}
	})
	if changed {
		var sum int64
		for _, l := range b.lag {
			sum += l
		}
		b.m.lag.Set(float64(sum))
	}
}
