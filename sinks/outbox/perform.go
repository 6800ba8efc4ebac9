package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// nextDue is when the earliest pending intent may be tried.
func (o *Outbox) nextDue(mem *memory) (time.Time, bool) {
	var at time.Time
	for i, p := range mem.pending {
		if i == 0 || p.next.Before(at) {
			at = p.next
		}
	}
	return at, len(mem.pending) > 0
}

// writeMarks writes out in one transaction of the effect-record producer.
func (o *Outbox) writeMarks(ctx context.Context, cl *kgo.Client, out []*kgo.Record) (bool, error) {
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.TransactionTimeout)
	defer cancel()
	// A failed round can leave its transaction open (its end ran out of
	// time while the broker was down): abort it, or BeginTransaction is
	// refused for ever. A no-op when none is open.
	if err := cl.EndTransaction(txCtx, kgo.TryAbort); err != nil {
		return false, fmt.Errorf("abort the kafka transaction a failed round left open: %w", err)
	}
	if err := cl.BeginTransaction(); err != nil {
		return false, fmt.Errorf("begin kafka transaction: %w", err)
	}
	perr := cl.ProduceSync(txCtx, out...).FirstErr()
	end := kgo.TryCommit
	if perr != nil {
		end = kgo.TryAbort
	}
	if err := cl.EndTransaction(txCtx, end); err != nil {
		o.m.transactions.WithLabelValues("failed").Inc()
		return false, errors.Join(perr, fmt.Errorf("end kafka transaction: %w", err))
	}
	if perr != nil {
		o.m.transactions.WithLabelValues("aborted").Inc()
		return false, perr
	}
	o.m.transactions.WithLabelValues("committed").Inc()
	return true, nil
}

// performBudget bounds one round of performing, so consumption goes on.
const performBudget = 2 * time.Second

// performDue performs the pending intents that are due, oldest first,
// marking each done (or dead) in its own transaction before the next.
func (o *Outbox) performDue(ctx context.Context, marks *kgo.Client, mem *memory) error {
	start := time.Now()
	for i := 0; i < len(mem.pending); {
		if ctx.Err() != nil || time.Since(start) > performBudget {
			return nil
		}
		p := mem.pending[i]
		now := time.Now()
		if p.next.After(now) {
			i++
			continue
		}
		// The window opens: from the performing record until the done
		// record commits, a crash leaves it unknown whether the effect
		// happened.
		var openErr error
		open := func() error {
			if p.e.Status != Performing {
				openErr = o.write(ctx, marks, mem, p, Performing, "", nil)
			}
			return openErr
		}
		pctx, cancel := context.WithTimeout(ctx, o.cfg.PerformTimeout)
		var result []byte
		var err error
		if wp, ok := o.p.(WindowPerformer); ok {
			result, err = wp.PerformWindow(pctx, *p.e, open)
		} else if err = open(); err == nil {
			result, err = o.p.Perform(pctx, *p.e)
		}
		cancel()
		if openErr != nil {
			return openErr
		}
		if ctx.Err() != nil {
			return nil
		}
		var later *LaterError
		switch reason, dead := isPermanentPerform(err); {
		case err == nil:
			p.e.Attempts++
			if o.afterPerform != nil {
				if err := o.afterPerform(*p.e); err != nil {
					return err
				}
			}
			if err := o.mark(ctx, marks, mem, i, Done, "", result); err != nil {
				return err
			}
			o.m.done.Inc()
		case dead:
			p.e.Attempts++
			if err := o.mark(ctx, marks, mem, i, Dead, reason, nil); err != nil {
				return err
			}
			o.m.dead.Inc()
			o.log.Error("effect failed permanently; recorded dead and sent to the dead-letter topic",
				slog.String("key", p.e.Key), slog.String("reason", reason))
		case errors.As(err, &later):
			p.next = now.Add(later.Wait)
			return nil // a limit holds for every effect
		default:
			p.e.Attempts++
			o.m.performErrors.Inc()
			if p.wait == 0 {
				p.wait = o.cfg.RetryMin
			}
			d := p.wait/2 + rand.N(p.wait/2+1)
			p.next = now.Add(d)
			p.wait = min(2*p.wait, o.cfg.RetryMax)
			o.log.Warn("effect failed; retrying", slog.String("key", p.e.Key), slog.Int("attempt", p.e.Attempts),
				slog.Duration("in", d), slog.Any("err", err))
			return nil // likely the target is down: wait before trying others
		}
	}
	return nil
}

// mark writes the done or dead record of pending[i] and removes it from
// the pending list.
func (o *Outbox) mark(ctx context.Context, marks *kgo.Client, mem *memory, i int, st Status, reason string, result []byte) error {
	if err := o.write(ctx, marks, mem, mem.pending[i], st, reason, result); err != nil {
		return err
	}
	mem.mu.Lock()
	mem.pending = append(mem.pending[:i], mem.pending[i+1:]...)
	mem.mu.Unlock()
	o.m.pending.Set(float64(len(mem.pending)))
	return nil
}

// write records a new status of p in its own transaction. A failed write
// is retried a few times in this session; if the session ends first, the
// effect is performed again after restart (the window).
func (o *Outbox) write(ctx context.Context, marks *kgo.Client, mem *memory, p *pending, st Status, reason string, result []byte) error {
	e := *p.e
	e.Status, e.Reason, e.Result = st, reason, result
	if st == Done || st == Dead {
		e.DoneAt = o.deps.Now()
	}
	b, err := json.Marshal(&e)
	if err != nil {
		return err
	}
	out := []*kgo.Record{{Topic: o.cfg.Topic, Partition: 0, Key: effectKey(e.Key), Value: b}}
	if pub, ok := o.p.(Publisher); ok && (st == Done || st == Dead) {
		out = append(out, pub.Publish(e, result)...)
	}
	if st == Dead {
		d := event.DeadLetter{Version: event.Version, Stage: "perform", Reason: reason}
		d.Payload, _ = json.Marshal(map[string]any{"outbox": o.deps.Name, "key": e.Key, "sources": e.Sources})
		v, _ := json.Marshal(d)
		out = append(out, &kgo.Record{Topic: o.deps.DeadLetterTopic, Key: []byte(e.Key), Value: v})
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		committed, err := o.writeMarks(ctx, marks, out)
		if err == nil && committed {
			mem.mu.Lock()
			*p.e = e
			mem.effects[e.Key] = p.e
			mem.mu.Unlock()
			return nil
		}
		lastErr = err
		if err != nil && isFatal(err) {
			break
		}
		if sleep(ctx, time.Duration(try+1)*200*time.Millisecond) != nil {
			break
		}
	}
	return fmt.Errorf("record effect %q as %s: %w", e.Key, st, lastErr)
}
