package fk

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// waitTopics returns once every followed object topic exists: the view's
// follower must not start before capture created them (a topic created
// later would only be seen at the client's next metadata refresh, minutes
// on). It waits without bound, with one WARN naming what is missing.
func (s *Sink) waitTopics(ctx context.Context, adm *kadm.Client) error {
	want := FollowedTopics(s.deps.Topics)
	warned := false
	for {
		mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		md, err := adm.Metadata(mctx, want...)
		cancel()
		var missing []string
		if err == nil {
			for _, t := range want {
				td, ok := md.Topics[t]
				if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) || len(td.Partitions) == 0 {
					missing = append(missing, t)
				}
			}
			if len(missing) == 0 {
				if warned {
					s.log.Info("the object topics exist; following them")
				}
				return nil
			}
		}
		if !warned {
			warned = true
			s.log.Warn("waiting for the object topics (capture creates them at its first start; check kafka.topic_prefix)",
				slog.String("missing", strings.Join(missing, ", ")), slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// FollowedTopics lists the object topics the fk sink reads.
func FollowedTopics(t event.Topics) []string {
	out := make([]string, len(followed))
	for i, typ := range followed {
		out[i] = t.Object(typ)
	}
	return out
}
