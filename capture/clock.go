package capture

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/capture/snapshot"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// tick publishes a tick event for every object whose current state changes
// at a validity boundary (local midnight) passed since the last tick day in
// the checkpoint, day by day, so downtime is caught up. The events and the
// new tick day go in one Kafka transaction. It runs only while nothing is in
// flight, so the state it reads is no newer than what capture has published.
func (c *Capture) tick(ctx context.Context, cp *publish.Checkpoint, mk *eventMaker) error {
	if !*c.cfg.Clock {
		return nil
	}
	today := mo.DateOf(c.now())
	c.log.Debug("tick check", slog.String("today", string(today)), slog.String("last", cp.Tick))
	if cp.Tick == "" || string(today) <= cp.Tick {
		return nil
	}
	after := mo.Date(cp.Tick).Day()
	upTo := today.Day()
	var recs []*kgo.Record
	for _, class := range lora.Classes {
		bounds, err := snapshot.Boundaries(ctx, c.pool, class, after, upTo)
		if err != nil {
			return err
		}
		if len(bounds) == 0 {
			continue
		}
		ids := make([]int64, 0, len(bounds))
		seen := map[int64]bool{}
		for _, b := range bounds {
			if !seen[b.RegistrationID] {
				seen[b.RegistrationID] = true
				ids = append(ids, b.RegistrationID)
			}
		}
		regs, err := snapshot.ReadRegistrations(ctx, c.pool, class, ids)
		if err != nil {
			return err
		}
		byID := map[int64]*snapshot.Registration{}
		for _, r := range regs {
			byID[r.ID] = r
		}
		for _, b := range bounds {
			r := byID[b.RegistrationID]
			if r == nil {
				continue
			}
			prev, _ := mk.versions.get(versionKey{class.Name, r.ID})
			obj, err := mk.build(class, r.UUID, &r.State, prev)
			if err != nil {
				recs = append(recs, mk.dead(event.DeadLetter{Stage: "tick", Reason: err.Error(), Table: class.RegistreringTable(), Registration: r.ID}))
				continue
			}
			day := mo.DateOf(b.Day)
			env := &event.Envelope{
				Version: event.Version, ID: event.TickID(r.UUID, day), Op: event.Tick, Type: obj.Type, UUID: r.UUID,
				Registration: &event.Registration{ID: r.ID, Time: r.Reg.Period.From, Lifecycle: string(r.Reg.Lifecycle), Actor: r.Reg.Actor, Note: mk.note(r.Reg.Note)},
				Changed:      []string{}, Object: obj, Day: string(day),
			}
			v, err := env.Marshal()
			if err != nil {
				return fmt.Errorf("encode tick: %w", err)
			}
			recs = append(recs, &kgo.Record{Topic: c.topics.Object(obj.Type), Key: []byte(r.UUID), Value: v})
			mk.published(obj, r.ID, false)
			more, err := mk.policyFollowUps(ctx, obj, time.Time{}, env.ID, event.Source{})
			if err != nil {
				return err
			}
			recs = append(recs, more...)
		}
	}
	next := *cp
	next.Tick = string(today)
	if err := c.pub.Publish(ctx, publish.Batch{Records: recs, Checkpoint: next}); err != nil {
		mk.discardCounts()
		return err
	}
	mk.commitCounts() // the policy's republished engagements
	*cp = next
	c.metrics.ticks.Add(float64(len(recs)))
	c.log.Info("validity ticks published", slog.String("day", string(today)), slog.Int("events", len(recs)), slog.Time("since", after))
	return nil
}

// tickDue reports, cheaply, whether a validity boundary has passed since
// the last tick day: only then does tick read the store.
func (c *Capture) tickDue(cp *publish.Checkpoint) bool {
	return *c.cfg.Clock && cp.Tick != "" && string(mo.DateOf(c.now())) > cp.Tick
}
