package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// actorWait bounds one catch-up. The end of a compacted topic can lie
// beyond its last readable record (markers of an aborted transaction
// removed by compaction); then the target is unreachable and, after this
// long without a record, taken as reached.
const actorWait = 5 * time.Second

// actorNames is the in-memory map actor uuid → name, fed from the
// compacted actor topic. Not safe for concurrent use.
type actorNames struct {
	cl    *kgo.Client
	adm   *kadm.Client
	topic string
	log   *slog.Logger
	names map[string]string
	pos   map[int32]int64
}

func newActorNames(opts []kgo.Opt, adm *kadm.Client, topic string, log *slog.Logger) (*actorNames, error) {
	cl, err := kgo.NewClient(append(opts[:len(opts):len(opts)],
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", topic, err)
	}
	return &actorNames{cl: cl, adm: adm, topic: topic, log: log, names: map[string]string{}, pos: map[int32]int64{}}, nil
}

func (a *actorNames) close() { a.cl.Close() }

// name returns the name of actor uuid, or "" if it is not (yet) known.
func (a *actorNames) name(uuid string) string { return a.names[uuid] }

// catchUp reads the actor topic up to its last stable offset as of the call.
// Capture publishes an actor in the same Kafka transaction as (or before)
// the first event that names it, so after catchUp every actor of an event
// the builder has already polled is known.
func (a *actorNames) catchUp(ctx context.Context) error {
	ends, err := a.adm.ListCommittedOffsets(ctx, a.topic)
	if err != nil {
		return fmt.Errorf("list end offsets of %s: %w", a.topic, err)
	}
	target := map[int32]int64{}
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
			// No actor topic yet: capture has not run; nothing to name.
		case o.Err != nil:
			lerr = errors.Join(lerr, fmt.Errorf("%s/%d: %w", o.Topic, o.Partition, o.Err))
		case o.Offset > a.pos[o.Partition]:
			target[o.Partition] = o.Offset
		}
	})
	if lerr != nil {
		return fmt.Errorf("list end offsets of %s: %w", a.topic, lerr)
	}
	behind := func() bool {
		for p, t := range target {
			if a.pos[p] < t {
				return true
			}
		}
		return false
	}
	for behind() {
		pctx, cancel := context.WithTimeout(ctx, actorWait)
		fs := a.cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if timedOut {
			for p, t := range target {
				if a.pos[p] < t {
					a.log.Warn("actor topic ends past its last readable record; continuing without waiting",
						slog.String("topic", a.topic), slog.Int("partition", int(p)),
						slog.Int64("offset", a.pos[p]), slog.Int64("end", t))
					a.pos[p] = t
				}
			}
			return nil
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = errors.Join(ferr, fmt.Errorf("read %s/%d: %w", t, p, err)) })
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			a.pos[r.Partition] = r.Offset + 1
			if r.Attrs.IsControl() || r.Value == nil {
				return // markers; a tombstone keeps the last name for old entries' sake
			}
			var act event.Actor
			if err := json.Unmarshal(r.Value, &act); err != nil || act.UUID == "" {
				a.log.Warn("undecodable actor record skipped", slog.String("topic", r.Topic),
					slog.Int("partition", int(r.Partition)), slog.Int64("offset", r.Offset))
				return
			}
			a.names[act.UUID] = clean(act.Name)
		})
	}
	return nil
}
