package outbox

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler decides, per consumed batch, what state to keep and which
// effects to perform.
//
// Contract: Handle is called from one goroutine with the records of one
// batch (offset order per partition) and a Tx. What it writes to tx is
// committed together with the batch's offsets, or — on any error, or when
// the transaction aborts — dropped, and the batch is handed over again
// (possibly merged with others). Handle must therefore keep nothing of a
// batch outside tx until the batch committed (see Committer), and must be
// deterministic in what it reads from tx and the records. An error
// restarts the session (retried with backoff); data it can never process
// belongs in tx.DeadLetter, not in an error.
type Handler interface {
	Handle(ctx context.Context, tx *Tx, recs []*kgo.Record) error
}

// Warmer is an optional capability of a Handler that keeps a view of the
// source topics in memory: at the start of every session, before the first
// Handle, Warm gets the group's committed offsets (a partition missing has
// none) so it can rebuild the view up to exactly there (Scan).
type Warmer interface {
	Warm(ctx context.Context, committed Offsets) error
}

// Committer is an optional capability of a Handler: Committed is called
// after a batch's transaction committed, Aborted after it was dropped, so
// a handler can keep in memory what it derived from the batch only once
// it is durable.
type Committer interface {
	Committed(recs []*kgo.Record)
	Aborted(recs []*kgo.Record)
}

// Performer carries out effects.
//
// Contract: Perform is called from one goroutine, one effect at a time,
// with a context bounded by Config.PerformTimeout. It returns nil when the
// effect happened (the result is kept with the done record), Permanent(err)
// when it can never happen (the effect is recorded dead), Later(d, err)
// when it was not attempted and should be retried after d, and any other
// error to be retried with backoff. A recovered effect (e.Recovered) may
// have happened already: make it recognisable (a Message-ID, an
// idempotency key derived from e.Key) or check the target first.
type Performer interface {
	Perform(ctx context.Context, e Effect) (result []byte, err error)
}

// WindowPerformer is an optional capability of a Performer that knows the
// moment its effect becomes irrevocable (for SMTP: just before the end of
// DATA). The Outbox then calls PerformWindow instead of Perform, and
// records the effect as performing only when open is called — not before
// a connection attempt that fails — so the crash window, and what is
// counted as recovered, is exactly from there to the done record. If open
// returns an error the performer must abandon the effect and return an
// error (it is retried).
type WindowPerformer interface {
	PerformWindow(ctx context.Context, e Effect, open func() error) (result []byte, err error)
}

// Publisher is an optional capability of a Performer whose results others
// read: Publish returns records to write in the same Kafka transaction as
// an effect's done or dead record (e.Status says which; result is what
// Perform returned, nil for dead). They therefore appear exactly when the
// effect is recorded — never before it happened, never lost after. Each
// record names its Topic and Partition (the producer partitions manually).
// Publish must not block; it is called from the performing goroutine.
type Publisher interface {
	Publish(e Effect, result []byte) []*kgo.Record
}
