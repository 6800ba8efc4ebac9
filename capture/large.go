package capture

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/assemble"
	"github.com/os2mo-cdc/mocdc/capture/build"
	"github.com/os2mo-cdc/mocdc/capture/decode"
	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/schema/event"
)

// large reports whether t must be published in parts: it spilled to disk
// (it is bigger than the memory budget), or a previous run had started to
// publish it in parts.
func large(t *assemble.Txn, cp *publish.Checkpoint) bool {
	return t.Spilled() || (cp.Partial != nil && cp.Partial.EndLSN == uint64(t.EndLSN))
}

// publishLarge publishes one large source transaction call by call, in as
// many Kafka transactions as it takes, so memory stays bounded by the batch
// size however big the source transaction is. Each Kafka transaction carries
// a checkpoint that says how many of the transaction's records are out; a
// restart skips those. Records come out in the same order on every run.
//
// It needs OS2mo's write pattern (see build.Calls). A transaction that
// interleaves the rows of several registrations (a bulk load) is checked
// first and, when it does, published whole like a small one, using memory
// in proportion to its size.
func (c *Capture) publishLarge(ctx context.Context, t *assemble.Txn, dec *decode.Decoder, cp *publish.Checkpoint, mk *eventMaker) error {
	ordered, err := c.callOrdered(t, dec)
	if err != nil {
		return err
	}
	if !ordered {
		c.log.Warn("large transaction interleaves registrations; publishing it whole (memory grows with its size)",
			slog.Uint64("xid", uint64(t.Xid)), slog.Int64("bytes", t.Size()))
		var col build.Collector
		res, err := c.collect(t, dec, &col)
		if err != nil {
			return err
		}
		b := pending{results: []txnResult{res}, end: t.EndLSN}
		return c.publishBatch(ctx, mk, cp, &b)
	}
	var skip int64
	if cp.Partial != nil && cp.Partial.EndLSN == uint64(t.EndLSN) {
		skip = cp.Partial.Records
	}
	src := event.Source{LSN: t.CommitLSN.String(), Xid: t.Xid, CommitTime: t.CommitTime}
	var (
		col      build.Collector
		calls    build.Calls
		recs     []*kgo.Record
		produced int64
		rows     int
		parts    int
	)
	started := time.Now()
	flush := func(final bool) error {
		res := txnResult{src: src, regs: col.Registrations(), reads: col.Reads(), actors: col.Actors()}
		for _, r := range col.Rejected() {
			res.rejected = append(res.rejected, event.DeadLetter{Stage: "build", Reason: r.Reason, Source: src, Table: r.Table, Registration: r.Registration})
		}
		out, err := mk.records(ctx, []txnResult{res})
		if err != nil {
			return err
		}
		col.Reset()
		for _, r := range out {
			produced++
			if produced > skip {
				recs = append(recs, r)
			}
		}
		if !final && len(recs) < c.cfg.BatchEvents {
			return nil
		}
		next := *cp
		if final {
			next.LSN, next.Partial = uint64(t.EndLSN), nil
		} else {
			next.Partial = &publish.Partial{EndLSN: uint64(t.EndLSN), Records: produced}
		}
		if err := c.pub.Publish(ctx, publish.Batch{Records: recs, Checkpoint: next}); err != nil {
			mk.discardCounts()
			return err
		}
		mk.commitCounts()
		c.metrics.batches.Inc()
		*cp = next
		if c.afterCommit != nil {
			c.afterCommit()
		}
		recs = recs[:0]
		parts++
		return nil
	}
	col.Reset()
	for msg, err := range t.Messages() {
		if err != nil {
			return fmt.Errorf("read transaction %d: %w", t.Xid, err)
		}
		if c.isTouch(dec, msg, t.Streamed) {
			rows++
			continue
		}
		row, err := dec.Decode(msg, t.Streamed)
		if err != nil {
			col.Reject("", err.Error())
			continue
		}
		if row == nil {
			continue
		}
		rows++
		starts, err := calls.Starts(row)
		if err == nil && starts {
			err = flush(false)
		}
		if err != nil {
			return err
		}
		if err := col.Add(row); err != nil {
			col.Reject(row.Table(), err.Error())
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	c.metrics.txns.Inc()
	c.metrics.rows.Add(float64(rows))
	c.log.Info("large transaction published", slog.Uint64("xid", uint64(t.Xid)), slog.Int64("bytes", t.Size()),
		slog.Int64("records", produced), slog.Int("kafka_transactions", parts), slog.Duration("took", time.Since(started)))
	return nil
}

// callOrdered reads t once to check that it follows OS2mo's call pattern.
func (c *Capture) callOrdered(t *assemble.Txn, dec *decode.Decoder) (bool, error) {
	var calls build.Calls
	for msg, err := range t.Messages() {
		if err != nil {
			return false, fmt.Errorf("read transaction %d: %w", t.Xid, err)
		}
		if c.isTouch(dec, msg, t.Streamed) {
			continue
		}
		row, err := dec.Decode(msg, t.Streamed)
		if err != nil || row == nil {
			continue
		}
		if _, err := calls.Starts(row); err != nil {
			return false, nil
		}
		if ok, err := calls.InOrder(row); err != nil || !ok {
			return false, nil
		}
	}
	return true, nil
}
