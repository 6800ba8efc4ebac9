package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consumer lag for `mocdc status`, in records.
//
// The end of a partition, for a sink that reads with read_committed, is
// its last stable offset. End minus the sink's position is not the number
// of records it still has to apply: every Kafka transaction leaves a
// commit (or abort) marker that takes an offset but is no record, and
// aborted records take offsets too. A sink that stores "last record + 1"
// therefore looks one behind per partition when it has applied
// everything, and a backlog of small transactions looks up to twice its
// size. So the records between the position and the end are counted: read
// once with read_committed, markers kept and told apart. Past countLimit
// offsets per sink the offset difference is reported instead, marked as an
// upper bound.

// countLimit is the most offsets per sink whose records are read and
// counted; a bigger backlog is reported as its offset difference.
const countLimit = 20000

// countTimeout bounds the reading; partitions not read to their end by
// then are reported as their offset difference.
const countTimeout = 5 * time.Second

// TopicLag is a sink's lag in one topic.
type TopicLag struct {
	Topic string `json:"topic"`
	// Records not yet applied (an upper bound when the sink's lag is not
	// exact).
	Records int64 `json:"records"`
	// Offsets is the end offsets minus the sink's positions: it also
	// counts transaction markers and aborted records.
	Offsets int64 `json:"offsets"`
}

// Lag is a sink's lag over all the topics it consumes.
type Lag struct {
	// Records not yet applied, summed over the partitions.
	Records int64
	// Exact is false when Records is the offset difference of a backlog
	// too big (or too slow) to count: an upper bound.
	Exact bool
	// Topics lists the topics the sink is behind in, by name.
	Topics []TopicLag
	// Problems are positions that cannot be right (past the end of a
	// partition), one message per partition.
	Problems []string
}

// positionFunc returns the next offset a sink will apply in a partition,
// and false when it has none (it then reads the partition from its start).
type positionFunc func(topic string, partition int32) (int64, bool)

// pendingPartition is one partition between a sink's position and its end.
type pendingPartition struct {
	topic     string
	partition int32
	from, end int64
	next      int64 // next offset not yet seen while counting
	records   int64
}

// measureLag computes the lag of a sink whose position pos gives, over
// topics. Topics that do not exist yet have no lag. Read the sink's
// position before calling it: the end offsets are listed here, after, so
// that a sink moving meanwhile never appears past the end.
func measureLag(ctx context.Context, adm *kadm.Client, kopts []kgo.Opt, topics []string, pos positionFunc) (Lag, error) {
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return Lag{}, fmt.Errorf("list end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return Lag{}, fmt.Errorf("list start offsets: %w", err)
	}
	lag := Lag{Exact: true}
	var parts []*pendingPartition
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Partition < 0 {
			return // a topic that does not exist (yet): nothing to consume
		}
		from, ok := pos(o.Topic, o.Partition)
		if s, found := starts.Lookup(o.Topic, o.Partition); found && s.Err == nil && (!ok || from < s.Offset) {
			from = s.Offset // never applied, or below what retention kept: read from the start
		} else if !ok {
			from = 0
		}
		if from > o.Offset {
			lag.Problems = append(lag.Problems, fmt.Sprintf("%s/%d: position %d is past the end of the partition (%d): was the topic deleted and created again? Rebuild the sink",
				o.Topic, o.Partition, from, o.Offset))
			return
		}
		parts = append(parts, &pendingPartition{topic: o.Topic, partition: o.Partition, from: from, end: o.Offset, next: from})
	})
	sort.Strings(lag.Problems)
	var gap int64
	for _, p := range parts {
		gap += p.end - p.from
	}
	switch {
	case gap == 0:
	case gap <= countLimit:
		complete, err := countRecords(ctx, kopts, parts)
		if err != nil {
			return Lag{}, err
		}
		lag.Exact = complete
	default:
		lag.Exact = false
		for _, p := range parts {
			p.records = p.end - p.from
		}
	}
	byTopic := map[string]*TopicLag{}
	for _, p := range parts {
		if p.end == p.from {
			continue
		}
		t := byTopic[p.topic]
		if t == nil {
			t = &TopicLag{Topic: p.topic}
			byTopic[p.topic] = t
		}
		t.Records += p.records
		t.Offsets += p.end - p.from
		lag.Records += p.records
	}
	for _, t := range byTopic {
		lag.Topics = append(lag.Topics, *t)
	}
	sort.Slice(lag.Topics, func(i, j int) bool { return lag.Topics[i].Topic < lag.Topics[j].Topic })
	return lag, nil
}

// countRecords reads every partition from its position to its end with
// read_committed isolation, markers kept, and counts the records (not the
// markers) in p.records. It reports whether it read every partition to its
// end within countTimeout; the ones it did not finish get the offset
// difference of their unread part added, an upper bound.
func countRecords(ctx context.Context, kopts []kgo.Opt, parts []*pendingPartition) (bool, error) {
	type key struct {
		topic     string
		partition int32
	}
	left := map[key]*pendingPartition{}
	assign := map[string]map[int32]kgo.Offset{}
	for _, p := range parts {
		if p.end <= p.from {
			continue
		}
		left[key{p.topic, p.partition}] = p
		if assign[p.topic] == nil {
			assign[p.topic] = map[int32]kgo.Offset{}
		}
		assign[p.topic][p.partition] = kgo.NewOffset().At(p.from)
	}
	if len(left) == 0 {
		return true, nil
	}
	opts := append(append([]kgo.Opt(nil), kopts...),
		kgo.ConsumePartitions(assign),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return false, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := key{r.Topic, r.Partition}
			p := left[k]
			if p == nil {
				return
			}
			if r.Offset < p.end {
				p.next = r.Offset + 1
				if !r.Attrs.IsControl() {
					p.records++
				}
			}
			if r.Offset+1 >= p.end {
				delete(left, k)
			}
		})
	}
	for _, p := range left {
		p.records += p.end - p.next
	}
	return len(left) == 0, nil
}
