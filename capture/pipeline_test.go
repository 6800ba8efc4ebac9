package capture

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// TestCapturePipelinesSlowCommits: every Kafka commit is slow (franz-go's
// kfake cluster holds each EndTxn 150 ms) and, once the snapshot is out, every
// 5th is refused after the hold. Capture goes on reading and collecting source transactions
// while a commit is held (the pipeline), yet confirms to PostgreSQL only
// what Kafka committed and publishes nothing after a refused commit: a
// position confirmed too early would make the restart skip the refused
// batch's changes, and an early next batch would publish them out of
// order. Every change arrives once, in order — with one transactional
// producer and with two taking the transactions in turn.
func TestCapturePipelinesSlowCommits(t *testing.T) {
	for _, producers := range []int{1, 2} {
		t.Run(fmt.Sprintf("producers=%d", producers), func(t *testing.T) { pipelineSlowCommits(t, producers) })
	}
}

func pipelineSlowCommits(t *testing.T, producers int) {
	e := newEnv(t)
	e.seed(30)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	e.brokers = cluster.ListenAddrs()

	var c *Capture
	var ready atomic.Bool // c is set
	var armed atomic.Bool // the snapshot is out: refuse commits from now on
	var commits, refused, readWhileHeld atomic.Int64
	cluster.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		var before float64
		if ready.Load() {
			before = counter(c.metrics.txns)
		}
		cluster.SleepControl(func() { time.Sleep(150 * time.Millisecond) })
		if ready.Load() && counter(c.metrics.txns) > before {
			readWhileHeld.Add(1)
		}
		if r := req.(*kmsg.EndTxnRequest); r.Commit && armed.Load() && commits.Add(1)%5 == 0 {
			refused.Add(1)
			resp := r.ResponseKind().(*kmsg.EndTxnResponse)
			resp.ErrorCode = kerr.UnknownServerError.Code
			return resp, nil, true
		}
		return nil, nil, false
	})

	c = e.capture(nil, func(cfg *Config) { cfg.BatchEvents = 40; cfg.KafkaProducers = producers })
	ready.Store(true)
	e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(2 * time.Minute)
	armed.Store(true)
	if _, err := demo.Churn(context.Background(), e.pool, demo.ChurnOptions{Seed: 11, Rate: 100, MaxChanges: 200}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaughtUp(3 * time.Minute)
	if refused.Load() == 0 || counter(c.metrics.restarts) == 0 {
		t.Fatalf("no commit was refused (%d) or capture never restarted (%.0f): the test did not test", refused.Load(), counter(c.metrics.restarts))
	}
	if readWhileHeld.Load() == 0 {
		t.Errorf("capture collected no source transaction while a Kafka commit was held: publishing is not pipelined with reading")
	}
	got := e.readObjects(1, time.Minute)
	checkSequences(t, got, e.registrations(context.Background()))
	t.Logf("%d commits, %d refused, %d held commits with reading going on, %.0f restarts, %.0f source transactions in %.0f Kafka transactions",
		commits.Load(), refused.Load(), readWhileHeld.Load(), counter(c.metrics.restarts), counter(c.metrics.txns), counter(c.metrics.batches))
}

// TestCaptureTwoProducers: with capture.kafka_producers 2 on the real
// broker (two transactional ids taking the Kafka transactions in turn),
// the snapshot and 300 changes arrive once each, in order.
func TestCaptureTwoProducers(t *testing.T) {
	e := newEnv(t)
	e.seed(60)
	c := e.capture(nil, func(cfg *Config) { cfg.KafkaProducers = 2 })
	stop := e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(2 * time.Minute)
	e.churn(300, 11)
	regs := e.registrations(context.Background())
	e.waitCaughtUp(2 * time.Minute)
	got := e.readObjects(len(regs), time.Minute)
	stop()
	checkSequences(t, got, regs)
	// Both transactional producers wrote checkpoints.
	rd, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeTopics(e.topics.Checkpoint()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	producers := map[int64]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(producers) < 2 && ctx.Err() == nil {
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) { producers[r.ProducerID] = true })
	}
	if len(producers) < 2 {
		t.Errorf("checkpoints from %d transactional producer(s), want 2", len(producers))
	}
}
