package runner

import (
	"context"
	"sort"
	"time"
)

// Sink writes consumed records to a target. Each sink package implements
// it; the runner is its only caller.
//
// Contract:
//   - Apply must write the effects of the batch's records AND b.End (the
//     next offset to consume, per topic and partition) in ONE durable
//     transaction of the target: after a crash either both are there or
//     neither is.
//   - Apply must call CheckStart with the offsets it found stored, inside
//     that transaction, and return its error: a target that lost
//     committed transactions (stores less than b.Start) is read again.
//   - Apply must skip, inside that transaction, every record whose offset
//     is below the offset the target already stores for its partition. A
//     batch applied twice therefore changes nothing the second time, and
//     two runners briefly owning one partition never apply a record twice.
//   - Apply is all or nothing: on any error nothing of the batch is kept.
//     An error is retryable unless marked: return a *BatchError to name the
//     records that can never apply (the runner dead-letters them and
//     applies the rest), or Permanent(err) when the batch cannot apply but
//     the bad record is unknown (the runner bisects). Never mark an error
//     permanent that could go away by itself (target down, deadlock, lock
//     timeout): that would dead-letter good data.
//   - Records of one partition arrive in offset order; records of different
//     partitions may interleave. One object's events are in one partition.
//   - Apply and Tick are called from one goroutine, never concurrently with
//     each other. Offsets may be called concurrently with both.
//   - Apply may be called with an empty batch (no records, only End).
type Sink interface {
	// Offsets returns the next offset to consume per topic and partition,
	// as durably stored in the target. A partition missing from the result
	// is read from its start.
	Offsets(ctx context.Context) (Offsets, error)
	// Apply writes one batch; see the contract above.
	Apply(ctx context.Context, b *Batch) error
}

// Ticker is an optional capability of a Sink whose target changes with
// time alone (a mirror's actual-state rows change at midnight). The runner
// calls Tick between batches, at most every Config.TickInterval. A Tick
// error is retried like an Apply error.
type Ticker interface {
	Tick(ctx context.Context) error
}

// HealthReporter is an optional capability of a Sink: the runner reports
// every failed attempt (except while the target is Unavailable: it could
// not be told) and the first success after failures, so that the sink can
// keep them where `mocdc status` reads them (a mirror: its target's
// mocdc_meta). It is called from the goroutine that calls Apply; its
// error is logged and otherwise ignored.
type HealthReporter interface {
	ReportHealth(ctx context.Context, h Health) error
}

// Health is how the batch in hand is doing.
type Health struct {
	// Failures is how many attempts in a row failed; 0: an attempt
	// succeeded after failures.
	Failures int
	// LastError is the error of the last failed attempt ("" when
	// Failures is 0).
	LastError string
	// Since is when the first of the failures happened; At is now.
	Since, At time.Time
}

// Offsets maps topic → partition → next offset to consume.
type Offsets map[string]map[int32]int64

// Get returns the offset of one partition and whether it is set.
func (o Offsets) Get(topic string, partition int32) (int64, bool) {
	n, ok := o[topic][partition]
	return n, ok
}

// Set sets the offset of one partition.
func (o Offsets) Set(topic string, partition int32, next int64) {
	m := o[topic]
	if m == nil {
		m = map[int32]int64{}
		o[topic] = m
	}
	m[partition] = next
}

// Clone returns a deep copy.
func (o Offsets) Clone() Offsets {
	c := Offsets{}
	for t, ps := range o {
		for p, n := range ps {
			c.Set(t, p, n)
		}
	}
	return c
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Partitions lists the partitions in o, sorted.
func (o Offsets) Partitions() []TopicPartition {
	var out []TopicPartition
	for t, ps := range o {
		for p := range ps {
			out = append(out, TopicPartition{t, p})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Record is one consumed Kafka record.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	// Value is nil for a tombstone.
	Value []byte
	// Time is the record's Kafka timestamp.
	Time time.Time
}

// Batch is what the runner hands to Sink.Apply: records in consume order
// and the offsets to store once they are applied.
type Batch struct {
	Records []Record
	// End is, per partition the batch covers, the next offset to consume
	// after it. It can be past the last record (Kafka transaction markers,
	// compacted gaps, dead-lettered records left out).
	End Offsets
	// Start is, per partition of End this runner owns, the offset the
	// target stored after the runner's last commit (set by the runner
	// before each Apply). A target that stores less lost committed
	// transactions; see CheckStart.
	Start Offsets
}

// NewBatch makes a batch of recs whose End is one past each partition's
// last record.
func NewBatch(recs []Record) *Batch {
	b := &Batch{Records: recs, End: Offsets{}}
	for _, r := range recs {
		if n, ok := b.End.Get(r.Topic, r.Partition); !ok || r.Offset+1 > n {
			b.End.Set(r.Topic, r.Partition, r.Offset+1)
		}
	}
	return b
}

// Without returns the batch without the given records (matched by topic,
// partition and offset) and with the same End, so the records left out
// are stepped over.
func (b *Batch) Without(drop []Record) *Batch {
	skip := map[recordID]bool{}
	for _, r := range drop {
		skip[idOf(r)] = true
	}
	out := &Batch{End: b.End.Clone()}
	for _, r := range b.Records {
		if !skip[idOf(r)] {
			out.Records = append(out.Records, r)
		}
	}
	return out
}

// Split cuts the batch before record i. The first half ends after its own
// records; the second keeps the whole batch's End. Applied in order, the
// halves have the same effect as the batch.
func (b *Batch) Split(i int) (*Batch, *Batch) {
	first := NewBatch(append([]Record(nil), b.Records[:i]...))
	second := &Batch{Records: append([]Record(nil), b.Records[i:]...), End: b.End.Clone()}
	return first, second
}

type recordID struct {
	topic     string
	partition int32
	offset    int64
}

func idOf(r Record) recordID { return recordID{r.Topic, r.Partition, r.Offset} }
