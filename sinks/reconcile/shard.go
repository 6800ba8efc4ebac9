package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
//
// With an instance id the member is static (as sinks/runner's
// instance_id): an instance killed and restarted under the same id takes
// its partitions back at once, without a rebalance and without waiting
// out the session timeout; the other instances keep theirs. A clean stop
// (ctx cancelled) leaves the group explicitly, so the partitions move at
// once then too. A second running instance with the same id fences the
// first: its Run returns an error saying so.
type Shard struct {
	opts       []kgo.Opt
	group      string
	instanceID string
	topics     []string
	onAssigned func(topic string, partitions []int32)
	log        *slog.Logger
	// abandon (tests) makes Run return at ctx end without leaving the
	// group, as a killed process would.
	abandon bool

	mu    sync.RWMutex
	owned map[string]map[int32]bool
	ready chan struct{}
	once  sync.Once
}

// NewShard returns a shard of group over topics; it connects on Run.
// instanceID, when not empty, makes the member static (see Shard).
// onAssigned is called (from the client's goroutine) with each batch of
// newly assigned partitions. log may be nil.
func NewShard(opts []kgo.Opt, group, instanceID string, topics []string, onAssigned func(topic string, partitions []int32), log *slog.Logger) (*Shard, error) {
	if group == "" || len(topics) == 0 {
		return nil, errors.New("reconcile shard: group and topics are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Shard{opts: opts, group: group, instanceID: instanceID, topics: topics, onAssigned: onAssigned, log: log,
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
// partitions move at once, and returns nil). It returns an error when
// another running instance took its instance id.
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
	if s.instanceID != "" {
		opts = append(opts, kgo.InstanceID(s.instanceID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("reconcile shard: kafka client: %w", err)
	}
	fenced := false
	defer func() {
		cl.Close()
		s.mu.Lock()
		s.owned = map[string]map[int32]bool{}
		s.mu.Unlock()
		if s.instanceID != "" && !fenced && !s.abandon {
			s.leaveStatic(ctx)
		}
	}()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if errors.Is(err, kerr.FencedInstanceID) {
				ferr = err
			}
		})
		if ferr != nil {
			fenced = true
			return fmt.Errorf("another running instance of group %s joined with this instance's id %q and took its persons (%w): give every instance its own instance_id (unique among running instances, the same across restarts of one)",
				s.group, s.instanceID, ferr)
		}
	}
}

// leaveStatic takes a stopping static member out of the group: closing the
// client does not (a static member's restart is meant to take its place
// back), so without it a stopped instance's partitions would wait out the
// session timeout.
func (s *Shard) leaveStatic(ctx context.Context) {
	cl, err := kgo.NewClient(s.opts...)
	if err == nil {
		defer cl.Close()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var resp kadm.LeaveGroupResponses
		resp, err = kadm.NewClient(cl).LeaveGroup(lctx, kadm.LeaveGroup(s.group).InstanceIDs(s.instanceID).Reason("stopped"))
		if err == nil {
			err = resp.Error()
		}
	}
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		s.log.Warn("stopped but could not leave the group; its partitions move to the other instances after the session timeout",
			slog.String("group", s.group), slog.String("instance_id", s.instanceID), slog.Any("err", err))
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
