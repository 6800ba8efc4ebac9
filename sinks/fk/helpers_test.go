package fk

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

const testCVR = "29189846"

// env is real Kafka with a topic prefix of its own, synthetic MO events
// published to it, and the OS2sync double.
type env struct {
	t      *testing.T
	opts   []kgo.Opt
	topics event.Topics
	prod   *kgo.Client
	double *fkdouble.Server
	url    string
	seq    int
	last   []*kgo.Record
}

func newEnv(t *testing.T) *env {
	t.Helper()
	prefix := testenv.UniqueTopicPrefix(t)
	e := &env{t: t, opts: []kgo.Opt{kgo.SeedBrokers(testenv.KafkaBrokers(t)...)}, topics: event.Topics{Prefix: prefix + "mo"}}
	cl, err := kgo.NewClient(e.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.prod = cl
	var names []string
	for _, typ := range followed {
		names = append(names, e.topics.Object(typ))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopics(ctx, 2, -1, map[string]*string{"cleanup.policy": ptrTo("compact")}, names...); err != nil {
		t.Fatal(err)
	}
	// Wait until the broker serves them (a loaded machine takes a moment).
	for {
		md, err := adm.Metadata(ctx, names...)
		ready := err == nil
		for _, n := range names {
			td, ok := md.Topics[n]
			ready = ready && ok && td.Err == nil && len(td.Partitions) == 2
			for _, p := range td.Partitions {
				ready = ready && p.Err == nil && p.Leader >= 0
			}
		}
		if ready {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("topics not served within a minute: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.double = fkdouble.New(fkdouble.Config{APIKey: "k3y", ApplyEvery: 10 * time.Millisecond})
	t.Cleanup(e.double.Close)
	srv := httptest.NewServer(e.double.Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *env) config() Config {
	c := Config{
		OS2sync:           ClientConfig{URL: e.url + "/api", CVR: testCVR, APIKey: "k3y", Retry: backoff(20*time.Millisecond, 200*time.Millisecond)},
		TopUnit:           unitTop,
		ExcludedUnits:     []string{unitExcluded},
		HierarchyLabels:   []string{"Linjeorganisation"},
		IgnoredUnitLevels: []string{"ignored-level"},
		TransactionalID:   e.topics.Prefix + "-fk",
		StateTopic:        e.topics.Prefix + "._fk.state",
		Batch:             BatchConfig{MaxWait: 20 * time.Millisecond},
		Retry:             backoff(20*time.Millisecond, 200*time.Millisecond),
	}
	c.Defaults(e.topics.Prefix)
	return c
}

// publish writes MO events to their object topics.
func (e *env) publish(evs ...*event.Envelope) {
	e.t.Helper()
	var recs []*kgo.Record
	for _, ev := range evs {
		e.seq++
		ev.Version, ev.ID = event.Version, "test/"+ev.UUID+"/"+string(rune('a'+e.seq%26))
		ev.Source.CommitTime = time.Now()
		b, err := ev.Marshal()
		if err != nil {
			e.t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: e.topics.Object(ev.Type), Key: []byte(ev.UUID), Value: b})
	}
	res := e.prod.ProduceSync(context.Background(), recs...)
	if err := res.FirstErr(); err != nil {
		e.t.Fatal(err)
	}
	for _, r := range res {
		e.last = append(e.last, r.Record)
	}
}

// caughtUp waits until the sink's view has read every event published.
func (e *env) caughtUp(r *running) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, rec := range e.last {
		if err := r.s.fol.WaitFor(ctx, rec.Topic, rec.Partition, rec.Offset+1); err != nil {
			e.t.Fatal(err)
		}
	}
}

// running is a Sink run in the test process.
type running struct {
	once   sync.Once
	s      *Sink
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(cfg Config, resync bool) *running {
	e.t.Helper()
	s, err := New(cfg, Deps{KafkaOpts: e.opts, Topics: e.topics, Resync: resync,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

func (r *running) stop(t *testing.T) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("sink: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("sink did not stop within 30 s")
		}
	})
}

// settle waits until the sink is idle and the double's queue is applied.
func (e *env) settle(r *running) {
	e.t.Helper()
	e.caughtUp(r)
	deadline := time.Now().Add(60 * time.Second)
	for !r.s.Idle() {
		if time.Now().After(deadline) {
			e.t.Fatal("sink not idle within 60 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.double.Drain(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func backoff(lo, hi time.Duration) runner.Backoff { return runner.Backoff{Min: lo, Max: hi} }

// --- synthetic MO

func date(s string) *mo.Date {
	if s == "" {
		return nil
	}
	d := mo.Date(s)
	return &d
}

func ver(from, to string, f map[string]any) mo.Version {
	v := mo.Validity{From: date(from), To: date(to)}
	return mo.Version{Validity: v, Period: v.Period(), Fields: f}
}

func obj(t mo.Type, uuid string, vs ...mo.Version) *event.Envelope {
	return &event.Envelope{Op: event.Update, Type: t, UUID: uuid, Object: &mo.Object{Type: t, UUID: uuid, Validities: vs}}
}

func always(t mo.Type, uuid string, f map[string]any) *event.Envelope {
	return obj(t, uuid, ver("2020-01-01", "", f))
}
