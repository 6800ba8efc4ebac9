package capture

import (
	"context"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/os2mo-cdc/mocdc/capture/publish"
)

// inflight is a Kafka transaction being published on its own goroutine
// while the stream goes on reading, decoding and collecting the next batch
// (the pipeline of DESIGN.md §5 kept whole):
//   - at most one Kafka transaction is in flight, so batches commit in
//     source order, each with the checkpoint at its end, on the one
//     transactional producer;
//   - the next batch is built (its records made) only after the one in
//     flight has committed, so the event maker's counts, caches and policy
//     state follow the committed order;
//   - the slot's position is confirmed only after the commit, by the
//     stream, which alone uses the replication connection;
//   - after a failed transaction nothing more is published: capture
//     restarts from the checkpoint in Kafka.
type inflight struct {
	end   pglogrepl.LSN
	start time.Time
	// done is cancelled when the publish has finished; err is its result
	// (read it only after done).
	done   context.Context
	finish context.CancelFunc
	err    error
}

// startBatch makes the records of b (reading previous versions from the
// store with ctx), advances cp to b's end and starts publishing them with
// the checkpoint in one Kafka transaction under pctx. The caller must not
// start another before this one is settled.
func (c *Capture) startBatch(ctx, pctx context.Context, mk *eventMaker, cp *publish.Checkpoint, b *pending) (*inflight, error) {
	recs, err := mk.records(ctx, b.results)
	if err != nil {
		mk.discardCounts()
		return nil, err
	}
	next := *cp
	next.LSN = uint64(b.end)
	// cp runs ahead of Kafka while the transaction is in flight: if it
	// fails, the stream returns and capture restarts from the checkpoint
	// it reads back from Kafka, never from this one.
	*cp = next
	f := &inflight{end: b.end, start: time.Now()}
	f.done, f.finish = context.WithCancel(context.Background())
	batch := publish.Batch{Records: recs, Checkpoint: next}
	go func() {
		defer f.finish()
		f.err = c.pub.Publish(pctx, batch)
	}()
	return f, nil
}

// settle waits for f and accounts for it: the event counts of a committed
// batch are reported, those of a failed one dropped.
func (c *Capture) settle(mk *eventMaker, f *inflight) error {
	<-f.done.Done()
	if f.err != nil {
		mk.discardCounts()
		return f.err
	}
	mk.commitCounts()
	c.metrics.publishSeconds.Observe(time.Since(f.start).Seconds())
	c.metrics.batches.Inc()
	return nil
}

// publishBatch publishes the events of the pending transactions and the
// checkpoint at their end in one Kafka transaction, and waits for it.
func (c *Capture) publishBatch(ctx context.Context, mk *eventMaker, cp *publish.Checkpoint, b *pending) error {
	f, err := c.startBatch(ctx, ctx, mk, cp, b)
	if err != nil {
		return err
	}
	return c.settle(mk, f)
}
