package outbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func ptr(s string) *string { return &s }

// ensureTopic creates the state topic (one partition, compacted) if it is
// missing and checks an existing one.
func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, rf int16) error {
	res, err := adm.CreateTopic(ctx, 1, rf, map[string]*string{"cleanup.policy": ptr("compact")}, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create outbox state topic %s: %w", topic, err)
	}
	for try := 0; ; try++ {
		td, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return fmt.Errorf("describe outbox state topic %s: %w", topic, err)
		}
		d := td[topic]
		if errors.Is(d.Err, kerr.UnknownTopicOrPartition) && try < 40 {
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		if d.Err != nil {
			return fmt.Errorf("describe outbox state topic %s: %w", topic, d.Err)
		}
		if n := len(d.Partitions); n != 1 {
			return fmt.Errorf("outbox state topic %s has %d partitions; it needs exactly one (recreate it, or name another topic)", topic, n)
		}
		return nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ensureDeadLetterTopic creates the dead-letter topic, as capture does, if
// it is missing.
func ensureDeadLetterTopic(ctx context.Context, adm *kadm.Client, topic string, rf int16) error {
	month := strconv.FormatInt((30 * 24 * time.Hour).Milliseconds(), 10)
	res, err := adm.CreateTopic(ctx, 1, rf, map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": ptr(month)}, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create dead-letter topic %s: %w", topic, err)
	}
	return nil
}

// load reads the whole state topic, read_committed, up to its last stable
// offset.
func load(ctx context.Context, opts []kgo.Opt, adm *kadm.Client, topic string) (*memory, error) {
	m := newMemory()
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	s, ok1 := starts.Lookup(topic, 0)
	e, ok2 := ends.Lookup(topic, 0)
	if !ok1 || !ok2 || s.Err != nil || e.Err != nil {
		return nil, fmt.Errorf("offsets of %s: %v %v", topic, s.Err, e.Err)
	}
	err = Scan(ctx, opts, map[string]map[int32][2]int64{topic: {0: {s.Offset, e.Offset}}}, func(r *kgo.Record) error {
		d, err := decodeRecord(r.Key, r.Value)
		if err != nil {
			return fmt.Errorf("%s offset %d: %w", topic, r.Offset, err)
		}
		m.apply(d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, eff := range m.effects {
		switch eff.Status {
		case Performing:
			eff.Recovered = true
			m.pending = append(m.pending, &pending{e: eff})
		case Intended:
			m.pending = append(m.pending, &pending{e: eff})
		}
	}
	// Oldest intent first.
	sortPending(m.pending)
	return m, nil
}

// stallTimeout bounds how long Scan waits for the next record before it
// concludes the offsets below its target are gone.
const stallTimeout = 15 * time.Second

// Scan reads, read_committed, each listed partition from [0] up to (not
// including) [1] and calls fn for every committed data record, in offset
// order per partition. It is how a Handler rebuilds what it keeps in memory
// (Warmer) from the source topics up to the committed offsets.
func Scan(ctx context.Context, opts []kgo.Opt, ranges map[string]map[int32][2]int64, fn func(*kgo.Record) error) error {
	consume := map[string]map[int32]kgo.Offset{}
	left := map[string]map[int32]int64{} // partition → end still to reach
	for t, ps := range ranges {
		for p, r := range ps {
			if r[0] >= r[1] {
				continue
			}
			if consume[t] == nil {
				consume[t], left[t] = map[int32]kgo.Offset{}, map[int32]int64{}
			}
			consume[t][p] = kgo.NewOffset().At(r[0])
			left[t][p] = r[1]
		}
	}
	if len(consume) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(opts[:len(opts):len(opts)],
		kgo.ConsumePartitions(consume),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	open := 0
	for _, ps := range left {
		open += len(ps)
	}
	for open > 0 {
		pctx, cancel := context.WithTimeout(ctx, stallTimeout)
		fs := cl.PollFetches(pctx)
		stalled := pctx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stalled {
			return fmt.Errorf("read %v: no record for %s before the end offsets", left, stallTimeout)
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
		type tp struct {
			topic string
			part  int32
		}
		var done []tp
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			end, ok := left[fp.Topic][fp.Partition]
			if !ok {
				return
			}
			for _, r := range fp.Records {
				if ferr != nil {
					return
				}
				if r.Offset >= end {
					break
				}
				if r.Offset+1 >= end {
					delete(left[fp.Topic], fp.Partition)
					open--
					done = append(done, tp{fp.Topic, fp.Partition})
				}
				if !r.Attrs.IsControl() {
					ferr = fn(r)
				}
				if _, still := left[fp.Topic][fp.Partition]; !still {
					break
				}
			}
		})
		if ferr != nil {
			return ferr
		}
		if len(done) > 0 {
			m := map[string][]int32{}
			for _, d := range done {
				m[d.topic] = append(m[d.topic], d.part)
			}
			cl.PauseFetchPartitions(m)
		}
	}
	return nil
}

// Committed returns the group's committed offsets of the given topics,
// waiting for pending transactional commits.
func Committed(ctx context.Context, adm *kadm.Client, group string, topics []string) (Offsets, error) {
	resp, err := adm.FetchOffsetsForTopics(ctx, group, topics...)
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
	}
	if err := resp.Error(); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
	}
	out := Offsets{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			if out[o.Topic] == nil {
				out[o.Topic] = map[int32]int64{}
			}
			out[o.Topic][o.Partition] = o.At
		}
	})
	return out, nil
}

// Offsets maps topic → partition → next offset.
type Offsets map[string]map[int32]int64

// StartOffsets returns the log start of every partition of topics.
func StartOffsets(ctx context.Context, adm *kadm.Client, topics []string) (Offsets, error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	return offsetsOf(starts, false)
}

// EndOffsets returns the end of every partition of topics; a topic not
// made yet has none (nothing is in it).
func EndOffsets(ctx context.Context, adm *kadm.Client, topics []string) (Offsets, error) {
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	return offsetsOf(ends, true)
}

// offsetsOf collects listed offsets, with every partition's error;
// skipUnknown passes over topics the broker does not know.
func offsetsOf(listed kadm.ListedOffsets, skipUnknown bool) (Offsets, error) {
	out := Offsets{}
	var errs []error
	listed.Each(func(o kadm.ListedOffset) {
		if skipUnknown && errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return
		}
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s/%d: %w", o.Topic, o.Partition, o.Err))
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, errors.Join(errs...)
}
