package runner

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
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Deps are what a Runner needs besides its Config: the sink, where to read
// and dead-letter, and the injected client options, logger and registry.
type Deps struct {
	// Name identifies the sink in logs and metrics, e.g. "mirror-bi".
	Name string
	// Topics are consumed as one group.
	Topics []string
	// DeadLetterTopic receives records that can never apply
	// (event.Topics.DeadLetter()).
	DeadLetterTopic string
	// KafkaOpts are the base client options (brokers, TLS, SASL, logger),
	// built in cmd; the runner adds the group settings.
	KafkaOpts []kgo.Opt
	// InstanceID, when set, makes the runner a static member of its group
	// (KIP-345) under this id: an instance killed with SIGKILL and started
	// again under the same id takes its place back at once, with the same
	// partitions and no rebalance, instead of waiting for the group to time
	// out the dead member's session (SessionTimeout). It names the process,
	// not the sink: unique among the live instances of a group and stable
	// across restarts of one instance (a StatefulSet pod name, a systemd
	// unit instance). Two live instances with one id fence each other: the
	// older one's Run fails with an error saying so. Empty: dynamic
	// membership.
	InstanceID string
	Logger     *slog.Logger
	Registry   prometheus.Registerer
}

// Stats is a snapshot of a runner's progress.
type Stats struct {
	// Records applied (or skipped as already applied) since start.
	Records int64
	// Batches committed since start.
	Batches int64
	// DeadLetters written since start.
	DeadLetters int64
	// Lag is the sum over owned partitions of high watermark minus next
	// offset, as of the last fetch; -1 before the first fetch.
	Lag int64
	// Partitions owned now.
	Partitions int
	// Failures is how many attempts in a row failed for the batch (or
	// tick) in hand, 0 when the last attempt succeeded; LastError is the
	// last failure's error and FailingSince when the first of them was.
	Failures     int
	LastError    string
	FailingSince time.Time
}

// Runner consumes the topics of one sink as a consumer group member and
// applies batches to the sink; see the package documentation for the
// delivery guarantees. Run it once; Close it after Run returns.
type Runner struct {
	cfg  Config
	deps Deps
	sink Sink
	cl   *kgo.Client
	log  *slog.Logger
	m    *metrics

	mu     sync.Mutex
	hwm    map[TopicPartition]int64 // high watermark per owned partition
	next   map[TopicPartition]int64 // next offset to apply per owned partition
	warned map[TopicPartition]bool  // offset past the end reported

	records, batches, deadLetters atomic.Int64
	fenced                        atomic.Bool // another live instance took our instance id
	closeOnce                     sync.Once

	// health: the failures in a row of the batch in hand (mu).
	failures     int
	lastError    string
	failingSince time.Time
}

