package capture

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/policy"
	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/capture/source"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Deps are the clients capture uses; cmd builds them from configuration.
type Deps struct {
	// Pool is a normal connection pool to the MO store.
	Pool *pgxpool.Pool
	// ReplicationConfig connects with replication=database to the MO store.
	ReplicationConfig *pgconn.Config
	// KafkaOpts are the connection options (seed brokers, TLS, SASL);
	// capture adds the transactional producer settings.
	KafkaOpts []kgo.Opt
	Topics    event.Topics
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	// Now is the clock for validity ticks; nil is time.Now.
	Now func() time.Time
	// Policy, when set, redacts sensitive job functions and sets export
	// titles before anything is published (capture/policy), with Now as
	// its clock ("valid today"). It must validate.
	Policy *policy.Config
	// Progress, when set, is told how the initial snapshot goes.
	Progress Progress
	// AfterCommit, when set, runs after each Kafka commit of streamed
	// events and before the position is confirmed to PostgreSQL. Tests use
	// it to crash in exactly that gap; leave it nil.
	AfterCommit func()
}

// Capture is one capture process. Run it once; it is not safe for
// concurrent use.
type Capture struct {
	cfg         Config
	pool        *pgxpool.Pool
	replCfg     *pgconn.Config
	kopts       []kgo.Opt
	topics      event.Topics
	log         *slog.Logger
	metrics     *metrics
	now         func() time.Time
	progress    Progress
	afterCommit func()

	policy *policy.Policy
	// stoppedAt is the position confirmed when streaming stopped.
	stoppedAt pglogrepl.LSN

	pub     *publish.Publisher
	catalog *catalog
	vers    *versions
}

// New returns a Capture. cfg gets its defaults; it must validate.
func New(cfg Config, d Deps) (*Capture, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	var pol *policy.Policy
	if d.Policy != nil {
		pc := *d.Policy
		pc.Defaults()
		if err := pc.Validate(); err != nil {
			return nil, &permanentError{err}
		}
		pol = policy.New(pc, d.Now)
	}
	return &Capture{policy: pol,
		cfg: cfg, pool: d.Pool, replCfg: d.ReplicationConfig, kopts: d.KafkaOpts, topics: d.Topics,
		log: d.Logger, metrics: newMetrics(d.Registry), now: d.Now, progress: d.Progress, afterCommit: d.AfterCommit,
		catalog: newCatalog(), vers: newVersions(cfg.VersionCache),
	}, nil
}

// Run captures until ctx ends. It first waits, as a standby, for the
// single-active lock; then it sets up and streams. A transient failure
// (PostgreSQL or Kafka unreachable, a lost connection, a failed Kafka
// commit) is logged, and after a capped, jittered backoff capture starts
// again from its checkpoint: nothing is lost and nothing published twice.
// Run returns nil when ctx is cancelled, or, at once, an error that
// retrying cannot fix (a refused login, a missing right or database, the
// wrong wal_level), which says what to do.
func (c *Capture) Run(ctx context.Context) error {
	wait := c.cfg.RetryMin
	for {
		started := time.Now()
		err := c.runOnce(ctx)
		if ctx.Err() != nil {
			at := "none (it was not streaming)"
			if c.stoppedAt != 0 {
				at = c.stoppedAt.String()
			}
			c.log.Info("capture stopped", slog.String("slot", c.cfg.Slot), slog.String("confirmed_lsn", at))
			return nil
		}
		permanent, hint := classify(err)
		if permanent {
			if hint != "" {
				return fmt.Errorf("%w — %s", err, hint)
			}
			return err
		}
		c.metrics.restarts.Inc()
		if time.Since(started) > time.Minute {
			wait = c.cfg.RetryMin
		}
		sleep := wait/2 + rand.N(wait/2+1)
		attrs := []any{slog.Any("err", err), slog.Duration("retry_in", sleep)}
		if hint != "" {
			attrs = append([]any{slog.String("reason", hint)}, attrs...)
		}
		c.log.Warn("capture failed; retrying from the checkpoint (transient: nothing is lost)", attrs...)
		select {
		case <-ctx.Done():
			c.log.Info("capture stopped while waiting to retry", slog.String("slot", c.cfg.Slot))
			return nil
		case <-time.After(sleep):
		}
		wait = min(wait*2, c.cfg.RetryMax)
	}
}

