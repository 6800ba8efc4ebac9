package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
// topics are left as they are. It returns once the broker serves all of
// them (see CreateTopics).
func EnsureTopics(ctx context.Context, adm *kadm.Client, t event.Topics, c TopicConfig) error {
	c.Defaults()
	compacted := map[string]*string{
		"cleanup.policy":        ptr("compact"),
		"min.compaction.lag.ms": ptr(strconv.FormatInt(c.MinCompactionLag.Milliseconds(), 10)),
	}
	kept := map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": ptr("-1")}
	want := map[string]TopicSpec{}
	for _, name := range t.Objects() {
		want[name] = TopicSpec{c.Partitions, compacted}
	}
	want[t.Actor()] = TopicSpec{1, compacted}
	want[t.Access()] = TopicSpec{c.Partitions, kept}
	want[t.DeadLetter()] = DeadLetterSpec()
	want[t.Checkpoint()] = TopicSpec{1, map[string]*string{"cleanup.policy": ptr("compact")}}
	return CreateTopics(ctx, adm, c.ReplicationFactor, want)
}

// DeadLetterSpec is how the dead-letter topic is created: one partition,
// records kept for 30 days.
func DeadLetterSpec() TopicSpec {
	month := strconv.FormatInt((30 * 24 * time.Hour).Milliseconds(), 10)
	return TopicSpec{1, map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": ptr(month)}}
}

// TopicSpec is how a missing topic is created.
type TopicSpec struct {
	Partitions int32
	Configs    map[string]*string
}

// EnsureTopic creates one topic if it is missing and waits until it is
// served.
func EnsureTopic(ctx context.Context, adm *kadm.Client, name string, partitions int32, rf int16, cfg map[string]*string) error {
	return CreateTopics(ctx, adm, rf, map[string]TopicSpec{name: {partitions, cfg}})
}

// CreateTopics creates the topics of want that do not exist yet, checking
// the broker's answer for each topic, and returns once the broker serves
// every topic of want: all partitions have a leader and answer an offset
// request. A broker acknowledges CreateTopics before every broker (even
// itself, under load) has loaded the new partitions, and a producer that
// writes at once gets UNKNOWN_TOPIC_OR_PARTITION.
//
// An error that names missing rights (CREATE on the cluster or the topic)
// wraps kerr.TopicAuthorizationFailed or kerr.ClusterAuthorizationFailed;
// IsAuthorization recognises it.
func CreateTopics(ctx context.Context, adm *kadm.Client, rf int16, want map[string]TopicSpec) error {
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		s := want[name]
		res, err := adm.CreateTopic(ctx, s.Partitions, rf, s.Configs, name)
		if err == nil {
			err = res.Err
		}
		switch {
		case err == nil, errors.Is(err, kerr.TopicAlreadyExists):
		case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
			errs = append(errs, fmt.Errorf("create topic %s: %w (grant this client CREATE on the topic or the cluster, or create the topic beforehand with %d partition(s))", name, err, s.Partitions))
		default:
			errs = append(errs, fmt.Errorf("create topic %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return WaitServed(ctx, adm, names...)
}

// ServedTimeout bounds how long WaitServed waits for the broker to serve
// topics that exist.
const ServedTimeout = 2 * time.Minute

// WaitServed returns once the broker serves every partition of topics: the
// metadata names a leader for each and the leader answers an offset
// request. It polls with growing pauses (50 ms up to 1 s) for at most
// ServedTimeout or until ctx ends; a topic that does not exist is waited
// for too (it may have been created a moment ago).
func WaitServed(ctx context.Context, adm *kadm.Client, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, ServedTimeout)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		notYet := servedErr(ctx, adm, topics)
		if notYet == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the broker does not serve the topics after %s: %w (is the Kafka broker overloaded, or its controller down?)", ServedTimeout, notYet)
			}
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// servedErr says why topics are not served yet, or nil.
func servedErr(ctx context.Context, adm *kadm.Client, topics []string) error {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	var missing []string
	for _, t := range topics {
		td, ok := md.Topics[t]
		switch {
		case !ok, td.Err != nil, len(td.Partitions) == 0:
			missing = append(missing, t)
			continue
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 || p.Err != nil {
				missing = append(missing, fmt.Sprintf("%s/%d", t, p.Partition))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no leader yet for %s", strings.Join(missing, ", "))
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	for _, t := range topics {
		td := md.Topics[t]
		for p := range td.Partitions {
			if _, ok := ends.Lookup(t, p); !ok {
				return fmt.Errorf("no offsets yet for %s/%d", t, p)
			}
		}
	}
	return nil
}