// New makes a runner for sink. It creates the Kafka client (no network
// I/O yet); the group is joined by Run.
func New(cfg Config, sink Sink, deps Deps) (*Runner, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(deps.Topics) == 0 {
		return nil, errors.New("runner: no topics to consume")
	}
	if deps.DeadLetterTopic == "" {
		return nil, errors.New("runner: no dead-letter topic")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	r := &Runner{
		cfg: cfg, deps: deps, sink: sink,
		log:    deps.Logger.With(slog.String("sink", deps.Name)),
		m:      newMetrics(deps.Registry, deps.Name),
		hwm:    map[TopicPartition]int64{},
		next:   map[TopicPartition]int64{},
		warned: map[TopicPartition]bool{},
	}
	opts := append(append([]kgo.Opt(nil), deps.KafkaOpts...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(deps.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Offsets live in the target, written with the data; Kafka's
		// committed offsets are neither written nor read. With no commit
		// the group's starting point is the log start, which is never
		// ahead of the target, and AdjustFetchOffsetsFn moves it to the
		// target's offsets before the first fetch.
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AdjustFetchOffsetsFn(r.seekToTarget),
		kgo.BlockRebalanceOnPoll(),
		// Transaction markers take an offset each: seen, they move the
		// batch's End past them, so a caught-up sink has lag 0 (instead
		// of one per partition) and stores where it really is.
		kgo.KeepControlRecords(),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(cfg.SessionTimeout/4),
		kgo.OnPartitionsRevoked(r.dropPartitions),
		kgo.OnPartitionsLost(r.dropPartitions),
	)
	if deps.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(deps.InstanceID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("runner %s: kafka client: %w", deps.Name, err)
	}
	r.cl = cl
	return r, nil
}

// seekToTarget runs when the group assigns partitions to this member, after
// the group's own offsets were fetched and before anything is consumed: it
// replaces them with the offsets stored in the target.
func (r *Runner) seekToTarget(ctx context.Context, fetched map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	var stored Offsets
	for attempt := 0; ; attempt++ {
		s, err := r.sink.Offsets(ctx)
		if err == nil {
			stored = s
			break
		}
		r.log.Warn("read offsets from target failed; retrying", slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := r.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return nil, fmt.Errorf("read offsets from target: %w", err)
		}
	}
	out := make(map[string]map[int32]kgo.Offset, len(fetched))
	r.mu.Lock()
	defer r.mu.Unlock()
	assigned, resumed := 0, 0
	defer func() {
		r.log.Info("partitions assigned", slog.Int("partitions", assigned), slog.Int("resumed_from_target", resumed), slog.Int("from_start", assigned-resumed))
	}()
	for topic, parts := range fetched {
		out[topic] = make(map[int32]kgo.Offset, len(parts))
		for p := range parts {
			tp := TopicPartition{topic, p}
			assigned++
			if n, ok := stored.Get(topic, p); ok {
				out[topic][p] = kgo.NewOffset().At(n).WithEpoch(-1)
				r.next[tp] = n
				resumed++
			} else {
				out[topic][p] = kgo.NewOffset().AtStart()
				r.next[tp] = 0
			}
			r.log.Debug("partition assigned", slog.String("topic", topic), slog.Int("partition", int(p)), slog.Int64("offset", r.next[tp]))
		}
	}
	return out, nil
}

// dropPartitions forgets revoked or lost partitions.
func (r *Runner) dropPartitions(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for topic, ps := range parts {
		for _, p := range ps {
			n++
			tp := TopicPartition{topic, p}
			delete(r.hwm, tp)
			delete(r.next, tp)
			r.m.lag.DeleteLabelValues(topic, partLabel(p))
			r.log.Debug("partition released", slog.String("topic", topic), slog.Int("partition", int(p)))
		}
	}
	if n > 0 {
		r.log.Info("partitions released", slog.Int("partitions", n), slog.Int("kept", len(r.next)))
	}
}

// Run consumes and applies until ctx ends (then it returns nil: an open
// batch is abandoned, its transaction rolled back, and read again by
// whoever owns the partition next; Close then leaves the group) or the
// client is closed.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.waitTopics(ctx); err != nil {
		if ctx.Err() != nil {
			return r.stopped()
		}
		return err
	}
	ticker, _ := r.sink.(Ticker)
	lastTick := time.Now()
	for {
		b, err := r.collect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return r.stopped()
			}
			return err
		}
		if r.advances(b) {
			if err := r.apply(ctx, b); err != nil {
				if ctx.Err() != nil {
					return r.stopped()
				}
				if !errors.Is(err, errRewound) {
					return err
				}
			}
		}
		if ticker != nil && time.Since(lastTick) >= r.cfg.TickInterval {
			if err := r.retry(ctx, "tick", ticker.Tick); err != nil {
				if ctx.Err() != nil {
					return r.stopped()
				}
				return err
			}
			lastTick = time.Now()
		}
		r.cl.AllowRebalance()
	}
}

// stopped logs where the runner stands when its context ends.
func (r *Runner) stopped() error {
	s := r.Stats()
	r.log.Info("sink stopped (a batch in progress, if any, is rolled back and read again at the next start)",
		slog.Int64("lag", s.Lag), slog.Int("partitions", s.Partitions), slog.Int64("records", s.Records))
	return nil
}