func (c *Capture) runOnce(ctx context.Context) error {
	// The single-active lock: a session advisory lock held on its own
	// connection for as long as this process captures. A standby blocks
	// here; when the active process dies its session ends and the lock
	// passes on.
	lockConn, err := c.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to the MO store: %w", err)
	}
	defer lockConn.Release()
	c.metrics.active.Set(0)
	var got bool
	if err := lockConn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, c.cfg.LockID).Scan(&got); err != nil {
		return fmt.Errorf("take capture lock: %w", err)
	}
	if !got {
		if err := c.standby(ctx, lockConn.Conn()); err != nil {
			return err
		}
	}
	defer func() {
		_, _ = lockConn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, c.cfg.LockID)
	}()
	c.metrics.active.Set(1)
	c.log.Info("capture active", slog.String("slot", c.cfg.Slot))

	cls := make([]*kgo.Client, c.cfg.KafkaProducers)
	for i := range cls {
		cl, err := c.producer(TransactionalID(c.cfg.Slot, i))
		if err != nil {
			return err
		}
		defer cl.Close()
		cls[i] = cl
	}
	cl := cls[0]
	if err := pingKafka(ctx, cl); err != nil {
		return err
	}
	if err := publish.EnsureTopics(ctx, kadm.NewClient(cl), c.topics, c.cfg.Topics); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	c.pub = publish.New(c.topics.Checkpoint(), cls...)
	// Fence a predecessor that died inside a Kafka transaction before
	// reading the checkpoint.
	if err := c.pub.Fence(ctx, publish.Checkpoint{Slot: "_fence/" + c.cfg.Slot}); err != nil {
		return fmt.Errorf("kafka transactions: %w", err)
	}
	cp, err := publish.ReadCheckpoint(ctx, c.kopts, c.topics.Checkpoint(), c.cfg.Slot)
	if err != nil {
		return err
	}

	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to the MO store: %w", err)
	}
	defer conn.Release()
	if err := source.EnsurePublication(ctx, conn.Conn(), c.cfg.Publication); err != nil {
		return err
	}
	slot, err := source.LookupSlot(ctx, conn.Conn(), c.cfg.Slot)
	if err != nil {
		return err
	}
	if err := c.catalog.Load(ctx, c.pool); err != nil {
		return err
	}
	repl, err := pgconn.ConnectConfig(ctx, c.replConfig())
	if err != nil {
		return fmt.Errorf("replication connection to the MO store: %w", err)
	}
	defer repl.Close(context.WithoutCancel(ctx))

	mk := &eventMaker{topics: c.topics, db: c.pool, catalog: c.catalog, versions: c.vers, policy: c.policy,
		deadLetter: func(stage string) { c.metrics.deadLetters.WithLabelValues(stage).Inc() },
		counted:    func(typ, op string, n int) { c.metrics.events.WithLabelValues(typ, op).Add(float64(n)) },
		policyCounted: func(withheld, republished int) {
			c.metrics.withheld.Add(float64(withheld))
			c.metrics.republished.Add(float64(republished))
		}}

	if slot.Exists && slot.Lost {
		// The server dropped WAL the slot needed: what changed since the
		// checkpoint cannot be read. A new slot and snapshot republish
		// every object's current state; objects deleted in the gap are
		// not seen as deleted.
		c.log.Error("replication slot lost: the MO store removed WAL it still needed (max_slot_wal_keep_size; capture was stopped or behind for too long); dropping it and taking a new snapshot — deletions since the checkpoint are missed: rebuild the mirrors (--rebuild) to drop objects deleted meanwhile",
			slog.String("slot", c.cfg.Slot))
		if err := pglogrepl.DropReplicationSlot(ctx, repl, c.cfg.Slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
			return fmt.Errorf("drop lost slot %s: %w", c.cfg.Slot, err)
		}
		slot.Exists = false
	}
	switch {
	case !slot.Exists:
		if cp != nil && cp.SnapshotDone {
			c.log.Warn("slot missing but a checkpoint exists: changes since the checkpoint may have been missed; taking a new snapshot",
				slog.String("slot", c.cfg.Slot), slog.String("checkpoint_lsn", lsnString(cp.LSN)))
		}
		consistent, name, err := source.CreateSlot(ctx, repl, c.cfg.Slot)
		if err != nil {
			return err
		}
		c.log.Info("created replication slot", slog.String("slot", c.cfg.Slot), slog.String("lsn", consistent.String()))
		// The snapshot shows the state of the day it is taken: ticks start
		// from there (or from an earlier slot's last tick day).
		tick := string(mo.DateOf(c.now()))
		if cp != nil && cp.Tick != "" {
			tick = cp.Tick
		}
		cp = &publish.Checkpoint{Slot: c.cfg.Slot, LSN: uint64(consistent), Tick: tick,
			Snapshot: &publish.SnapshotProgress{}}
		if err := c.snapshot(ctx, cp, mk, name); err != nil {
			return err
		}
	case cp == nil:
		// Nothing was ever published from this slot (capture stopped
		// between creating it and its first commit, or the topics were
		// deleted): start over with a new slot and exported snapshot, so
		// the snapshot and the stream meet exactly.
		// ReadCheckpoint returned nil only after reading the whole topic.
		c.log.Error("slot exists but the checkpoint topic holds no checkpoint for it: nothing this slot streamed is on record in Kafka (capture stopped before its first commit, or the topics were deleted, or kafka.topic_prefix changed); dropping the slot and publishing a new initial snapshot — if the topics were deleted or the prefix changed, rebuild the mirrors (--rebuild)",
			slog.String("slot", c.cfg.Slot), slog.String("topic", c.topics.Checkpoint()))
		if err := pglogrepl.DropReplicationSlot(ctx, repl, c.cfg.Slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
			return fmt.Errorf("drop slot %s without checkpoint: %w", c.cfg.Slot, err)
		}
		consistent, name, err := source.CreateSlot(ctx, repl, c.cfg.Slot)
		if err != nil {
			return err
		}
		cp = &publish.Checkpoint{Slot: c.cfg.Slot, LSN: uint64(consistent), Snapshot: &publish.SnapshotProgress{},
			Tick: string(mo.DateOf(c.now()))}
		if err := c.snapshot(ctx, cp, mk, name); err != nil {
			return err
		}
	case cp.Snapshot != nil:
		c.log.Info("resuming interrupted snapshot", slog.String("class", cp.Snapshot.Class), slog.Int64("published", cp.Snapshot.Published))
		if err := c.snapshot(ctx, cp, mk, ""); err != nil {
			return err
		}
	}
	if cp.Tick == "" {
		// Capture has just started: the snapshot holds today's state.
		cp.Tick = string(mo.DateOf(c.now()))
	}
	if err := mk.loadPolicy(ctx, c.pool); err != nil {
		return err
	}
	if c.policy != nil {
		for _, u := range c.policy.Unmatched() {
			c.log.Warn("policy names a class or IT system the MO store does not have (a typo? it takes effect when one with that uuid or user_key appears)", slog.String("policy", u))
		}
	}
	return c.stream(ctx, repl, cp, mk)
}

