package runner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/runner/runnertest"
)

func TestConformanceMemSink(t *testing.T) {
	runnertest.Run(t, runnertest.MemHarness())
}

// opaqueSink hides which record failed: the runner must find it itself by
// splitting the batch.
type opaqueSink struct{ *runnertest.MemSink }

func (o opaqueSink) Apply(ctx context.Context, b *runner.Batch) error {
	err := o.MemSink.Apply(ctx, b)
	var be *runner.BatchError
	if errors.As(err, &be) {
		return runner.Permanent(errors.New("the target rejected the batch"))
	}
	return err
}

func TestConformanceFindsTheRecordByBisection(t *testing.T) {
	mem := runnertest.MemHarness()
	runnertest.Run(t, func(t *testing.T, prefix string) *runnertest.Target {
		tg := mem(t, prefix)
		tg.Sink = opaqueSink{tg.Sink.(*runnertest.MemSink)}
		return tg
	})
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	b := runner.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	seen := map[time.Duration]bool{}
	for attempt := 0; attempt < 20; attempt++ {
		d := b.Delay(attempt)
		ceiling := min(b.Min<<attempt, b.Max)
		if attempt > 10 {
			ceiling = b.Max
		}
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
		}
		seen[d] = true
	}
	if len(seen) < 5 {
		t.Fatalf("delays are not jittered: %v", seen)
	}
}

func TestBatchSplitAndWithoutKeepOffsets(t *testing.T) {
	recs := []runner.Record{
		{Topic: "a", Partition: 0, Offset: 4}, {Topic: "a", Partition: 1, Offset: 9},
		{Topic: "a", Partition: 0, Offset: 6}, {Topic: "a", Partition: 1, Offset: 10},
	}
	b := runner.NewBatch(recs)
	want := runner.Offsets{"a": {0: 7, 1: 11}}
	if !reflect.DeepEqual(b.End, want) {
		t.Fatalf("End = %v, want %v", b.End, want)
	}
	first, second := b.Split(2)
	if !reflect.DeepEqual(first.End, runner.Offsets{"a": {0: 5, 1: 10}}) || !reflect.DeepEqual(second.End, want) {
		t.Fatalf("split ends: %v / %v", first.End, second.End)
	}
	w := b.Without(recs[3:])
	if len(w.Records) != 3 || !reflect.DeepEqual(w.End, want) {
		t.Fatalf("Without: %d records, end %v", len(w.Records), w.End)
	}
}

