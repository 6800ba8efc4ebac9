package runnertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// Target is a fresh, empty sink target and how the suite talks to it in
// the sink's own terms.
type Target struct {
	Sink runner.Sink
	// Topics the sink consumes (the suite creates them for the runner
	// tests); Topic, one of them, receives the suite's records.
	Topics []string
	Topic  string
	// Key returns the i-th object key the suite may use (e.g. a uuid).
	Key func(i int) string
	// Put encodes version v (v ≥ 1) of the object with key k.
	Put func(k string, v int) []byte
	// Delete returns the record values that delete k, in order (for MO
	// topics: a delete event, then a tombstone, nil).
	Delete func(k string) [][]byte
	// Poison returns a value for k that the sink can never apply.
	Poison func(k string) []byte
	// State reads the target: key → version of every object present.
	State func(ctx context.Context) (map[string]int, error)
	// Dump, when set, returns everything in the target that a replay
	// must leave unchanged, as text.
	Dump func(ctx context.Context) (string, error)
}

// Harness builds a fresh Target. prefix is unique to the test: put it in
// front of every topic (and database) name.
type Harness func(t *testing.T, prefix string) *Target

const partitions = 3

// Run runs the conformance suite against the targets h builds.
func Run(t *testing.T, h Harness) {
	t.Run("ordering per object", func(t *testing.T) { testOrdering(t, h) })
	t.Run("replay is a no-op", func(t *testing.T) { testReplay(t, h) })
	t.Run("delete", func(t *testing.T) { testDelete(t, h) })
	t.Run("offsets stored with the data", func(t *testing.T) { testOffsets(t, h) })
	t.Run("batch is all or nothing", func(t *testing.T) { testAllOrNothing(t, h) })
	t.Run("a target behind the batch's start says so", func(t *testing.T) { testBehind(t, h) })
	t.Run("partial failure dead-letters and applies the rest", func(t *testing.T) { testPartialFailure(t, h) })
}

// feed builds records in the order given, each key in a fixed partition,
// offsets counting up per partition from the ones in next.
type feed struct {
	tg   *Target
	next map[int32]int64
}

func newFeed(tg *Target) *feed { return &feed{tg: tg, next: map[int32]int64{}} }

func partitionOf(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % partitions)
}

func (f *feed) rec(key string, value []byte) runner.Record {
	p := partitionOf(key)
	r := runner.Record{Topic: f.tg.Topic, Partition: p, Offset: f.next[p], Key: []byte(key), Value: value, Time: time.Now()}
	f.next[p]++
	return r
}

func (f *feed) puts(keys []string, from, to int) []runner.Record {
	var out []runner.Record
	for v := from; v <= to; v++ {
		for _, k := range keys {
			out = append(out, f.rec(k, f.tg.Put(k, v)))
		}
	}
	return out
}

func keys(tg *Target, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = tg.Key(i)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustApply(t *testing.T, ctx context.Context, tg *Target, b *runner.Batch) {
	t.Helper()
	if err := tg.Sink.Apply(ctx, b); err != nil {
		t.Fatalf("Apply(%d records): %v", len(b.Records), err)
	}
}

func wantState(t *testing.T, ctx context.Context, tg *Target, want map[string]int) {
	t.Helper()
	got, err := tg.State(ctx)
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("target state:\n got %v\nwant %v", got, want)
	}
}

func all(ks []string, v int) map[string]int {
	m := map[string]int{}
	for _, k := range ks {
		m[k] = v
	}
	return m
}

func testOrdering(t *testing.T, h Harness) {
	ctx := ctxT(t)
	tg := h(t, testenv.UniqueTopicPrefix(t))
	f := newFeed(tg)
	ks := keys(tg, 8)
	// Many versions of each key in one batch: the last one wins.
	mustApply(t, ctx, tg, runner.NewBatch(f.puts(ks, 1, 5)))
	wantState(t, ctx, tg, all(ks, 5))
	// Versions spread over several batches, interleaved across partitions.
	recs := f.puts(ks, 6, 9)
	third := len(recs) / 3
	mustApply(t, ctx, tg, runner.NewBatch(recs[:third]))
	mustApply(t, ctx, tg, runner.NewBatch(recs[third:2*third]))
	mustApply(t, ctx, tg, runner.NewBatch(recs[2*third:]))
	wantState(t, ctx, tg, all(ks, 9))
}

