package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/runner/runnertest"
)

// A batch that fails the same way again and again must never loop
// silently: these tests run the runner against the local Kafka with sinks
// that fail in the ways a target does.

// failingSink fails every batch that holds a record with value "STUCK",
// or every batch when always is set, with an unmarked error whose numbers
// change between attempts (they must not make the failures look
// different). It records the health the runner reports.
type failingSink struct {
	*runnertest.MemSink
	always   atomic.Bool
	mark     func(error) error
	attempts atomic.Int64
	mu       sync.Mutex
	health   []runner.Health
}

func (f *failingSink) Apply(ctx context.Context, b *runner.Batch) error {
	stuck := f.always.Load()
	for _, r := range b.Records {
		stuck = stuck || string(r.Value) == "STUCK"
	}
	if stuck {
		n := f.attempts.Add(1)
		err := fmt.Errorf("the target refuses the batch (attempt %d, session %d)", n, 50+n%7)
		if f.mark != nil {
			err = f.mark(err)
		}
		return err
	}
	return f.MemSink.Apply(ctx, b)
}

func (f *failingSink) ReportHealth(_ context.Context, h runner.Health) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health = append(f.health, h)
	return nil
}

func (f *failingSink) reports() []runner.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]runner.Health(nil), f.health...)
}

type stuckEnv struct {
	ctx          context.Context
	cl           *kgo.Client
	brokers      []string
	topic, dlq   string
	group        string
	deadLettered func() []event.DeadLetter
}

