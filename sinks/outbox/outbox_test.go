package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

// keyHandler intends one effect per distinct record value ("effect key")
// and keeps, per record key, the last value seen as state.
type keyHandler struct{}

func (keyHandler) Handle(_ context.Context, tx *Tx, recs []*kgo.Record) error {
	for _, r := range recs {
		if strings.HasPrefix(string(r.Value), "bad") {
			tx.DeadLetter(r, "test", "bad record")
			continue
		}
		tx.Put("last/"+string(r.Key), r.Value)
		tx.Intend(string(r.Value), []byte("payload of "+string(r.Value)), SourceOf(r))
	}
	return nil
}

// recorder is a Performer that counts what it performed.
type recorder struct {
	mu   sync.Mutex
	n    map[string]int
	recv map[string]bool // recovered at least once
	fail func(e Effect, attempt int) error
	seen map[string]int
}

func newRecorder() *recorder {
	return &recorder{n: map[string]int{}, recv: map[string]bool{}, seen: map[string]int{}}
}

func (r *recorder) Perform(_ context.Context, e Effect) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[e.Key]++
	if r.fail != nil {
		if err := r.fail(e, r.seen[e.Key]); err != nil {
			return nil, err
		}
	}
	if string(e.Payload) != "payload of "+e.Key {
		return nil, Permanent(fmt.Errorf("payload %q", e.Payload))
	}
	r.n[e.Key]++
	if e.Recovered {
		r.recv[e.Key] = true
	}
	return []byte("ok " + e.Key), nil
}

func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.n {
		out[k] = v
	}
	return out
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

type env struct {
	t       *testing.T
	prefix  string
	brokers []string
	cl      *kgo.Client
	source  string
}

