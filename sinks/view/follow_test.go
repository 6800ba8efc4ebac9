package view

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// TestFollower: a follower on real Kafka builds the view from the history,
// says when it caught up, then applies and reports new events, tombstones
// and undecodable records.
func TestFollower(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	brokers := testenv.KafkaBrokers(t)
	topics := event.Topics{Prefix: testenv.UniqueTopicPrefix(t) + "mo"}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("unused"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 3, 1, nil, topics.Objects()...); err != nil {
		t.Fatal(err)
	}
	produce := func(es ...*event.Envelope) {
		t.Helper()
		for _, e := range es {
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Object(e.Type), Key: []byte(e.UUID), Value: b}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	seed := New()
	municipality(seed) // the same objects, produced
	for _, typ := range mo.Types {
		for _, o := range seed.All(typ) {
			e := &event.Envelope{Version: 1, ID: "seed/" + o.UUID, Op: event.Snapshot, Type: typ, UUID: o.UUID, Object: &mo.Object{Type: typ, UUID: o.UUID}}
			for i := range o.Versions {
				vv := &o.Versions[i]
				e.Object.Validities = append(e.Object.Validities, mo.Version{Validity: vv.Validity(), Period: vv.Period(), Fields: vv.Fields()})
			}
			produce(e)
		}
	}

	var mu sync.Mutex
	var touches []Touch
	var bad int
	v := New()
	f, err := NewFollower(v, FollowerDeps{Name: "test", KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: topics,
		OnTouch: func(tc Touch) { mu.Lock(); touches = append(touches, tc); mu.Unlock() },
		OnBad:   func(*kgo.Record, error) { mu.Lock(); bad++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(fctx) }()
	defer func() { stop(); <-done }()
	if err := f.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// Ready means everything produced before is in the view.
	eq(t, "unit path after catch-up", uuids(v.UnitPath("A1", today)), []string{"R", "A", "A1"})
	eq(t, "IT user engagements after catch-up", uuids(v.ITUserEngagements("I", today)), []string{"E1"})
	mu.Lock()
	n := len(touches)
	replaying := 0
	for _, tc := range touches {
		if tc.Replaying {
			replaying++
		}
	}
	mu.Unlock()
	if n != replaying || n < 16 {
		t.Errorf("catch-up: %d touches, %d flagged replaying; want all 16+ replaying", n, replaying)
	}

	// Live: a move, a tombstone and a bad record.
	produce(always(mo.Engagement, "E1", map[string]any{"person": "P", "org_unit": "B"}))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Object(mo.Address), Key: []byte("adA")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Object(mo.Person), Key: []byte("P"), Value: []byte("not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		live := touches[n:]
		b := bad
		mu.Unlock()
		if len(live) == 2 && b == 1 {
			eq(t, "live move", live[0].Owners, Owners{Persons: []string{"P"}, Units: []string{"A1", "B"}})
			eq(t, "live move not replaying", live[0].Replaying, false)
			eq(t, "tombstone", live[1].Owners, Owners{Units: []string{"A"}})
			eq(t, "tombstone event", live[1].Event == nil, true)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live events: %d touches, %d bad; want 2 and 1", len(live), b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	eq(t, "moved", uuids(v.UnitEngagements("B", today)), []string{"E1"})
	eq(t, "removed", v.Get(mo.Address, "adA") == nil, true)
	eq(t, "bad record keeps the state", v.Get(mo.Person, "P").At(today).Str("given_name"), "Anna")
}