var errClosed = errors.New("runner: kafka client closed")

// collect polls until MaxRecords records are in hand, or MaxWait passed
// since the first one was written to Kafka (its timestamp; never counted
// from before MaxWait ago nor from after it arrived). Records that waited
// in Kafka while the previous batch applied are not held back any longer:
// what is already fetched is taken (up to MaxRecords) and the batch cut, so
// under load a batch is whatever arrived during the last apply (group
// commit) instead of that plus MaxWait. Idle, it returns an empty batch
// every few seconds so that ticks and rebalances get their turn.
func (r *Runner) collect(ctx context.Context) (*Batch, error) {
	var recs []Record
	markers := Offsets{} // past the transaction markers fetched
	var first time.Time
	drained := false // the last poll, past the deadline, returned records
	idle := min(r.cfg.TickInterval, 5*time.Second)
	for len(recs) < r.cfg.MaxRecords {
		wait := idle
		if !first.IsZero() {
			wait = r.cfg.MaxWait - time.Since(first)
			if wait <= 0 {
				if !drained {
					break
				}
				// Past the deadline: take only what is fetched already.
				wait = time.Millisecond
			}
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		before := len(recs)
		fs := r.cl.PollRecords(pctx, r.cfg.MaxRecords-len(recs))
		cancel()
		if fs.IsClientClosed() {
			return nil, errClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var fenced error
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if errors.Is(err, kerr.FencedInstanceID) {
				fenced = err
				return
			}
			r.log.Warn("fetch failed", slog.String("topic", topic), slog.Int("partition", int(p)), slog.Any("err", err))
		})
		if fenced != nil {
			r.fenced.Store(true)
			return nil, fmt.Errorf("another running instance of group %s joined with this instance's id %q and took its partitions (%w): give every instance its own instance_id (unique among running instances, the same across restarts of one)",
				r.cfg.Group, r.deps.InstanceID, fenced)
		}
		r.mu.Lock()
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			tp := TopicPartition{p.Topic, p.Partition}
			// Records of a partition the runner keeps no offset for are
			// passed on: the sink skips what it already has.
			next, owned := r.next[tp]
			if owned {
				r.hwm[tp] = p.HighWatermark
				if p.HighWatermark < next && !r.warned[tp] {
					r.warned[tp] = true
					r.log.Error("the target has stored an offset past the end of the partition: was the topic deleted and created again? Nothing new of this partition will be applied until the offset is reached; run the mirror once with --rebuild to start over",
						slog.String("topic", tp.Topic), slog.Int("partition", int(tp.Partition)), slog.Int64("offset", next), slog.Int64("end", p.HighWatermark))
				}
			}
			for _, k := range p.Records {
				if k.Offset < next {
					continue // before the target's offset: already applied
				}
				if k.Attrs.IsControl() {
					markers.Set(k.Topic, k.Partition, k.Offset+1)
					continue
				}
				recs = append(recs, Record{Topic: k.Topic, Partition: k.Partition, Offset: k.Offset, Key: k.Key, Value: k.Value, Time: k.Timestamp})
			}
		})
		r.mu.Unlock()
		if len(recs) > 0 && first.IsZero() {
			first = batchStart(recs, time.Now(), r.cfg.MaxWait)
		}
		if first.IsZero() {
			break // idle: hand back control
		}
		drained = len(recs) > before && time.Since(first) >= r.cfg.MaxWait
	}
	b := NewBatch(recs)
	for _, tp := range markers.Partitions() {
		m, _ := markers.Get(tp.Topic, tp.Partition)
		if n, ok := b.End.Get(tp.Topic, tp.Partition); !ok || m > n {
			b.End.Set(tp.Topic, tp.Partition, m)
		}
	}
	return b, nil
}

