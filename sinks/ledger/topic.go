package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
)

func ptr(s string) *string { return &s }

// EnsureTopic creates the ledger topic if it is missing — one partition,
// cleanup.policy=delete, retention.ms=-1, retention.bytes=-1 — waits until
// the broker serves it, and checks that it has one partition and keeps
// records forever: a second partition would split the chain and retention
// would delete audit records.
func EnsureTopic(ctx context.Context, adm *kadm.Client, topic string, replicationFactor int16) error {
	cfg := map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": ptr("-1"), "retention.bytes": ptr("-1")}
	if err := publish.CreateTopics(ctx, adm, replicationFactor, map[string]publish.TopicSpec{topic: {Partitions: 1, Configs: cfg}}); err != nil {
		return fmt.Errorf("ledger topic: %w", err)
	}
	return checkTopic(ctx, adm, topic)
}

func checkTopic(ctx context.Context, adm *kadm.Client, topic string) error {
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("describe ledger topic %s: %w", topic, err)
	}
	d := td[topic]
	if d.Err != nil {
		return fmt.Errorf("describe ledger topic %s: %w", topic, d.Err)
	}
	if n := len(d.Partitions); n != 1 {
		return permanentf("ledger topic %s has %d partitions: the chain needs exactly one; recreate it with one partition", topic, n)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fmt.Errorf("describe ledger topic %s configs: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return fmt.Errorf("describe ledger topic %s configs: %w", topic, err)
	}
	if rc.Err != nil {
		return fmt.Errorf("describe ledger topic %s configs: %w", topic, rc.Err)
	}
	want := map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
	for _, c := range rc.Configs {
		if w, ok := want[c.Key]; ok && c.MaybeValue() != w {
			return permanentf("ledger topic %s has %s=%s: an audit ledger must be kept forever; set %s=%s (kafka-configs --alter --entity-type topics --entity-name %s --add-config %s=%s)",
				topic, c.Key, c.MaybeValue(), c.Key, w, topic, c.Key, w)
		}
	}
	return nil
}

// ensureDeadLetterTopic creates the dead-letter topic, as capture does, if
// it is missing (the builder may start before capture ever ran).
func ensureDeadLetterTopic(ctx context.Context, adm *kadm.Client, topic string, rf int16) error {
	return publish.CreateTopics(ctx, adm, rf, map[string]publish.TopicSpec{topic: publish.DeadLetterSpec()})
}

// bounds returns the first offset and the last stable offset (the end a
// read_committed reader sees) of the ledger's one partition. A topic that
// is missing is waited for a few seconds: one created a moment ago may not
// be in every broker's metadata yet.
func bounds(ctx context.Context, adm *kadm.Client, topic string) (start, end int64, err error) {
	for try := 0; ; try++ {
		start, end, err = bounds1(ctx, adm, topic)
		if !errors.Is(err, errNoTopic) || try == 20 {
			return start, end, err
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

var errNoTopic = errors.New("topic not found")

func bounds1(ctx context.Context, adm *kadm.Client, topic string) (start, end int64, err error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	s, ok := starts.Lookup(topic, 0)
	e, ok2 := ends.Lookup(topic, 0)
	if !ok || !ok2 || errors.Is(s.Err, kerr.UnknownTopicOrPartition) || errors.Is(e.Err, kerr.UnknownTopicOrPartition) {
		return 0, 0, fmt.Errorf("%w: %s (check kafka.topic_prefix or --topic)", errNoTopic, topic)
	}
	if s.Err != nil {
		return 0, 0, fmt.Errorf("topic %s: %w", topic, s.Err)
	}
	if e.Err != nil {
		return 0, 0, fmt.Errorf("topic %s: %w", topic, e.Err)
	}
	if _, extra := ends.Lookup(topic, 1); extra {
		return 0, 0, fmt.Errorf("ledger topic %s has more than one partition: it is not a ledger", topic)
	}
	return s.Offset, e.Offset, nil
}

// stallTimeout bounds how long a scan waits for the next record before it
// concludes the offsets below its target are gone (see scan).
const stallTimeout = 10 * time.Second

// scan reads partition 0 of topic from offset from up to (not including)
// offset to, read_committed, and calls fn for each committed data record
// in order. opts are the base client options (brokers, TLS/SASL, logger).
func scan(ctx context.Context, opts []kgo.Opt, topic string, from, to int64, fn func(*kgo.Record) error) error {
	if from >= to {
		return nil
	}
	cl, err := kgo.NewClient(append(opts[:len(opts):len(opts)],
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) are returned so that the
		// position is known exactly even when the log ends in them.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	pos := from
	for pos < to {
		pctx, cancel := context.WithTimeout(ctx, stallTimeout)
		fs := cl.PollFetches(pctx)
		stalled := pctx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stalled {
			return fmt.Errorf("read %s: no record after offset %d for %s although the topic ends at %d", topic, pos-1, stallTimeout, to)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = errors.Join(ferr, fmt.Errorf("read %s/%d: %w", t, p, err))
			}
		})
		if ferr != nil {
			return ferr
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if r.Offset >= to {
				return nil
			}
			pos = r.Offset + 1
			if r.Attrs.IsControl() {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// readHead recovers the chain head from the last committed record of the
// ledger (read_committed, up to the last stable offset). It reads a window
// before the end and widens it while the window holds only transaction
// markers and aborted records. The head record's own hash is checked: the
// builder never extends a chain whose end it cannot trust.
func readHead(ctx context.Context, opts []kgo.Opt, adm *kadm.Client, topic string) (chainHead, error) {
	start, end, err := bounds(ctx, adm, topic)
	if err != nil {
		return chainHead{}, err
	}
	for window := int64(64); ; window *= 8 {
		from := max(start, end-window)
		var last *kgo.Record
		if err := scan(ctx, opts, topic, from, end, func(r *kgo.Record) error { last = r; return nil }); err != nil {
			return chainHead{}, fmt.Errorf("read ledger head: %w", err)
		}
		if last != nil {
			rec, err := DecodeRecord(last.Offset, last.Value)
			if err != nil {
				return chainHead{}, permanent{fmt.Errorf("ledger head at %s offset %d: %w; refusing to append (run `mocdc ledger verify`)", topic, last.Offset, err)}
			}
			if rec.ComputedHash() != rec.Hash() {
				return chainHead{}, permanent{fmt.Errorf("ledger head at %s offset %d (sequence %d) does not match its hash; refusing to append (run `mocdc ledger verify`)", topic, last.Offset, rec.Sequence())}
			}
			h := chainHead{Sequence: rec.Sequence(), Hash: rec.Hash()}
			if rec.Checkpoint == nil {
				h.Unsigned = 1 // at least; UnsignedSince zero: sign at once
			}
			return h, nil
		}
		if from == start {
			return genesis(), nil
		}
	}
}

func permanentf(format string, args ...any) error {
	return permanent{fmt.Errorf(format, args...)}
}