func dump(t *testing.T, ctx context.Context, tg *Target) string {
	t.Helper()
	state, err := tg.State(ctx)
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	off, err := tg.Sink.Offsets(ctx)
	if err != nil {
		t.Fatalf("read offsets: %v", err)
	}
	s := fmt.Sprint(state, off)
	if tg.Dump != nil {
		d, err := tg.Dump(ctx)
		if err != nil {
			t.Fatalf("dump target: %v", err)
		}
		s += "\n" + d
	}
	return s
}

func testReplay(t *testing.T, h Harness) {
	ctx := ctxT(t)
	tg := h(t, testenv.UniqueTopicPrefix(t))
	f := newFeed(tg)
	ks := keys(tg, 6)
	b1 := runner.NewBatch(f.puts(ks, 1, 3))
	b2 := runner.NewBatch(f.puts(ks, 4, 6))
	mustApply(t, ctx, tg, b1)
	mustApply(t, ctx, tg, b2)
	before := dump(t, ctx, tg)
	// A crash after the commit replays the last batch; a rebalance can
	// hand an older one to a second instance.
	mustApply(t, ctx, tg, b2)
	mustApply(t, ctx, tg, b1)
	if after := dump(t, ctx, tg); after != before {
		t.Fatalf("replaying applied batches changed the target:\nbefore %s\n after %s", before, after)
	}
	wantState(t, ctx, tg, all(ks, 6))
}

func testDelete(t *testing.T, h Harness) {
	ctx := ctxT(t)
	tg := h(t, testenv.UniqueTopicPrefix(t))
	f := newFeed(tg)
	ks := keys(tg, 4)
	mustApply(t, ctx, tg, runner.NewBatch(f.puts(ks, 1, 1)))
	var recs []runner.Record
	for _, v := range tg.Delete(ks[0]) {
		recs = append(recs, f.rec(ks[0], v))
	}
	mustApply(t, ctx, tg, runner.NewBatch(recs))
	want := all(ks[1:], 1)
	wantState(t, ctx, tg, want)
	// Only the tombstone: what a consumer sees after compaction.
	mustApply(t, ctx, tg, runner.NewBatch([]runner.Record{f.rec(ks[1], nil)}))
	delete(want, ks[1])
	wantState(t, ctx, tg, want)
	// Created again after the delete.
	mustApply(t, ctx, tg, runner.NewBatch([]runner.Record{f.rec(ks[0], tg.Put(ks[0], 2))}))
	want[ks[0]] = 2
	wantState(t, ctx, tg, want)
}

func testOffsets(t *testing.T, h Harness) {
	ctx := ctxT(t)
	tg := h(t, testenv.UniqueTopicPrefix(t))
	f := newFeed(tg)
	ks := keys(tg, 5)
	b := runner.NewBatch(f.puts(ks, 1, 2))
	mustApply(t, ctx, tg, b)
	got, err := tg.Sink.Offsets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b.End) {
		t.Fatalf("offsets after apply: got %v, want %v", got, b.End)
	}
	// A batch with no records (all dead-lettered, or only transaction
	// markers) still moves the offsets.
	moved := b.End.Clone()
	for _, tp := range moved.Partitions() {
		n, _ := moved.Get(tp.Topic, tp.Partition)
		moved.Set(tp.Topic, tp.Partition, n+7)
	}
	mustApply(t, ctx, tg, &runner.Batch{End: moved})
	if got, _ = tg.Sink.Offsets(ctx); !reflect.DeepEqual(got, moved) {
		t.Fatalf("offsets after an empty batch: got %v, want %v", got, moved)
	}
	wantState(t, ctx, tg, all(ks, 2))
}

func testAllOrNothing(t *testing.T, h Harness) {
	ctx := ctxT(t)
	tg := h(t, testenv.UniqueTopicPrefix(t))
	f := newFeed(tg)
	ks := keys(tg, 3)
	before := dump(t, ctx, tg)
	recs := []runner.Record{f.rec(ks[0], tg.Put(ks[0], 1)), f.rec(ks[1], tg.Poison(ks[1])), f.rec(ks[2], tg.Put(ks[2], 1))}
	err := tg.Sink.Apply(ctx, runner.NewBatch(recs))
	if err == nil {
		t.Fatal("Apply of a batch with a poison record succeeded")
	}
	if !runner.IsPermanent(err) {
		t.Fatalf("Apply of a poison record returned a retryable error (the runner would retry it forever): %v", err)
	}
	if after := dump(t, ctx, tg); after != before {
		t.Fatalf("a failed Apply changed the target:\nbefore %s\n after %s", before, after)
	}
}