func newStuckEnv(t *testing.T) *stuckEnv {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	prefix := testenv.UniqueTopicPrefix(t)
	e := &stuckEnv{ctx: ctx, brokers: testenv.KafkaBrokers(t), topic: prefix + "objects", dlq: prefix + "dlq", group: prefix + "g"}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.cl = cl
	adm := kadm.NewClient(cl)
	for _, tp := range []string{e.topic, e.dlq} {
		if _, err := adm.CreateTopic(ctx, 3, -1, nil, tp); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *stuckEnv) produce(t *testing.T, values ...[2]string) {
	t.Helper()
	var recs []*kgo.Record
	for _, kv := range values {
		recs = append(recs, &kgo.Record{Topic: e.topic, Key: []byte(kv[0]), Value: []byte(kv[1])})
	}
	if err := e.cl.ProduceSync(e.ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// deadLetters reads the dead-letter topic until it has want records (or,
// with want 0, for a second).
func (e *stuckEnv) deadLetters(t *testing.T, want int) []event.DeadLetter {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeTopics(e.dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []event.DeadLetter
	deadline := time.Now().Add(30 * time.Second)
	if want == 0 {
		deadline = time.Now().Add(time.Second)
	}
	for time.Now().Before(deadline) && (want == 0 || len(out) < want) {
		pctx, cancel := context.WithTimeout(e.ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var dl event.DeadLetter
			if err := json.Unmarshal(r.Value, &dl); err != nil {
				t.Fatalf("dead letter %s: %v", r.Value, err)
			}
			out = append(out, dl)
		})
	}
	return out
}

func (e *stuckEnv) cfg() runner.Config {
	return runner.Config{Group: e.group, MaxWait: 300 * time.Millisecond, StuckAfter: 3,
		Retry: runner.Backoff{Min: 2 * time.Millisecond, Max: 20 * time.Millisecond}}
}

// running is a runner under test.
type running struct {
	r        *runner.Runner
	finished chan struct{}
	err      error // Run's, once finished
	cancel   func()
	once     sync.Once
	ctx      context.Context
}

// returned waits up to d for Run to return on its own.
func (x *running) returned(d time.Duration) (error, bool) {
	select {
	case <-x.finished:
		return x.err, true
	case <-time.After(d):
		return nil, false
	}
}

// stop ends Run, closes the runner and returns Run's error.
func (x *running) stop() error {
	x.once.Do(func() {
		x.cancel()
		<-x.finished
		_ = x.r.Close(x.ctx)
	})
	return x.err
}

// run runs a runner until it returns or stop is called.
func (e *stuckEnv) run(t *testing.T, sink runner.Sink, reg prometheus.Registerer) *running {
	t.Helper()
	r, err := runner.New(e.cfg(), sink, runner.Deps{Name: "test", Topics: []string{e.topic}, DeadLetterTopic: e.dlq,
		KafkaOpts: []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(e.ctx)
	x := &running{r: r, finished: make(chan struct{}), cancel: cancel, ctx: e.ctx}
	go func() { x.err = r.Run(rctx); close(x.finished) }()
	t.Cleanup(func() { _ = x.stop() })
	return x
}

func versions(keys, from, to int) [][2]string {
	var out [][2]string
	for v := from; v <= to; v++ {
		for k := 0; k < keys; k++ {
			out = append(out, [2]string{fmt.Sprintf("k%02d", k), fmt.Sprintf("v%d", v)})
		}
	}
	return out
}

// A record the target keeps rejecting with an error the sink could not
// classify: after StuckAfter identical failures the runner splits the
// batch; the other records apply, and the one record, alone and still
// failing, goes to the dead-letter topic with the reason. The retries are
// counted and reported to the sink as they happen, and cleared.
func TestStuckBatchIsSplitAndTheRecordDeadLettered(t *testing.T) {
	e := newStuckEnv(t)
	e.produce(t, versions(20, 1, 1)...)
	e.produce(t, [2]string{"k07", "STUCK"})
	e.produce(t, versions(20, 2, 2)...)
	sink := &failingSink{MemSink: runnertest.NewMemSink()}
	reg := prometheus.NewRegistry()
	x := e.run(t, sink, reg)
	r := x.r

	deadline := time.Now().Add(time.Minute)
	for {
		st := sink.State()
		ok := len(st) == 20
		for _, v := range st {
			ok = ok && v == 2
		}
		if ok {
			break
		}
		if err, ok := x.returned(0); ok {
			t.Fatalf("Run returned %v with the state at %v", err, st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("state never reached v2: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dls := e.deadLetters(t, 1)
	if len(dls) != 1 || !strings.Contains(dls[0].Reason, "failed 3 times in a row the same way") ||
		!strings.Contains(dls[0].Reason, "the target refuses the batch") || string(dls[0].Payload) != `"STUCK"` {
		t.Fatalf("dead letters: %+v", dls)
	}
	if s := r.Stats(); s.Failures != 0 || s.LastError != "" || s.DeadLetters != 1 {
		t.Fatalf("stats after recovery: %+v", s)
	}
	if got := gauge(t, reg, "mocdc_sink_failing_attempts"); got != 0 {
		t.Fatalf("mocdc_sink_failing_attempts = %v after recovery", got)
	}
	if got := gauge(t, reg, "mocdc_sink_retries_total"); got < 3 {
		t.Fatalf("mocdc_sink_retries_total = %v", got)
	}
	h := sink.reports()
	if len(h) < 4 || h[0].Failures != 1 || h[1].Failures != 2 || !strings.Contains(h[0].LastError, "refuses") || h[len(h)-1].Failures != 0 {
		t.Fatalf("health reports: %+v", h)
	}
	if err := x.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// When every part of the batch fails the same way, no record can be
// blamed: the runner stops with the error instead of retrying forever or
// dead-lettering good records. While it fails, the metrics show the
// attempts and the error.
func TestBatchThatAlwaysFailsStopsTheRunner(t *testing.T) {
	e := newStuckEnv(t)
	e.produce(t, versions(8, 1, 1)...)
	sink := &failingSink{MemSink: runnertest.NewMemSink()}
	sink.always.Store(true)
	reg := prometheus.NewRegistry()
	err, ok := e.run(t, sink, reg).returned(time.Minute)
	if !ok {
		t.Fatal("the runner kept retrying a batch that always fails")
	}
	if err == nil || !strings.Contains(err.Error(), "failed 3 times in a row the same way") || !strings.Contains(err.Error(), "the target refuses the batch") {
		t.Fatalf("Run: %v", err)
	}
	if n := len(sink.State()); n != 0 {
		t.Fatalf("%d keys applied by a sink that fails everything", n)
	}
	if dls := e.deadLetters(t, 0); len(dls) != 0 {
		t.Fatalf("good records dead-lettered: %+v", dls)
	}
	if got := gauge(t, reg, "mocdc_sink_failing_attempts"); got < 3 {
		t.Fatalf("mocdc_sink_failing_attempts = %v", got)
	}
	if l := label(t, reg, "mocdc_sink_last_error_info", "error"); !strings.Contains(l, "the target refuses the batch") {
		t.Fatalf("mocdc_sink_last_error_info error = %q", l)
	}
}

// A fatal error (the target rejects the statement itself) stops the
// runner at once: no retries, nothing dead-lettered.
func TestFatalErrorStopsAtOnce(t *testing.T) {
	e := newStuckEnv(t)
	e.produce(t, versions(8, 1, 1)...)
	sink := &failingSink{MemSink: runnertest.NewMemSink(), mark: runner.Fatal}
	sink.always.Store(true)
	err, ok := e.run(t, sink, nil).returned(time.Minute)
	if !ok {
		t.Fatal("the runner kept going after a fatal error")
	}
	if !runner.IsFatal(err) || !strings.Contains(err.Error(), "the sink cannot go on") {
		t.Fatalf("Run: %v", err)
	}
	if n := sink.attempts.Load(); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
	if dls := e.deadLetters(t, 0); len(dls) != 0 {
		t.Fatalf("dead-lettered after a fatal error: %+v", dls)
	}
}

// A target that is down fails every attempt the same way; that is no
// reason to split or stop: the runner waits for it, however often.
func TestUnavailableTargetIsWaitedFor(t *testing.T) {
	e := newStuckEnv(t)
	e.produce(t, versions(8, 1, 1)...)
	sink := &failingSink{MemSink: runnertest.NewMemSink(), mark: runner.Unavailable}
	sink.always.Store(true)
	x := e.run(t, sink, nil)
	r := x.r
	deadline := time.Now().Add(time.Minute)
	for sink.attempts.Load() < 12 { // four times StuckAfter
		if err, ok := x.returned(0); ok {
			t.Fatalf("Run returned %v while the target was down", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts", sink.attempts.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := r.Stats(); s.Failures < 12 || !strings.Contains(s.LastError, "refuses") || s.FailingSince.IsZero() {
		t.Fatalf("stats while down: %+v", s)
	}
	sink.always.Store(false) // back
	for len(sink.State()) != 8 {
		if time.Now().After(deadline) {
			t.Fatalf("never applied after the target came back: %v", sink.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h := sink.reports(); len(h) != 1 || h[0].Failures != 0 {
		t.Fatalf("health reports (none while unavailable, one on recovery): %+v", h)
	}
	if dls := e.deadLetters(t, 0); len(dls) != 0 {
		t.Fatalf("dead-lettered while the target was down: %+v", dls)
	}
	if err := x.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

func label(t *testing.T, reg *prometheus.Registry, name, label string) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == label {
						return l.GetValue()
					}
				}
			}
		}
	}
	return ""
}
