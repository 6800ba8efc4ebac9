package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/os2mo-cdc/mocdc/capture/assemble"
	"github.com/os2mo-cdc/mocdc/capture/build"
	"github.com/os2mo-cdc/mocdc/capture/decode"
	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/capture/source"
	"github.com/os2mo-cdc/mocdc/schema/event"
)

// catchUpDistance is how far behind the server's WAL end capture must be to
// count as catching up on a backlog.
const catchUpDistance = 4 << 20

// StopTimeout bounds how long capture, once its context is cancelled, takes
// to publish the transactions it has read and report its position.
const StopTimeout = 10 * time.Second

// pending is a batch of source transactions not yet published.
type pending struct {
	results []txnResult
	events  int
	end     pglogrepl.LSN
	since   time.Time
}

// stream tails the slot from cp.LSN and publishes until ctx ends or
// something fails.
func (c *Capture) stream(ctx context.Context, repl *pgconn.PgConn, cp *publish.Checkpoint, mk *eventMaker) error {
	useBinary := *c.cfg.Binary && source.ServerSupportsBinary(repl)
	st, err := source.Start(ctx, repl, c.cfg.Slot, pglogrepl.LSN(cp.LSN), source.Options{Publication: c.cfg.Publication, Binary: useBinary})
	if err != nil {
		return err
	}
	c.log.Info("streaming", slog.String("slot", c.cfg.Slot), slog.String("lsn", lsnString(cp.LSN)), slog.Bool("binary", useBinary))
	asm, err := assemble.New(assemble.Config{MemoryBudget: c.cfg.MemoryBudget, SpillDir: c.cfg.SpillDir})
	if err != nil {
		return &permanentError{err}
	}
	defer asm.Close()

	bg, stop := context.WithCancel(ctx)
	defer stop()
	if c.cfg.Heartbeat > 0 {
		hb := &source.Heartbeat{Pool: c.pool, Interval: c.cfg.Heartbeat}
		go hb.Run(bg, func(err error) { c.log.Warn("heartbeat failed", slog.Any("err", err)) })
	}
	go c.watchLag(bg)

	dec := decode.New()
	var col build.Collector
	var batch pending
	flushCtx := func(ctx context.Context) error {
		if len(batch.results) == 0 {
			return nil
		}
		if err := c.publishBatch(ctx, mk, cp, &batch); err != nil {
			return err
		}
		if c.afterCommit != nil {
			c.afterCommit()
		}
		st.Confirm(batch.end)
		c.metrics.confirmedLSN.Set(float64(batch.end))
		batch = pending{}
		return nil
	}
	flush := func() error { return flushCtx(ctx) }
	// On stop, the transactions read so far are published (within
	// StopTimeout) and the position reported to the server, so that what
	// a sink drains afterwards is everything up to the stop.
	defer func() {
		if ctx.Err() == nil {
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopTimeout)
		defer cancel()
		n := len(batch.results)
		if err := flushCtx(sctx); err != nil {
			c.log.Warn("capture stopping: the last batch was not published; it is read again at the next start", slog.Int("source_txns", n), slog.Any("err", err))
		}
		if err := st.SendStatus(sctx); err != nil {
			c.log.Warn("capture stopping: could not report the confirmed position to the MO store", slog.Any("err", err))
		}
		c.stoppedAt = st.Confirmed()
	}()
	// Validity ticks are checked about once a second, between batches, when
	// no transaction is open: the state they read is then no newer than
	// what has been published.
	var lastTick time.Time
	maybeTick := func() error {
		if len(batch.results) > 0 || asm.Stats().OpenTxns > 0 || time.Since(lastTick) < time.Second {
			return nil
		}
		lastTick = time.Now()
		return c.tick(ctx, cp, mk)
	}
	for {
		wait := 500 * time.Millisecond
		if len(batch.results) > 0 {
			wait = max(0, c.cfg.BatchLinger-time.Since(batch.since))
		}
		msg, err := st.Next(ctx, wait)
		if errors.Is(err, source.ErrIdle) {
			if err := flush(); err != nil {
				return err
			}
			// The server's WAL end is NOT confirmed here: the walsender may
			// not have decoded up to it yet, and confirming it would skip
			// transactions on restart. Idle slots advance through the
			// heartbeat messages below instead.
			if err := maybeTick(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		item, err := asm.Add(msg.WALStart, msg.Data)
		if err != nil {
			return fmt.Errorf("assemble at %s: %w", msg.WALStart, err)
		}
		if item.Message != nil {
			// A heartbeat or other non-transactional message. Decoding is
			// sequential, so every transaction that committed before it has
			// been received; with nothing pending or open, its position is
			// safe to confirm.
			if len(batch.results) == 0 && asm.Stats().OpenTxns == 0 && item.Message.LSN > st.Confirmed() {
				st.Confirm(item.Message.LSN)
			}
			if err := maybeTick(); err != nil {
				return err
			}
			continue
		}
		t := item.Txn
		if t == nil {
			continue
		}
		if uint64(t.EndLSN) <= cp.LSN {
			// Published before a restart; the slot had not been told yet.
			t.Close()
			continue
		}
		spilled := t.Spilled()
		if large(t, cp) {
			// Alone, in parts: publish what is pending first.
			if err := flush(); err != nil {
				t.Close()
				return err
			}
			err := c.publishLarge(ctx, t, dec, cp, mk)
			t.Close()
			if err != nil {
				return err
			}
			c.metrics.spilledTxns.Inc()
			st.Confirm(t.EndLSN)
			continue
		}
		res, err := c.collect(t, dec, &col)
		t.Close()
		if err != nil {
			return err
		}
		if len(batch.results) == 0 {
			batch.since = time.Now()
		}
		batch.results = append(batch.results, res)
		batch.events += len(res.regs) + len(res.reads) + len(res.actors) + len(res.rejected)
		batch.end = t.EndLSN
		stats := asm.Stats()
		c.metrics.spilledBytes.Set(float64(stats.DiskBytes))
		if spilled {
			c.metrics.spilledTxns.Inc()
		}
		// Near the server's WAL end, batches close after BatchLinger (latency
		// matters); while catching up on a backlog they fill to BatchEvents
		// (throughput matters), waiting at most a second.
		behind := st.ServerEnd() > msg.WALStart+catchUpDistance
		age := time.Since(batch.since)
		if batch.events >= c.cfg.BatchEvents || (age >= c.cfg.BatchLinger && !behind) || age >= time.Second {
			if err := flush(); err != nil {
				return err
			}
			if err := maybeTick(); err != nil {
				return err
			}
		}
	}
}

// collect decodes one committed transaction into registrations, reads and
// actors. Rows that cannot be decoded become dead letters; the rest goes on.
func (c *Capture) collect(t *assemble.Txn, dec *decode.Decoder, col *build.Collector) (txnResult, error) {
	col.Reset()
	res := txnResult{src: event.Source{LSN: t.CommitLSN.String(), Xid: t.Xid, CommitTime: t.CommitTime}}
	rows := 0
	for msg, err := range t.Messages() {
		if err != nil {
			return res, fmt.Errorf("read transaction %d: %w", t.Xid, err)
		}
		if skip := c.isTouch(dec, msg, t.Streamed); skip {
			rows++
			col.Dropped++
			continue
		}
		row, err := dec.Decode(msg, t.Streamed)
		if err != nil {
			res.rejected = append(res.rejected, event.DeadLetter{Stage: "decode", Reason: err.Error(), Source: res.src})
			continue
		}
		if row == nil {
			continue
		}
		rows++
		if err := col.Add(row); err != nil {
			res.rejected = append(res.rejected, event.DeadLetter{Stage: "decode", Reason: err.Error(), Source: res.src, Table: row.Table()})
		}
	}
	res.regs = append(res.regs, col.Registrations()...)
	res.reads = append(res.reads, col.Reads()...)
	res.actors = append(res.actors, col.Actors()...)
	for _, r := range col.Rejected() {
		res.rejected = append(res.rejected, event.DeadLetter{Stage: "build", Reason: r.Reason, Source: res.src, Table: r.Table, Registration: r.Registration})
	}
	c.metrics.txns.Inc()
	c.metrics.rows.Add(float64(rows))
	c.metrics.touchDropped.Add(float64(col.Dropped))
	return res, nil
}

// isTouch recognises an UPDATE of an attribute or relation row from its
// relation id alone, without decoding the tuple: these are the active_tils
// touch updates, never an MO change.
func (c *Capture) isTouch(dec *decode.Decoder, msg []byte, inStream bool) bool {
	if len(msg) < 5 || msg[0] != 'U' {
		return false
	}
	p := 1
	if inStream {
		p = 5
	}
	if len(msg) < p+4 {
		return false
	}
	rel, ok := dec.Relation(binary.BigEndian.Uint32(msg[p:]))
	if !ok {
		return false
	}
	return build.IsTouchTable(rel.Name)
}

// publishBatch publishes the events of the pending transactions and the
// checkpoint at their end in one Kafka transaction.
func (c *Capture) publishBatch(ctx context.Context, mk *eventMaker, cp *publish.Checkpoint, b *pending) error {
	recs, err := mk.records(ctx, b.results)
	if err != nil {
		return err
	}
	next := *cp
	next.LSN = uint64(b.end)
	start := time.Now()
	if err := c.pub.Publish(ctx, publish.Batch{Records: recs, Checkpoint: next}); err != nil {
		mk.discardCounts()
		return err
	}
	mk.commitCounts()
	c.metrics.publishSeconds.Observe(time.Since(start).Seconds())
	c.metrics.batches.Inc()
	*cp = next
	return nil
}

func (c *Capture) watchLag(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if lag, err := source.SlotLag(ctx, c.pool, c.cfg.Slot); err == nil {
				c.metrics.slotLag.Set(float64(lag))
			}
		}
	}
}
