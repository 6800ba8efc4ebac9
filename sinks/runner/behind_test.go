package runner_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/runner/runnertest"
)

func TestCheckStart(t *testing.T) {
	b := &runner.Batch{Start: runner.Offsets{"t": {0: 10, 1: 5, 2: 3}}}
	stored := runner.Offsets{"t": {0: 10, 1: 7}} // 2: no row at all
	err := runner.CheckStart(stored, b)
	be, ok := err.(*runner.BehindError)
	if !ok {
		t.Fatalf("CheckStart = %v, want a *BehindError", err)
	}
	if want := (runner.Offsets{"t": {2: 0}}); !reflect.DeepEqual(be.Stored, want) {
		t.Fatalf("behind partitions %v, want %v", be.Stored, want)
	}
	stored.Set("t", 2, 3)
	if err := runner.CheckStart(stored, b); err != nil {
		t.Fatalf("a target at or past Start is not behind: %v", err)
	}
	stored.Set("t", 0, 9)
	if err := runner.CheckStart(stored, b); err == nil {
		t.Fatal("a target one record behind Start was not noticed")
	}
}

// TestTargetThatLostCommitsIsReadAgain: the target loses batches it had
// committed (a restore from backup, an asynchronous replica promoted, a
// database without durable commits that crashed) while the runner keeps
// running. The runner must notice at its next batch and apply the lost
// records again, so the target ends with everything — not only what came
// after the loss.
func TestTargetThatLostCommitsIsReadAgain(t *testing.T) {
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
	produce := func(keys []string, v int) {
		var recs []*kgo.Record
		for _, k := range keys {
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(fmt.Sprintf("v%d", v))})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("k%02d", i))
		}
		return out
	}
	sink := runnertest.NewMemSink()
	reg := prometheus.NewRegistry()
	r, err := runner.New(runner.Config{Group: prefix + "g", MaxWait: 20 * time.Millisecond},
		sink, runner.Deps{Name: "test", Topics: []string{topic}, DeadLetterTopic: dlq, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = r.Close(ctx)
	}()
	waitState := func(what string, ok func(map[string]int) bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !ok(sink.State()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: never reached; state %v", what, sink.State())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	has := func(ks []string, v int) func(map[string]int) bool {
		return func(st map[string]int) bool {
			for _, k := range ks {
				if st[k] != v {
					return false
				}
			}
			return true
		}
	}

	produce(keys(0, 10), 1)
	waitState("first keys applied", has(keys(0, 10), 1))
	before := sink.Snapshot()
	produce(keys(10, 20), 1) // applied, committed — and then lost
	waitState("second keys applied", has(keys(10, 20), 1))
	sink.Restore(before)

	produce(keys(20, 30), 1) // the next batch finds the target behind
	waitState("every key, the lost ones included", has(keys(0, 30), 1))
	if n := gauge(t, reg, "mocdc_sink_rewinds_total"); n < 1 {
		t.Fatalf("mocdc_sink_rewinds_total = %v, want ≥ 1", n)
	}
}
