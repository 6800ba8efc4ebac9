package publish

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// TopicConfig says how capture creates its topics when they are missing.
type TopicConfig struct {
	// Partitions of each object topic and of the access topic; sinks scale
	// up to this many instances per topic. Default 6.
	Partitions int32 `yaml:"partitions"`
	// ReplicationFactor of every topic; -1 uses the broker default.
	ReplicationFactor int16 `yaml:"replication_factor"`
	// MinCompactionLag keeps every version of an object readable for this
	// long before compaction may drop older ones. Default 7 days.
	MinCompactionLag time.Duration `yaml:"min_compaction_lag"`
}

// Defaults fills unset fields.
func (c *TopicConfig) Defaults() {
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.MinCompactionLag == 0 {
		c.MinCompactionLag = 7 * 24 * time.Hour
	}
}

// Validate reports wrong values.
func (c TopicConfig) Validate() error {
	if c.Partitions < 1 {
		return fmt.Errorf("topics.partitions must be at least 1, got %d", c.Partitions)
	}
	return nil
}

func ptr(s string) *string { return &s }

// EnsureTopics creates every topic capture writes that does not exist yet:
// the compacted object topics, the actor topic, the access topic, the
// dead-letter topic and the single-partition checkpoint topic. Existing
// topics are left as they are.
func EnsureTopics(ctx context.Context, adm *kadm.Client, t event.Topics, c TopicConfig) error {
	c.Defaults()
	compacted := map[string]*string{
		"cleanup.policy":        ptr("compact"),
		"min.compaction.lag.ms": ptr(strconv.FormatInt(c.MinCompactionLag.Milliseconds(), 10)),
	}
	kept := map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": ptr("-1")}
	month := map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": ptr(strconv.FormatInt((30 * 24 * time.Hour).Milliseconds(), 10))}
	want := map[string]topicSpec{}
	for _, name := range t.Objects() {
		want[name] = topicSpec{c.Partitions, compacted}
	}
	want[t.Actor()] = topicSpec{1, compacted}
	want[t.Access()] = topicSpec{c.Partitions, kept}
	want[t.DeadLetter()] = topicSpec{1, month}
	want[t.Checkpoint()] = topicSpec{1, map[string]*string{"cleanup.policy": ptr("compact")}}
	return ensure(ctx, adm, c.ReplicationFactor, want)
}

type topicSpec struct {
	parts int32
	cfg   map[string]*string
}

// EnsureTopic creates one topic if it is missing.
func EnsureTopic(ctx context.Context, adm *kadm.Client, name string, partitions int32, rf int16, cfg map[string]*string) error {
	return ensure(ctx, adm, rf, map[string]topicSpec{name: {partitions, cfg}})
}

func ensure(ctx context.Context, adm *kadm.Client, rf int16, want map[string]topicSpec) error {
	var errs error
	for name, s := range want {
		res, err := adm.CreateTopic(ctx, s.parts, rf, s.cfg, name)
		if err == nil {
			err = res.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = errors.Join(errs, fmt.Errorf("create topic %s: %w", name, err))
		}
	}
	return errs
}
