package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

func testKey(t testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// publishMany publishes n synthetic source transactions; about one in ten is
// aborted and one in thirty abandoned by a "killed capture".
func publishMany(t testing.TB, ctx context.Context, p *producer, s *synth, n int) {
	t.Helper()
	for i := range n {
		recs, done := s.txn(t)
		end := commitTxn
		switch {
		case i%30 == 29:
			end = abandonTxn
		case i%10 == 9:
			end = abortTxn
		}
		if err := p.publish(ctx, recs, end); err != nil {
			t.Fatalf("publish transaction %d: %v", i, err)
		}
		done(end == commitTxn)
	}
}

// TestBuilderAppendsOneEntryPerWriteAndRead: events published before and
// while the builder runs, across seven types and three partitions each,
// become exactly one entry per committed registration and read — none for
// snapshots, ticks, tombstones or aborted transactions — in source order
// per object, with actor names, and the ledger verifies. A restart appends
// nothing new.
func TestBuilderAppendsOneEntryPerWriteAndRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	env := newKafkaEnv(t)
	s := newSynth(env.topics, 1, 60)
	p := newProducer(t, env)
	if err := p.publish(ctx, s.initial(t), commitTxn); err != nil {
		t.Fatal(err)
	}
	publishMany(t, ctx, p, s, 150)

	priv, pub := testKey(t)
	reg := prometheus.NewRegistry()
	stop := start(t, env.newBuilder(t, builderConfig(), priv, reg))
	publishMany(t, ctx, p, s, 150) // while it runs
	recs := env.waitEntries(t, len(s.want), 2*time.Minute)
	env.checkLedger(t, s, recs, pub)

	var writes, reads int
	for _, w := range s.want {
		if w.kind == KindWrite {
			writes++
		} else {
			reads++
		}
	}
	if writes < 300 || reads < 50 || len(s.noEntry) < 40 {
		t.Fatalf("synthetic load too small to mean much: %d writes, %d reads, %d without entry", writes, reads, len(s.noEntry))
	}
	if w := metricValue(t, reg, "mocdc_ledger_entries_total", "write"); int(w) != writes {
		t.Errorf("mocdc_ledger_entries_total{kind=write} = %v, want %d", w, writes)
	}
	if r := metricValue(t, reg, "mocdc_ledger_entries_total", "read"); int(r) != reads {
		t.Errorf("mocdc_ledger_entries_total{kind=read} = %v, want %d", r, reads)
	}
	if h := metricValue(t, reg, "mocdc_ledger_head_sequence", ""); uint64(h) != recs[len(recs)-1].Sequence() {
		t.Errorf("mocdc_ledger_head_sequence = %v, ledger ends at %d", h, recs[len(recs)-1].Sequence())
	}
	// Caught up, the consume lag is 0: the transaction markers after the
	// last records are stepped over, not counted as records to consume.
	for deadline := time.Now().Add(time.Minute); ; {
		lag := metricValue(t, reg, "mocdc_ledger_consume_lag_records", "")
		if lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("mocdc_ledger_consume_lag_records = %v a minute after the builder caught up, want 0", lag)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()

	// A restart resumes from the committed offsets: nothing is appended
	// twice (a checkpoint that signs the head is all it may add).
	before := len(env.readLedger(t))
	stop = start(t, env.newBuilder(t, builderConfig(), priv, nil))
	time.Sleep(3 * time.Second)
	stop()
	after := env.readLedger(t)
	for _, r := range after[before:] {
		if r.Entry != nil {
			t.Fatalf("restart appended entry %d (%s) again", r.Entry.Sequence, r.Entry.Source.Event)
		}
	}
	env.checkLedger(t, s, after, pub)
}

// metricValue returns the value of a counter or gauge; kind selects the
// "kind" label when set.
func metricValue(t *testing.T, reg prometheus.Gatherer, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := kind == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == "kind" && l.GetValue() == kind
			}
			if !match {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{kind=%q} not found", name, kind)
	return 0
}

// TestSecondBuilderFencesTheFirst: only one builder may write; a second
// with the same configuration takes over and the first stops with an error
// that says so. The ledger stays one chain.
func TestSecondBuilderFencesTheFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	env := newKafkaEnv(t)
	s := newSynth(env.topics, 2, 30)
	p := newProducer(t, env)
	if err := p.publish(ctx, s.initial(t), commitTxn); err != nil {
		t.Fatal(err)
	}
	publishMany(t, ctx, p, s, 40)
	priv, pub := testKey(t)

	first := env.newBuilder(t, builderConfig(), priv, nil)
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Run(ctx) }()
	env.waitEntries(t, len(s.want), time.Minute)

	start(t, env.newBuilder(t, builderConfig(), priv, nil))
	select {
	case err := <-firstDone:
		if err == nil || !strings.Contains(err.Error(), "took over") {
			t.Fatalf("first builder after the second started: %v", err)
		}
		t.Logf("first builder stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("first builder still runs two minutes after a second one started")
	}
	publishMany(t, ctx, p, s, 40)
	env.checkLedger(t, s, env.waitEntries(t, len(s.want), time.Minute), pub)
}

// TestBuilderRefusesAWrongLedgerTopic: a ledger topic with two partitions,
// or with a retention, is refused with what to do.
func TestBuilderRefusesAWrongLedgerTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	env := newKafkaEnv(t)
	cl, err := kgo.NewClient(env.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	testenv.CreateTopics(t, 2, nil, env.topics.Ledger())
	priv, _ := testKey(t)
	err = env.newBuilder(t, builderConfig(), priv, nil).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "has 2 partitions") {
		t.Fatalf("two partitions: %v", err)
	}
	other := env.topics.Prefix + ".ledger-retained"
	testenv.CreateTopics(t, 1, map[string]*string{"retention.ms": ptr("604800000")}, other)
	err = EnsureTopic(ctx, adm, other, 1)
	if err == nil || !strings.Contains(err.Error(), "retention.ms=604800000") {
		t.Fatalf("retention: %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// TestBuilderFinishesTheOpenBatchWhenStopped: stopping the builder (its
// context cancelled, as on SIGTERM) between producing a batch and committing
// it — ten times over while events keep coming — neither loses nor
// duplicates anything: the open batch is committed, Run returns nil.
func TestBuilderFinishesTheOpenBatchWhenStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	env := newKafkaEnv(t)
	s := newSynth(env.topics, 4, 40)
	p := newProducer(t, env)
	if err := p.publish(ctx, s.initial(t), commitTxn); err != nil {
		t.Fatal(err)
	}
	priv, pub := testKey(t)
	committedBefore := 0
	for round := range 10 {
		publishMany(t, ctx, p, s, 20)
		b := env.newBuilder(t, builderConfig(), priv, nil)
		runCtx, stop := context.WithCancel(ctx)
		b.afterFlush = stop // stop in the middle of the first transaction
		if err := b.Run(runCtx); err != nil {
			t.Fatalf("round %d: Run after stop: %v", round, err)
		}
		stop()
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		n := len(env.readLedger(t))
		if n <= committedBefore {
			t.Fatalf("round %d: the batch open when the builder was stopped was not committed (%d records before, %d after)", round, committedBefore, n)
		}
		committedBefore = n
	}
	stop := start(t, env.newBuilder(t, builderConfig(), priv, nil))
	recs := env.waitEntries(t, len(s.want), time.Minute)
	stop()
	env.checkLedger(t, s, recs, pub)
}
