package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/capture/snapshot"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// Progress reports the initial snapshot's progress: objects published so
// far and the class being read.
type Progress func(class string, published int64)

// runSnapshot publishes the current state of every object as of the
// snapshot in cp.Snapshot.Visible, class by class in uuid order, each chunk
// in one Kafka transaction together with the progress, so an interrupted
// snapshot resumes after the last published chunk. tx must be a REPEATABLE
// READ transaction in which every registration visible in that snapshot is
// visible (the exported snapshot itself, or any later one).
func (c *Capture) runSnapshot(ctx context.Context, tx pgx.Tx, cp *publish.Checkpoint, mk *eventMaker) error {
	p := cp.Snapshot
	started := time.Now()
	if p.Class == "" {
		// Actors first: the ledger names actors from this topic.
		actors, err := snapshot.Actors(ctx, tx)
		if err != nil {
			return err
		}
		var recs []*kgo.Record
		for id, name := range actors {
			v, _ := json.Marshal(event.Actor{Version: event.Version, UUID: id, Name: name})
			recs = append(recs, &kgo.Record{Topic: c.topics.Actor(), Key: []byte(id), Value: v})
		}
		p.Class = lora.Classes[0].Name
		if err := c.pub.Publish(ctx, publish.Batch{Records: recs, Checkpoint: *cp}); err != nil {
			return fmt.Errorf("publish actors: %w", err)
		}
	}
	start := 0
	for i, cl := range lora.Classes {
		if cl.Name == p.Class {
			start = i
		}
	}
	// The next chunk is read while the last one is published: reading
	// (the store) and publishing (Kafka) wait on different servers.
	chunks, stop := c.readChunks(ctx, tx, lora.Classes[start:], p.Class, p.After, p.Visible)
	defer stop()
	for ch := range chunks {
		if ch.err != nil {
			return ch.err
		}
		if p.Class != ch.class.Name {
			p.Class, p.After = ch.class.Name, ""
		}
		if ch.next == "" {
			continue // the class is done
		}
		var recs []*kgo.Record
		for _, r := range ch.regs {
			rec, err := c.snapshotRecord(mk, r)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		p.After = ch.next
		p.Published += int64(len(ch.regs))
		if err := c.pub.Publish(ctx, publish.Batch{Records: recs, Checkpoint: *cp}); err != nil {
			mk.discardCounts()
			return fmt.Errorf("publish snapshot chunk of %s: %w", ch.class.Name, err)
		}
		mk.commitCounts()
		c.metrics.snapshotObjects.Add(float64(len(ch.regs)))
		if c.progress != nil {
			c.progress(ch.class.Name, p.Published)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cp.Snapshot = nil
	cp.SnapshotDone = true
	if err := c.pub.Publish(ctx, publish.Batch{Checkpoint: *cp}); err != nil {
		return fmt.Errorf("publish snapshot end: %w", err)
	}
	c.log.Info("initial snapshot published", slog.Int64("objects", p.Published), slog.Duration("took", time.Since(started)))
	return nil
}

// snapshotChunk is one chunk of a class read in the snapshot's
// transaction; next "" ends the class.
type snapshotChunk struct {
	class *lora.Class
	regs  []*snapshot.Registration
	next  string
	err   error
}

// readChunks reads the chunks of classes, in order, from after in the
// first class (fromClass) on, one chunk ahead of the consumer. The channel
// closes after the last class, an error (sent as a chunk) or ctx's end;
// stop ends the reading and waits for it, so that tx is free again.
func (c *Capture) readChunks(ctx context.Context, tx pgx.Tx, classes []*lora.Class, fromClass, after, visible string) (<-chan snapshotChunk, func()) {
	rctx, cancel := context.WithCancel(ctx)
	out := make(chan snapshotChunk, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for _, class := range classes {
			from := ""
			if class.Name == fromClass {
				from = after
			}
			for {
				regs, next, err := snapshot.Current(rctx, tx, class, from, c.cfg.SnapshotChunk, visible)
				select {
				case out <- snapshotChunk{class: class, regs: regs, next: next, err: err}:
				case <-rctx.Done():
					return
				}
				if err != nil {
					return
				}
				if next == "" {
					break
				}
				from = next
			}
		}
	}()
	return out, func() {
		cancel()
		for range out { // unblock a pending send
		}
		<-done
	}
}

func (c *Capture) snapshotRecord(mk *eventMaker, r *snapshot.Registration) (*kgo.Record, error) {
	obj, err := mk.build(r.Class, r.UUID, &r.State, nil)
	if err != nil {
		return mk.dead(event.DeadLetter{Stage: "snapshot", Reason: err.Error(),
			Table: r.Class.RegistreringTable(), Registration: r.ID}), nil
	}
	mk.versions.put(versionKey{r.Class.Name, r.ID}, obj)
	mk.catalog.Learn(obj)
	if mk.policy != nil {
		// Loaded from this snapshot's transaction already: nothing flips.
		mk.policy.Learn(obj)
		mk.published(obj, r.ID, false)
	}
	mk.count(string(obj.Type), string(event.Snapshot))
	mk.countWithheld(obj)
	env := &event.Envelope{
		Version: event.Version,
		ID:      event.SnapshotID(r.Class.Name, r.ID),
		Op:      event.Snapshot,
		Type:    obj.Type,
		UUID:    r.UUID,
		Registration: &event.Registration{ID: r.ID, Time: r.Reg.Period.From, Lifecycle: string(r.Reg.Lifecycle),
			Actor: r.Reg.Actor, Note: mk.note(r.Reg.Note)},
		Changed: []string{},
		Object:  obj,
	}
	v, err := env.Marshal()
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: c.topics.Object(obj.Type), Key: []byte(r.UUID), Value: v}, nil
}