// testBehind: the runner committed more than the target holds (the target
// lost commits). Apply must write nothing and return a *runner.BehindError
// naming the partitions that are behind and what they store.
func testBehind(t *testing.T, h Harness) {
	ctx := ctxT(t)
	tg := h(t, testenv.UniqueTopicPrefix(t))
	f := newFeed(tg)
	ks := keys(tg, 6)
	first := runner.NewBatch(f.puts(ks, 1, 1))
	first.Start = runner.Offsets{}
	mustApply(t, ctx, tg, first)
	lost := runner.NewBatch(f.puts(ks, 2, 2)) // committed, then lost: never applied here
	next := runner.NewBatch(f.puts(ks, 3, 3))
	next.Start = lost.End.Clone()
	before := dump(t, ctx, tg)
	err := tg.Sink.Apply(ctx, next)
	var be *runner.BehindError
	if !errors.As(err, &be) {
		t.Fatalf("Apply with Start past the stored offsets = %v, want a *runner.BehindError", err)
	}
	if !reflect.DeepEqual(be.Stored, first.End) {
		t.Fatalf("BehindError.Stored = %v, want what the target stores, %v", be.Stored, first.End)
	}
	if after := dump(t, ctx, tg); after != before {
		t.Fatalf("Apply of a batch past a gap changed the target:\nbefore %s\n after %s", before, after)
	}
	next.Start = first.End.Clone() // as the runner does after going back
	lost.Start = first.End.Clone()
	mustApply(t, ctx, tg, lost)
	next.Start = lost.End.Clone()
	mustApply(t, ctx, tg, next)
	wantState(t, ctx, tg, all(ks, 3))
}

// testPartialFailure runs the real runner over a real Kafka: the poison
// record goes to the dead-letter topic with its position and reason, and
// every other record applies.
func testPartialFailure(t *testing.T, h Harness) {
	ctx := ctxT(t)
	prefix := testenv.UniqueTopicPrefix(t)
	tg := h(t, prefix)
	brokers := testenv.KafkaBrokers(t)
	dlq := prefix + "deadletter"
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testenv.CreateTopics(t, int32(partitions), nil, append(append([]string(nil), tg.Topics...), dlq)...)
	ks := keys(tg, 10)
	var recs []*kgo.Record
	want := map[string]int{}
	for i, k := range ks {
		v := tg.Put(k, 1)
		if i == 5 {
			v = tg.Poison(k)
		} else {
			want[k] = 1
		}
		recs = append(recs, &kgo.Record{Topic: tg.Topic, Key: []byte(k), Value: v})
	}
	recs = append(recs, &kgo.Record{Topic: tg.Topic, Key: []byte(ks[0]), Value: tg.Put(ks[0], 2)})
	want[ks[0]] = 2
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	poison := recs[5]

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := runner.New(runner.Config{Group: prefix + "group", MaxWait: 50 * time.Millisecond, Retry: runner.Backoff{Min: 10 * time.Millisecond, Max: 500 * time.Millisecond}},
		tg.Sink, runner.Deps{Name: "conformance", Topics: tg.Topics, DeadLetterTopic: dlq, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
		_ = r.Close(context.Background())
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := tg.State(ctx)
		if err == nil && reflect.DeepEqual(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target never reached the expected state:\n got %v (err %v)\nwant %v", got, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}

	dc, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	var dead []*kgo.Record
	for len(dead) < 1 && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		dead = append(dead, dc.PollFetches(pctx).Records()...)
		cancel()
	}
	if len(dead) != 1 {
		t.Fatalf("dead-letter topic holds %d records, want 1 (the poison record)", len(dead))
	}
	var dl event.DeadLetter
	if err := json.Unmarshal(dead[0].Value, &dl); err != nil {
		t.Fatalf("dead letter is not an event.DeadLetter: %v", err)
	}
	if dl.Stage != runner.StageApply || dl.Topic != poison.Topic || dl.Partition != poison.Partition || dl.Offset != poison.Offset || dl.Reason == "" {
		t.Fatalf("dead letter %+v does not name the poison record %s/%d@%d with a reason", dl, poison.Topic, poison.Partition, poison.Offset)
	}
	if string(dead[0].Key) != string(poison.Key) {
		t.Fatalf("dead letter key %q, want %q", dead[0].Key, poison.Key)
	}
	if st := r.Stats(); st.DeadLetters != 1 {
		t.Fatalf("runner counted %d dead letters, want 1", st.DeadLetters)
	}
}