// A target that fails for a while loses nothing and applies everything
// once it is back; a restarted runner resumes from the target's offsets.
func TestRetriesAndResumesFromTargetOffsets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	topic, dlq := prefix+"objects", prefix+"dlq"
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testenv.CreateTopics(t, 3, nil, topic, dlq)
	produce := func(from, to int) {
		var recs []*kgo.Record
		for v := from; v <= to; v++ {
			for k := 0; k < 20; k++ {
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%02d", k)), Value: []byte(fmt.Sprintf("v%d", v))})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	sink := runnertest.NewMemSink()
	var failures atomic.Int32
	failures.Store(5)
	sink.Fail = func() error {
		if failures.Add(-1) >= 0 {
			return errors.New("target down")
		}
		return nil
	}
	run := func() (stop func()) {
		_, stop = startRunner(ctx, t, runner.Config{Group: prefix + "g", MaxWait: 20 * time.Millisecond, Retry: runner.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}},
			sink, topic, dlq, brokers)
		return stop
	}
	waitFor := func(v int) {
		deadline := time.Now().Add(time.Minute)
		for {
			st := sink.State()
			ok := len(st) == 20
			for _, n := range st {
				ok = ok && n == v
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("state never reached v%d: %v", v, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	produce(1, 3)
	stop := run()
	waitFor(3)
	stop()
	if failures.Load() >= 0 {
		t.Fatal("the flaky target was never retried")
	}
	off, _ := sink.Offsets(ctx)
	produce(4, 5)
	stop = run()
	waitFor(5)
	stop()
	// Resuming from the target's offsets: the second run started where the
	// first ended (records before it would have been skipped by the sink
	// anyway; the runner must not even fetch them as new work).
	end, _ := sink.Offsets(ctx)
	for _, tp := range off.Partitions() {
		a, _ := off.Get(tp.Topic, tp.Partition)
		b, _ := end.Get(tp.Topic, tp.Partition)
		if b <= a {
			t.Fatalf("partition %v did not advance: %d → %d", tp, a, b)
		}
	}
}

// TestTransactionMarkersAreSteppedOver: records produced in Kafka
// transactions (as capture writes them) are followed by a commit marker
// that takes an offset. A caught-up runner reports lag 0 and the target
// stores the end of every partition, not the offset of the last marker.
func TestTransactionMarkersAreSteppedOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	topic, dlq := prefix+"objects", prefix+"dlq"
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID(prefix+"producer"), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	testenv.CreateTopics(t, 3, nil, topic, dlq)
	txn := func(v int, commit bool) {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 10; k++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprintf("k%02d", k)), Value: []byte(fmt.Sprintf("v%d", v))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn(1, true)
	txn(2, false) // aborted: never applied, and stepped over
	txn(3, true)

	sink := runnertest.NewMemSink()
	r, stop := startRunner(ctx, t, runner.Config{Group: prefix + "g", MaxWait: 20 * time.Millisecond}, sink, topic, dlq, brokers)
	defer stop()

	deadline := time.Now().Add(time.Minute)
	for {
		// Listed each time: the coordinator writes the markers after
		// EndTransaction returns.
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		st, stats := sink.State(), r.Stats()
		stored, _ := sink.Offsets(ctx)
		caught := len(st) == 10 && stats.Lag == 0
		ends.Each(func(o kadm.ListedOffset) {
			n, _ := stored.Get(o.Topic, o.Partition)
			caught = caught && n == o.Offset
		})
		if caught {
			for k, v := range st {
				if v != 3 {
					t.Fatalf("%s = v%d, want v3 (v2 was aborted)", k, v)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never caught up: state %v, lag %d, stored %v, ends %v", st, stats.Lag, stored, ends)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startRunner runs a runner over topic until stop is called.
func startRunner(ctx context.Context, t *testing.T, cfg runner.Config, sink runner.Sink, topic, dlq string, brokers []string) (r *runner.Runner, stop func()) {
	t.Helper()
	r, err := runner.New(cfg, sink, runner.Deps{Name: "test", Topics: []string{topic}, DeadLetterTopic: dlq, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	return r, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = r.Close(ctx)
	}
}

// TestRunnerWaitsForMissingTopicsThenFails: a sink started before capture
// created its topics waits for them, saying so, and consumes once they
// exist; a topic that never comes (a wrong kafka.topic_prefix) ends Run
// after TopicWait with an error naming it.
func TestRunnerWaitsForMissingTopicsThenFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	dlq := prefix + "dlq"
	testenv.CreateTopics(t, 1, nil, dlq)

	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	newRunner := func(topic string, wait time.Duration) *runner.Runner {
		r, err := runner.New(runner.Config{Group: prefix + topic, TopicWait: wait}, runnertest.NewMemSink(),
			runner.Deps{Name: "test", Topics: []string{topic}, DeadLetterTopic: dlq, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close(ctx) })
		return r
	}

	wrong := prefix + "no-such-topic"
	started := time.Now()
	err := newRunner(wrong, 3*time.Second).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "kafka.topic_prefix") {
		t.Fatalf("Run on a topic that never comes returned %v; want an error naming it", err)
	}
	if took := time.Since(started); took > 30*time.Second {
		t.Errorf("Run gave up after %s, want about TopicWait (3s)", took)
	}
	mu.Lock()
	if !strings.Contains(logs.String(), "level=WARN msg=\"topics still do not exist") || !strings.Contains(logs.String(), wrong) {
		t.Errorf("no WARN naming the missing topic; log:\n%s", logs.String())
	}
	mu.Unlock()

	late := prefix + "late"
	r := newRunner(late, time.Minute)
	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() { done <- r.Run(rctx) }()
	time.Sleep(1500 * time.Millisecond)
	testenv.CreateTopics(t, 1, nil, late)
	deadline := time.Now().Add(time.Minute)
	for r.Stats().Partitions == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the runner did not take the topic created after its start; log:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