// TransactionalID is the Kafka transactional id of capture's i-th producer
// (from 0) on slot: mocdc-capture-<slot>, then mocdc-capture-<slot>-2, …
func TransactionalID(slot string, i int) string {
	if i == 0 {
		return "mocdc-capture-" + slot
	}
	return fmt.Sprintf("mocdc-capture-%s-%d", slot, i+1)
}

// producer is one transactional Kafka client of capture.
func (c *Capture) producer(id string) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, c.kopts...),
		kgo.TransactionalID(id),
		kgo.TransactionTimeout(60*time.Second),
		kgo.RecordRetries(10),
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.MaxBufferedRecords(100000),
		// Publish produces a whole batch, then flushes: the linger only
		// keeps the first records of a partition from leaving alone, ahead
		// of the rest, so each partition gets one record batch per Kafka
		// transaction. With two, the second is pipelined behind the first;
		// when the first is refused with CONCURRENT_TRANSACTIONS (the
		// previous transaction is still completing on the broker) and
		// retried, the second arrives at a broker that holds no state for
		// the new epoch and is rejected with OutOfOrderSequenceException,
		// which the broker logs at ERROR. franz-go resends it, so nothing
		// is lost, but the broker log fills with errors. Flush sends at
		// once, so this adds no latency.
		kgo.ProducerLinger(time.Second),
		// A produce refused with a retriable error (CONCURRENT_TRANSACTIONS
		// when the next transaction starts while the broker still writes
		// the previous one's markers) is retried after a metadata refresh,
		// and franz-go refreshes at most once per MetadataMinAge (default
		// 5 s): a second refusal stalled publishing for 5 s (the traces of
		// bench steady). Capture's clients ask little metadata otherwise.
		kgo.MetadataMinAge(100*time.Millisecond),
	)...)
	if err != nil {
		return nil, &permanentError{fmt.Errorf("kafka client: %w", err)}
	}
	return cl, nil
}

// snapshot runs the initial snapshot in a REPEATABLE READ transaction: on
// the exported snapshot when exported is set, else on a new one with the
// visibility of the original (or of its own when there is none).
func (c *Capture) snapshot(ctx context.Context, cp *publish.Checkpoint, mk *eventMaker, exported string) error {
	tx, err := c.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin snapshot transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if exported != "" {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET TRANSACTION SNAPSHOT '%s'", exported)); err != nil {
			return fmt.Errorf("import exported snapshot %s: %w", exported, err)
		}
	}
	if cp.Snapshot.Visible == "" {
		if err := tx.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&cp.Snapshot.Visible); err != nil {
			return fmt.Errorf("read snapshot: %w", err)
		}
	}
	if err := mk.loadPolicy(ctx, tx); err != nil {
		return err
	}
	return c.runSnapshot(ctx, tx, cp, mk)
}

func (c *Capture) replConfig() *pgconn.Config {
	cfg := c.replCfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = "mocdc-capture"
	// Text-format tuples print timestamps in the walsender's DateStyle; the
	// decoder reads ISO.
	cfg.RuntimeParams["DateStyle"] = "ISO"
	return cfg
}

func lsnString(l uint64) string {
	return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l))
}