// batchStart is when a batch whose first records are recs began to wait:
// the oldest record's Kafka timestamp, but not before MaxWait ago (a
// backlog, or a producer whose clock is behind this one's) nor after now
// (a producer clock ahead).
func batchStart(recs []Record, now time.Time, maxWait time.Duration) time.Time {
	first := now
	for _, rec := range recs {
		if !rec.Time.IsZero() && rec.Time.Before(first) {
			first = rec.Time
		}
	}
	if earliest := now.Add(-maxWait); first.Before(earliest) {
		return earliest
	}
	return first
}

// advances reports whether applying b moves an owned partition forward:
// it has records, or only markers past what the target stores.
func (r *Runner) advances(b *Batch) bool {
	if len(b.Records) > 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tp := range b.End.Partitions() {
		n, _ := b.End.Get(tp.Topic, tp.Partition)
		if next, owned := r.next[tp]; owned && n > next {
			return true
		}
	}
	return false
}

// apply applies b, isolating records that can never apply, and measures it.
func (r *Runner) apply(ctx context.Context, b *Batch) error {
	start := time.Now()
	if err := r.applyIsolating(ctx, b); err != nil {
		return err
	}
	r.m.applySeconds.Observe(time.Since(start).Seconds())
	return nil
}

// applyIsolating applies b until it succeeds: retryable errors are retried
// with backoff; records a BatchError names are dead-lettered and the rest
// applied; a permanent error naming no record splits the batch in halves
// until the failing record is alone and can be dead-lettered; a fatal
// error stops the runner. A batch that fails the same way StuckAfter
// times in a row (not counting a target that is Unavailable) is split
// too; see Config.StuckAfter for what happens to a record that is alone
// and still fails.
func (r *Runner) applyIsolating(ctx context.Context, b *Batch) error {
	return r.applyPart(ctx, b, nil)
}

// stuckSplit is one search for the record a stuck batch fails on: how many
// records of the batch have applied since it began.
type stuckSplit struct{ applied int }

func (r *Runner) applyPart(ctx context.Context, b *Batch, split *stuckSplit) error {
	var last string // the previous failure, numbers aside
	same := 0       // failures in a row that were like last
	for attempt := 0; ; attempt++ {
		b.Start = r.start(b)
		err := r.sink.Apply(ctx, b)
		if err == nil {
			r.applied(b)
			r.recovered(ctx)
			if split != nil {
				split.applied += len(b.Records)
			}
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		var be *BatchError
		var behind *BehindError
		switch {
		case errors.As(err, &behind):
			r.rewind(b, behind)
			return errRewound
		case IsFatal(err):
			r.failed(ctx, err)
			return fmt.Errorf("runner %s: the sink cannot go on: %w", r.deps.Name, err)
		case errors.As(err, &be) && len(be.Failed) > 0:
			if err := r.deadLetter(ctx, be.Failed); err != nil {
				return err
			}
			drop := make([]Record, len(be.Failed))
			for i, f := range be.Failed {
				drop[i] = f.Record
			}
			b = b.Without(drop)
			attempt, last, same = -1, "", 0
			continue
		case IsPermanent(err) && len(b.Records) == 1:
			if err := r.deadLetter(ctx, []RecordError{{Record: b.Records[0], Err: err}}); err != nil {
				return err
			}
			b = b.Without(b.Records)
			attempt, last, same = -1, "", 0
			continue
		case IsPermanent(err) && len(b.Records) > 1:
			r.log.Warn("batch failed permanently; splitting it to find the record", slog.Int("records", len(b.Records)), slog.Any("err", err))
			first, second := b.Split(len(b.Records) / 2)
			if err := r.applyPart(ctx, first, split); err != nil {
				return err
			}
			return r.applyPart(ctx, second, split)
		}
		r.m.retries.Inc()
		r.failed(ctx, err)
		if IsUnavailable(err) {
			last, same = "", 0
		} else if k := sameness(err); k == last {
			same++
		} else {
			last, same = k, 1
		}
		if same >= r.cfg.StuckAfter {
			switch {
			case len(b.Records) > 1:
				r.log.Warn("batch failed the same way again and again; splitting it to find the record", slog.Int("records", len(b.Records)),
					slog.Int("attempts", same), slog.Any("err", err))
				if split == nil {
					split = &stuckSplit{}
				}
				first, second := b.Split(len(b.Records) / 2)
				if err := r.applyPart(ctx, first, split); err != nil {
					return err
				}
				return r.applyPart(ctx, second, split)
			case len(b.Records) == 1 && split != nil && split.applied > 0:
				// Other records of the batch applied: the target works,
				// this record is what it fails on.
				rec := b.Records[0]
				if err := r.deadLetter(ctx, []RecordError{{Record: rec, Err: fmt.Errorf("failed %d times in a row the same way: %w", same, err)}}); err != nil {
					return err
				}
				b = b.Without(b.Records)
				attempt, last, same = -1, "", 0
				continue
			}
			return fmt.Errorf("runner %s: %s failed %d times in a row the same way, and nothing else of its batch applied meanwhile, so it is not known to be the record's fault: stopping rather than retry forever or dead-letter it: %w",
				r.deps.Name, describeBatch(b), same, err)
		}
		r.log.Warn("apply failed; retrying", slog.Int("attempt", attempt+1), slog.Int("records", len(b.Records)), slog.Any("err", err))
		if werr := r.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return werr
		}
	}
}

