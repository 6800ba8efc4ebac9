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
	// linger is how long the batch waits near the WAL end: BatchLinger,
	// or BatchLingerMax while transactions come often.
	linger time.Duration
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
	var (
		batch pending
		// fly is the Kafka transaction being committed while the stream
		// reads on (pipeline.go); failed is set once one has failed, after
		// which nothing more is published.
		fly    *inflight
		failed error
		pos    pglogrepl.LSN // the WAL position of the last message
		closed time.Time     // when the last batch was closed
	)
	// Kafka transactions run under pctx: it outlives ctx by StopTimeout, so
	// that on stop what was read is still published.
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer pcancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(StopTimeout, pcancel) })()
	settle := func() error {
		f := fly
		fly = nil
		if err := c.settle(mk, f); err != nil {
			failed = err
			return err
		}
		if c.afterCommit != nil {
			c.afterCommit()
		}
		st.Confirm(f.end)
		c.metrics.confirmedLSN.Set(float64(f.end))
		return nil
	}
	waitFly := func() error {
		if fly == nil {
			return nil
		}
		return settle()
	}
	submit := func(ctx context.Context) error {
		// startBatch fails only before anything is sent or cp moves.
		f, err := c.startBatch(ctx, pctx, mk, cp, &batch)
		if err != nil {
			return err
		}
		fly, batch, closed = f, pending{}, time.Now()
		return nil
	}
	// flush publishes everything read so far and waits until it committed.
	flushCtx := func(ctx context.Context) error {
		if failed != nil {
			return failed
		}
		if err := waitFly(); err != nil {
			return err
		}
		if len(batch.results) == 0 {
			return nil
		}
		if err := submit(ctx); err != nil {
			return err
		}
		return waitFly()
	}
	flush := func() error { return flushCtx(ctx) }
	defer func() {
		if ctx.Err() == nil {
			// An error: the transaction in flight, if any, is abandoned
			// (capture restarts from the checkpoint in Kafka), but waited
			// for, so that nothing uses the Kafka client after stream.
			pcancel()
			if fly != nil {
				<-fly.done.Done()
			}
			return
		}
		// On stop, the transactions read so far are published (within
		// StopTimeout) and the position reported to the server, so that
		// what a sink drains afterwards is everything up to the stop.
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
	// Validity ticks are checked about once a second. When a boundary has
	// passed, everything read is published first and the tick runs with
	// no transaction open or in flight: the state it reads is then no
	// newer than what has been published.
	var lastTick time.Time
	maybeTick := func() error {
		if time.Since(lastTick) < time.Second || asm.Stats().OpenTxns > 0 {
			return nil
		}
		lastTick = time.Now()
		if !c.tickDue(cp) {
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		return c.tick(ctx, cp, mk)
	}
	idle := false // the last read timed out with nothing
	for {
		if fly != nil && fly.done.Err() != nil {
			if err := settle(); err != nil {
				return err
			}
		}
		// Near the server's WAL end, a batch closes after its linger
		// (latency matters; longer while transactions come often); while catching up on a backlog it fills to
		// BatchEvents (throughput matters), waiting at most a second. A
		// closed batch is published as soon as the one in flight has
		// committed; meanwhile it goes on growing (so batches grow with
		// the commit time), up to BatchEvents, where the stream waits.
		wait := 500 * time.Millisecond
		if len(batch.results) > 0 {
			age := time.Since(batch.since)
			full := batch.events >= c.cfg.BatchEvents
			behind := st.ServerEnd() > pos+catchUpDistance
			ready := full || age >= time.Second || (age >= batch.linger && (!behind || idle))
			if ready && full && fly != nil {
				if err := waitFly(); err != nil {
					return err
				}
			}
			if ready && fly == nil {
				if err := submit(ctx); err != nil {
					return err
				}
			} else if fly == nil && !ready {
				closes := batch.linger
				if behind {
					closes = time.Second
				}
				wait = max(0, closes-age)
			}
		}
		if err := maybeTick(); err != nil {
			return err
		}
		var wake context.Context
		if fly != nil {
			wake = fly.done
		}
		msg, err := st.NextOrWake(ctx, wait, wake)
		idle = errors.Is(err, source.ErrIdle) && (wake == nil || wake.Err() == nil)
		if errors.Is(err, source.ErrIdle) {
			// The server's WAL end is NOT confirmed here: the walsender may
			// not have decoded up to it yet, and confirming it would skip
			// transactions on restart. Idle slots advance through the
			// heartbeat messages below instead.
			continue
		}
		if err != nil {
			return err
		}
		pos = msg.WALStart
		item, err := asm.Add(msg.WALStart, msg.Data)
		if err != nil {
			return fmt.Errorf("assemble at %s: %w", msg.WALStart, err)
		}
		if item.Message != nil {
			// A heartbeat or other non-transactional message. Decoding is
			// sequential, so every transaction that committed before it has
			// been received; with nothing pending, in flight or open, its
			// position is safe to confirm.
			if len(batch.results) == 0 && fly == nil && asm.Stats().OpenTxns == 0 && item.Message.LSN > st.Confirmed() {
				st.Confirm(item.Message.LSN)
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
				failed = err
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
			batch.linger = c.cfg.BatchLinger
			if batch.since.Sub(closed) < 2*c.cfg.BatchLingerMax {
				batch.linger = c.cfg.BatchLingerMax
			}
		}
		batch.results = append(batch.results, res)
		batch.events += len(res.regs) + len(res.reads) + len(res.actors) + len(res.rejected)
		batch.end = t.EndLSN
		stats := asm.Stats()
		c.metrics.spilledBytes.Set(float64(stats.DiskBytes))
		if spilled {
			c.metrics.spilledTxns.Inc()
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
