package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

func TestQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := NewQueue()
	q.Add("a", "b", "a")
	if q.Len() != 2 {
		t.Fatalf("duplicates queued: len %d", q.Len())
	}
	k, _ := q.Get(ctx)
	if k != "a" {
		t.Fatalf("FIFO: got %s", k)
	}
	q.Add("a") // while a is processed: again after Done, not now
	k2, _ := q.Get(ctx)
	if k2 != "b" || q.Len() != 0 {
		t.Fatalf("a processed concurrently: got %s, len %d", k2, q.Len())
	}
	q.Done("b")
	q.Done("a")
	if k, _ := q.Get(ctx); k != "a" {
		t.Fatalf("a not requeued after Done: %s", k)
	}
	q.Done("a")
	if !q.Idle() {
		t.Fatal("not idle")
	}
	// Background keys wait behind Add's; Add promotes one.
	q.AddBackground("x", "y", "z")
	q.Add("b")
	q.Add("z")
	var got []string
	for i := 0; i < 4; i++ {
		k, _ := q.Get(ctx)
		got = append(got, k)
		q.Done(k)
	}
	if fmt.Sprint(got) != "[b z x y]" || !q.Idle() {
		t.Fatalf("priorities: got %v", got)
	}
	cctx, c := context.WithCancel(ctx)
	c()
	if _, ok := q.Get(cctx); ok {
		t.Fatal("Get on a cancelled context returned a key")
	}
}

// TestShard: two instances split the partitions without overlap; when one
// leaves, the other owns all and is told which it gained.
func TestShard(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueTopicPrefix(t)
	topic := prefix + "mo.person"
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 4, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	gained := map[int][]int32{}
	start := func(i int) (*Shard, context.CancelFunc, chan error) {
		s, err := NewShard([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.SessionTimeout(6 * time.Second)}, prefix+"shard", "", []string{topic},
			func(_ string, ps []int32) { mu.Lock(); gained[i] = append(gained[i], ps...); mu.Unlock() }, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(c) }()
		return s, stop, done
	}
	a, stopA, doneA := start(0)
	b, stopB, doneB := start(1)
	defer func() { stopB(); <-doneB }()
	waitFor(t, ctx, "a split of 4 partitions", func() bool {
		if a.Owned()+b.Owned() != 4 || a.Owned() == 0 || b.Owned() == 0 {
			return false
		}
		for p := int32(0); p < 4; p++ {
			if a.Owns(topic, p) == b.Owns(topic, p) {
				return false
			}
		}
		return true
	})
	stopA()
	<-doneA
	waitFor(t, ctx, "b owning all after a left", func() bool { return b.Owned() == 4 })
	mu.Lock()
	defer mu.Unlock()
	seen := map[int32]bool{}
	for _, p := range gained[1] {
		seen[p] = true
	}
	if len(seen) != 4 {
		t.Errorf("b was told of gaining %v, want all 4 partitions", gained[1])
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestShardStatic: with instance ids, an instance that dies (no leave, as
// kill -9) and comes back under its id holds its partitions again long
// before the session timeout, and the other instance's partitions never
// move; a clean stop leaves, so its partitions move at once.
func TestShardStatic(t *testing.T) {
	t.Parallel()
	const session = 40 * time.Second // far longer than any wait below
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	brokers := testenv.KafkaBrokers(t)
	topic := testenv.UniqueTopicPrefix(t) + "mo.person"
	testenv.CreateTopics(t, 4, nil, topic)
	group := topic + ".static"
	var mu sync.Mutex
	gained := map[string]int{}
	start := func(id string, abandon bool) (*Shard, func()) {
		s, err := NewShard([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.SessionTimeout(session)}, group, id, []string{topic},
			func(_ string, ps []int32) { mu.Lock(); gained[id] += len(ps); mu.Unlock() }, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.abandon = abandon
		c, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(c) }()
		var once sync.Once
		return s, func() {
			once.Do(func() {
				stop()
				if err := <-done; err != nil {
					t.Errorf("shard %s: %v", id, err)
				}
			})
		}
	}
	owned := func(s *Shard) string {
		var out []int32
		for p := int32(0); p < 4; p++ {
			if s.Owns(topic, p) {
				out = append(out, p)
			}
		}
		return fmt.Sprint(out)
	}
	a, killA := start("a", true)
	b, stopB := start("b", false)
	defer stopB()
	waitFor(t, ctx, "a split of 4 partitions", func() bool {
		return a.Owned()+b.Owned() == 4 && a.Owned() > 0 && b.Owned() > 0
	})
	aHad, bHad := owned(a), owned(b)
	mu.Lock()
	bGained := gained["b"]
	mu.Unlock()

	killA() // no LeaveGroup: the broker still counts a as a member
	a2, stopA2 := start("a", false)
	wctx, wcancel := context.WithTimeout(ctx, session/2)
	waitFor(t, wctx, "the restarted a to hold its partitions again", func() bool { return owned(a2) == aHad })
	wcancel()
	mu.Lock()
	if gained["b"] != bGained || owned(b) != bHad {
		t.Errorf("b's partitions moved while a restarted: %s → %s (told of %d gains, before %d)", bHad, owned(b), gained["b"], bGained)
	}
	mu.Unlock()

	stopA2() // a clean stop leaves the group
	wctx, wcancel = context.WithTimeout(ctx, session/2)
	defer wcancel()
	waitFor(t, wctx, "b to own all 4 after a left", func() bool { return b.Owned() == 4 })
}