func newEnv(t *testing.T) *env {
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(prefix+"src"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	testenv.CreateTopics(t, 3, nil, prefix+"src") // and waits until it is served
	return &env{t: t, prefix: prefix, brokers: brokers, cl: cl, source: prefix + "src"}
}

func (e *env) produce(kv ...string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := 0; i+1 < len(kv); i += 2 {
		recs = append(recs, &kgo.Record{Key: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) outbox(group string, p Performer) *Outbox {
	e.t.Helper()
	o, err := New(Config{Topic: e.prefix + "state", Group: e.prefix + group, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond},
		keyHandler{}, p, Deps{Name: "test", Topics: []string{e.source}, DeadLetterTopic: e.prefix + "dl",
			KafkaOpts: []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, Logger: slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// start runs o until the test ends or stop is called.
func start(t *testing.T, o *Outbox) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOnceAcrossRestartAndReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var kv []string
	for i := range 40 {
		// 20 distinct effects, each caused twice, by different record keys.
		kv = append(kv, fmt.Sprintf("k%d", i), fmt.Sprintf("effect-%02d", i%20))
	}
	kv = append(kv, "kbad", "bad-1")
	e.produce(kv...)

	rec := newRecorder()
	o := e.outbox("g", rec)
	stop := start(t, o)
	waitFor(t, "20 effects done", func() bool { return o.Stats().Done == 20 })
	stop()

	for k, n := range rec.counts() {
		if n != 1 {
			t.Errorf("effect %s performed %d times, want 1", k, n)
		}
	}
	if got := len(rec.counts()); got != 20 {
		t.Errorf("%d effects performed, want 20", got)
	}
	if v, ok := o.State("last/k39"); !ok || string(v) != "effect-19" {
		t.Errorf("state last/k39 = %q %v, want effect-19", v, ok)
	}
	for _, ef := range o.Effects() {
		if ef.Status != Done || len(ef.Sources) != 1 || ef.Sources[0].Topic != e.source || string(ef.Result) != "ok "+ef.Key {
			t.Errorf("effect %+v: want done with its source and result", ef)
		}
	}

	// Restart with more input: only the new effect is performed, and the
	// state is back from the topic.
	e.produce("k100", "effect-new", "k101", "effect-03")
	o2 := e.outbox("g", rec)
	stop2 := start(t, o2)
	waitFor(t, "the new effect done", func() bool { return o2.Stats().Done == 21 })
	if v, ok := o2.State("last/k101"); !ok || string(v) != "effect-03" {
		t.Errorf("after restart state last/k101 = %q %v", v, ok)
	}
	waitFor(t, "the batch committed", func() bool { return o2.Stats().Batches >= 1 })
	stop2()

	// Replay: a new group reads every source record again from the start;
	// every effect key is known, so nothing is performed.
	o3 := e.outbox("replay", rec)
	stop3 := start(t, o3)
	waitFor(t, "the replay consumed", func() bool {
		v, ok := o3.State("last/kbad")
		_ = v
		return !ok && o3.Stats().Batches >= 1 && replayDone(t, e, "replay")
	})
	stop3()
	c := rec.counts()
	for k, n := range c {
		if n != 1 {
			t.Errorf("after replay effect %s performed %d times, want 1", k, n)
		}
	}
	if len(c) != 21 {
		t.Errorf("%d effects performed, want 21", len(c))
	}
	if s := o3.Stats(); s.Recovered != 0 || s.Pending != 0 {
		t.Errorf("stats %+v: want nothing recovered or pending", s)
	}
	// The bad record went to the dead-letter topic (once per group that read it).
	if n := countRecords(t, e, e.prefix+"dl"); n != 2 {
		t.Errorf("dead-letter topic has %d records, want 2 (one per group)", n)
	}
}

// replayDone reports whether group has committed offsets at the end of the
// source topic.
func replayDone(t *testing.T, e *env, group string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	committed, err := Committed(ctx, adm, e.prefix+group, []string{e.source})
	if err != nil {
		return false
	}
	ends, err := adm.ListEndOffsets(ctx, e.source)
	if err != nil {
		return false
	}
	ok := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 && committed[o.Topic][o.Partition] < o.Offset {
			ok = false
		}
	})
	return ok
}

func countRecords(t *testing.T, e *env, topic string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	starts, err := StartOffsets(ctx, adm, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	r := map[string]map[int32][2]int64{topic: {}}
	ends.Each(func(o kadm.ListedOffset) { r[topic][o.Partition] = [2]int64{starts[topic][o.Partition], o.Offset} })
	n := 0
	if err := Scan(ctx, []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, r, func(*kgo.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCrashWindowRepeatsOneEffect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var kv []string
	for i := range 10 {
		kv = append(kv, fmt.Sprintf("k%d", i), fmt.Sprintf("effect-%02d", i))
	}
	e.produce(kv...)
	rec := newRecorder()
	o := e.outbox("g", rec)
	crashed := ""
	o.afterPerform = func(ef Effect) error {
		if crashed == "" && ef.Key == "effect-04" {
			crashed = ef.Key
			return errors.New("simulated crash between perform and done mark")
		}
		return nil
	}
	start(t, o)
	waitFor(t, "10 effects done", func() bool { return o.Stats().Done == 10 })
	c := rec.counts()
	for k, n := range c {
		want := 1
		if k == crashed {
			want = 2
		}
		if n != want {
			t.Errorf("effect %s performed %d times, want %d", k, n, want)
		}
	}
	if len(c) != 10 {
		t.Errorf("%d effects performed, want 10", len(c))
	}
	if s := o.Stats(); s.Recovered != 1 {
		t.Errorf("recovered %d, want 1 (the one in the window)", s.Recovered)
	}
	if !rec.recv[crashed] {
		t.Errorf("the repeated effect was not marked Recovered")
	}
}

func TestRetryLaterAndDead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.produce("a", "effect-retry", "b", "effect-dead", "c", "effect-later", "d", "effect-ok")
	rec := newRecorder()
	rec.fail = func(ef Effect, attempt int) error {
		switch {
		case ef.Key == "effect-retry" && attempt <= 3:
			return errors.New("421 try again later")
		case ef.Key == "effect-dead":
			return Permanent(errors.New("550 no such user"))
		case ef.Key == "effect-later" && attempt == 1:
			return Later(100*time.Millisecond, errors.New("rate limit"))
		}
		return nil
	}
	o := e.outbox("g", rec)
	start(t, o)
	waitFor(t, "3 done and 1 dead", func() bool { s := o.Stats(); return s.Done == 3 && s.Dead == 1 })
	for _, ef := range o.Effects() {
		switch ef.Key {
		case "effect-dead":
			if ef.Status != Dead || !strings.Contains(ef.Reason, "550 no such user") {
				t.Errorf("dead effect %+v", ef)
			}
		case "effect-retry":
			if ef.Attempts != 4 {
				t.Errorf("retried effect has %d attempts, want 4", ef.Attempts)
			}
		}
	}
	if n := countRecords(t, e, e.prefix+"dl"); n != 1 {
		t.Errorf("dead-letter topic has %d records, want 1", n)
	}
}

// publisher is a recorder that publishes each done or dead effect.
type publisher struct {
	*recorder
	topic string
}

func (p publisher) Publish(e Effect, result []byte) []*kgo.Record {
	return []*kgo.Record{{Topic: p.topic, Partition: 0, Key: []byte(e.Key), Value: []byte(string(e.Status) + " " + string(result))}}
}

// TestPublishAndRunAgain: a Publisher's records appear with the done (or
// dead) record, one per effect, read_committed; an Outbox whose Run
// returned runs again from the committed state.
func TestPublishAndRunAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pub := e.prefix + "pub"
	testenv.CreateTopics(t, 1, nil, pub)
	e.produce("a", "effect-1", "b", "effect-dead", "c", "effect-1")
	rec := newRecorder()
	rec.fail = func(ef Effect, _ int) error {
		if ef.Key == "effect-dead" {
			return Permanent(errors.New("550 no such user"))
		}
		return nil
	}
	o := e.outbox("g", publisher{rec, pub})
	stop := start(t, o)
	waitFor(t, "1 done and 1 dead", func() bool { s := o.Stats(); return s.Done == 1 && s.Dead == 1 })
	stop()

	e.produce("d", "effect-2")
	stop = start(t, o) // the same Outbox again
	waitFor(t, "the new effect done", func() bool { return o.Stats().Done == 2 })
	stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(e.cl).ListCommittedOffsets(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	end, _ := ends.Lookup(pub, 0)
	if err := Scan(ctx, []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, map[string]map[int32][2]int64{pub: {0: {0, end.Offset}}}, func(r *kgo.Record) error {
		if _, dup := got[string(r.Key)]; dup {
			t.Errorf("published twice: %s", r.Key)
		}
		got[string(r.Key)] = string(r.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"effect-1": "done ok effect-1", "effect-dead": "dead ", "effect-2": "done ok effect-2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("published %v, want %v", got, want)
	}
}