// applied records that b is durably in the target.
func (r *Runner) applied(b *Batch) {
	r.records.Add(int64(len(b.Records)))
	r.batches.Add(1)
	r.m.records.Add(float64(len(b.Records)))
	r.m.batches.Inc()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tp := range b.End.Partitions() {
		n, _ := b.End.Get(tp.Topic, tp.Partition)
		if _, owned := r.next[tp]; !owned {
			continue
		}
		if n > r.next[tp] {
			r.next[tp] = n
		}
		if h, ok := r.hwm[tp]; ok {
			r.m.lag.WithLabelValues(tp.Topic, partLabel(tp.Partition)).Set(float64(max(h-r.next[tp], 0)))
		}
	}
}

// Stats returns a snapshot of the runner's progress.
func (r *Runner) Stats() Stats {
	s := Stats{Records: r.records.Load(), Batches: r.batches.Load(), DeadLetters: r.deadLetters.Load(), Lag: -1}
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Failures, s.LastError, s.FailingSince = r.failures, r.lastError, r.failingSince
	s.Partitions = len(r.next)
	for tp, n := range r.next {
		if h, ok := r.hwm[tp]; ok {
			if s.Lag < 0 {
				s.Lag = 0
			}
			s.Lag += max(h-n, 0)
		}
	}
	return s
}

// leaveTimeout bounds a static member's LeaveGroup request at Close.
const leaveTimeout = 5 * time.Second

// Close leaves the consumer group (its partitions move to the other
// members at once) and closes the client. Call it after Run returned.
func (r *Runner) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.cl.AllowRebalance()
		r.cl.Close()
		if r.deps.InstanceID != "" && !r.fenced.Load() {
			r.leaveStatic(ctx)
		}
	})
	return nil
}

// leaveStatic takes a stopping static member out of the group. Closing the
// client does not (a static member's restart is meant to take its place
// back), so without this a stopped instance's partitions would wait out
// the session timeout. A fenced runner does not call it: the id belongs
// to the instance that fenced it.
func (r *Runner) leaveStatic(ctx context.Context) {
	cl, err := kgo.NewClient(r.deps.KafkaOpts...)
	if err == nil {
		defer cl.Close()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
		defer cancel()
		var resp kadm.LeaveGroupResponses
		resp, err = kadm.NewClient(cl).LeaveGroup(lctx, kadm.LeaveGroup(r.cfg.Group).InstanceIDs(r.deps.InstanceID).Reason("sink stopped"))
		if err == nil {
			err = resp.Error()
		}
	}
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		r.log.Warn("sink stopped but could not leave its group; its partitions move to the other instances after the session timeout",
			slog.String("group", r.cfg.Group), slog.String("instance_id", r.deps.InstanceID), slog.Any("err", err))
	}
}
