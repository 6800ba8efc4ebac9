package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Shard splits a sink's owners between its instances. Every instance joins
// one consumer group over the owner topics (mo.person, and mo.org_unit
// when units are owners) and acts for an owner only while it is assigned
// the partition that owner's own object was read from (view.Object
// Partition). Records are not used (the view's Follower reads them): the
// group starts at the end of each partition and discards what it fetches.
//
// When partitions are assigned (at start, and when an instance leaves or
// dies and its partitions move) OnAssigned runs; the sink then reconciles
// every owner of those partitions, which catches up on anything the
// previous owner left undone. Cooperative-sticky balancing moves only the
// partitions that must move. Between a killed instance and the end of its
// session timeout its owners wait; nothing is lost because the new owner
// reconciles them all.
type Shard struct {
	opts       []kgo.Opt
	group      string
	topics     []string
	onAssigned func(topic string, partitions []int32)

	mu    sync.RWMutex
	owned map[string]map[int32]bool
	ready chan struct{}
	once  sync.Once
}

// NewShard returns a shard of group over topics; it connects on Run.
// onAssigned is called (from the client's goroutine) with each batch of
// newly assigned partitions.
func NewShard(opts []kgo.Opt, group string, topics []string, onAssigned func(topic string, partitions []int32)) (*Shard, error) {
	if group == "" || len(topics) == 0 {
		return nil, errors.New("reconcile shard: group and topics are required")
	}
	return &Shard{opts: opts, group: group, topics: topics, onAssigned: onAssigned,
		owned: map[string]map[int32]bool{}, ready: make(chan struct{})}, nil
}

// Owns reports whether this instance acts for owners read from partition p
// of topic.
func (s *Shard) Owns(topic string, p int32) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.owned[topic][p]
}

// Owned returns the number of partitions owned now.
func (s *Shard) Owned() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, ps := range s.owned {
		n += len(ps)
	}
	return n
}

// Assigned is closed after the first assignment.
func (s *Shard) Assigned() <-chan struct{} { return s.ready }

// Run stays in the group until ctx ends (then it leaves the group, so the
// partitions move at once, and returns nil).
func (s *Shard) Run(ctx context.Context) error {
	opts := append(append([]kgo.Opt(nil), s.opts...),
		kgo.ConsumerGroup(s.group),
		kgo.ConsumeTopics(s.topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.revoked),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("reconcile shard: kafka client: %w", err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
	}
}

func (s *Shard) assigned(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	s.mu.Lock()
	for t, ps := range parts {
		if s.owned[t] == nil {
			s.owned[t] = map[int32]bool{}
		}
		for _, p := range ps {
			s.owned[t][p] = true
		}
	}
	s.mu.Unlock()
	for t, ps := range parts {
		if s.onAssigned != nil && len(ps) > 0 {
			s.onAssigned(t, ps)
		}
	}
	s.once.Do(func() { close(s.ready) })
}

func (s *Shard) revoked(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			delete(s.owned[t], p)
		}
	}
}
