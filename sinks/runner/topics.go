package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// waitTopics returns once every topic the runner consumes exists. A topic
// that does not exist is waited for, with an INFO and later a WARN naming
// it, for
// Config.TopicWait: capture creates the topics at its first start, and
// the broker creates none by itself. Past that, it is an error saying
// what to check. A refused login or a missing right fails at once; Kafka
// not answering is waited for as long as it takes.
func (r *Runner) waitTopics(ctx context.Context) error {
	adm := kadm.NewClient(r.cl)
	var deadline time.Time // from the first answer that topics are missing
	told, warned, unreachable := false, false, false
	for {
		missing, err := missingTopics(ctx, adm, r.deps.Topics)
		switch {
		case err == nil && len(missing) == 0:
			if told || unreachable {
				r.log.Info("the topics exist; consuming")
			}
			return nil
		case err != nil && permanentKafka(err):
			return fmt.Errorf("sink %s: %w (check kafka.sasl and the principal's ACLs: Read and Describe on the topics, Read on the group)", r.deps.Name, err)
		case err != nil:
			// Kafka does not answer: transient, waited for without a bound.
			if !unreachable && ctx.Err() == nil {
				r.log.Warn("Kafka is unreachable; retrying", slog.Any("err", err))
			}
			unreachable = true
		default:
			unreachable = false
			if deadline.IsZero() {
				deadline = time.Now().Add(r.cfg.TopicWait)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("sink %s: topics %s do not exist after %s: start capture (it creates them), or check kafka.topic_prefix", r.deps.Name, strings.Join(missing, ", "), r.cfg.TopicWait)
			}
			// At a first start capture creates them within seconds: INFO
			// first, a WARN only if they are still missing later.
			switch {
			case !told:
				told = true
				r.log.Info("waiting for capture to create the topics", slog.Int("missing", len(missing)), slog.Duration("fails_after", r.cfg.TopicWait))
			case !warned && time.Until(deadline) < r.cfg.TopicWait*3/4:
				warned = true
				r.log.Warn("topics still do not exist: is capture running, and is kafka.topic_prefix right?",
					slog.String("missing", strings.Join(missing, ", ")), slog.Duration("fails_in", time.Until(deadline).Round(time.Second)))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// missingTopics lists the topics of want the broker does not know.
func missingTopics(ctx context.Context, adm *kadm.Client, want []string) ([]string, error) {
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	md, err := adm.Metadata(mctx, want...)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, t := range want {
		td, ok := md.Topics[t]
		switch {
		case !ok, errors.Is(td.Err, kerr.UnknownTopicOrPartition), td.Err == nil && len(td.Partitions) == 0:
			missing = append(missing, t)
		case td.Err != nil:
			return nil, fmt.Errorf("topic %s: %w", t, td.Err)
		}
	}
	return missing, nil
}

func permanentKafka(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.TopicAuthorizationFailed) ||
		errors.Is(err, kerr.GroupAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed)
}
