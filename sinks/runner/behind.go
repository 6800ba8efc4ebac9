package runner

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A target can lose transactions it had committed: restored from a backup,
// an asynchronous replica promoted after a failover, or a database run
// without durable commits (synchronous_commit=off, as on test clusters)
// that crashed. It then stores an offset below the one the runner applied
// up to, and the records in between — committed, acknowledged, already
// past — are missing from the target. Nothing in Kafka tells: the runner
// would go on from where it is and the loss would stay for good.
//
// So each batch carries Start, the offsets the runner knows the target
// held after its last commit, and a Sink checks them inside its
// transaction (CheckStart). A target that is behind makes Apply return a
// *BehindError; the runner then goes back to what the target stores and
// reads those records again. Idempotent apply makes this safe in every
// case: a record applied twice changes nothing.

// BehindError is returned by Sink.Apply (from CheckStart) when the target
// stores, for some partition, an offset below the batch's Start.
type BehindError struct {
	// Stored is, per partition that is behind, what the target stores;
	// a partition the target has no offset for at all is stored as 0.
	Stored Offsets
	// Start is the batch's Start (what the runner had applied up to).
	Start Offsets
}

func (e *BehindError) Error() string {
	var parts []string
	for _, tp := range e.Stored.Partitions() {
		n, _ := e.Stored.Get(tp.Topic, tp.Partition)
		s, _ := e.Start.Get(tp.Topic, tp.Partition)
		parts = append(parts, fmt.Sprintf("%s/%d stores %d, %d was committed", tp.Topic, tp.Partition, n, s))
	}
	return "the target lost committed batches (" + strings.Join(parts, "; ") + ")"
}

// CheckStart compares the offsets a Sink's transaction found stored in
// the target with b.Start. It returns a *BehindError naming every
// partition whose stored offset is below Start, nil otherwise. Call it in
// Apply right after reading (and locking) the stored offsets.
func CheckStart(stored Offsets, b *Batch) error {
	var behind *BehindError
	for _, tp := range b.Start.Partitions() {
		want, _ := b.Start.Get(tp.Topic, tp.Partition)
		got, ok := stored.Get(tp.Topic, tp.Partition)
		if !ok {
			got = 0
		}
		if got >= want {
			continue
		}
		if behind == nil {
			behind = &BehindError{Stored: Offsets{}, Start: b.Start}
		}
		behind.Stored.Set(tp.Topic, tp.Partition, got)
	}
	if behind == nil {
		return nil
	}
	return behind
}

// errRewound tells Run that the batch in hand was given up because the
// target was behind; consumption was moved back and goes on from there.
var errRewound = errors.New("runner: rewound to the target's offsets")

// start returns, for the partitions of b this runner owns, the offsets it
// knows the target holds (the next offsets after its last commit, or
// those read from the target when the partition was assigned).
func (r *Runner) start(b *Batch) Offsets {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Offsets{}
	for _, tp := range b.End.Partitions() {
		if n, owned := r.next[tp]; owned {
			out.Set(tp.Topic, tp.Partition, n)
		}
	}
	return out
}

// rewind moves consumption back after a *BehindError: every partition of
// the abandoned batch goes back to where its records start — the stored
// offset for one the target lost, the runner's own next offset for the
// others (their records were read and are dropped with the batch).
func (r *Runner) rewind(b *Batch, be *BehindError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := map[string]map[int32]kgo.EpochOffset{}
	for _, tp := range b.End.Partitions() {
		next, owned := r.next[tp]
		if !owned {
			continue
		}
		if n, lost := be.Stored.Get(tp.Topic, tp.Partition); lost && n < next {
			r.log.Error("the target lost batches it had committed (restored from a backup, a replica promoted, or commits that were not durable): applying those records again",
				slog.String("topic", tp.Topic), slog.Int("partition", int(tp.Partition)),
				slog.Int64("stored", n), slog.Int64("committed", next), slog.Int64("records_again", next-n))
			next = n
			r.next[tp] = n
		}
		if set[tp.Topic] == nil {
			set[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		set[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: next}
	}
	r.m.rewinds.Inc()
	r.cl.SetOffsets(set)
}
