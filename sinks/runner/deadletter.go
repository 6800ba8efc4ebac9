package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// StageApply is the dead-letter stage of records a sink could not apply.
const StageApply = "apply"

// DeadLetterOf describes a record that can never apply as a dead-letter
// topic value: the reason, where it was consumed, its source position when
// it is an event envelope, and the record itself as the payload.
func DeadLetterOf(rec Record, reason error) event.DeadLetter {
	dl := event.DeadLetter{
		Version:   event.Version,
		Reason:    reason.Error(),
		Stage:     StageApply,
		Topic:     rec.Topic,
		Partition: rec.Partition,
		Offset:    rec.Offset,
	}
	if json.Valid(rec.Value) {
		dl.Payload = json.RawMessage(rec.Value)
		var env struct {
			Source event.Source `json:"source"`
		}
		if json.Unmarshal(rec.Value, &env) == nil {
			dl.Source = env.Source
		}
	} else if rec.Value != nil {
		// Not JSON: keep it readable as a JSON string.
		b, _ := json.Marshal(string(rec.Value))
		dl.Payload = b
	}
	return dl
}

// deadLetter writes one dead-letter record per failed record and waits
// until Kafka has them; it retries until it succeeds or ctx ends, because
// the batch that skips them must not be applied before they are safe.
func (r *Runner) deadLetter(ctx context.Context, failed []RecordError) error {
	recs := make([]*kgo.Record, 0, len(failed))
	for _, f := range failed {
		v, err := json.Marshal(DeadLetterOf(f.Record, f.Err))
		if err != nil {
			return fmt.Errorf("encode dead letter: %w", err)
		}
		recs = append(recs, &kgo.Record{Topic: r.deps.DeadLetterTopic, Key: f.Record.Key, Value: v})
	}
	for attempt := 0; ; attempt++ {
		err := r.cl.ProduceSync(ctx, recs...).FirstErr()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.m.retries.Inc()
		r.log.Warn("write dead letters failed; retrying", slog.String("topic", r.deps.DeadLetterTopic), slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := r.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return werr
		}
	}
	for _, f := range failed {
		r.log.Error("record dead-lettered: it can never apply",
			slog.String("topic", f.Record.Topic), slog.Int("partition", int(f.Record.Partition)),
			slog.Int64("offset", f.Record.Offset), slog.String("key", string(f.Record.Key)), slog.Any("err", f.Err))
	}
	r.deadLetters.Add(int64(len(failed)))
	r.m.deadLetters.Add(float64(len(failed)))
	return nil
}
