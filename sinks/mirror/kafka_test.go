package mirror

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

const testPartitions = 3

// kafkaEnv is a private set of MO topics on the test Kafka.
type kafkaEnv struct {
	brokers []string
	topics  event.Topics
	cl      *kgo.Client
	adm     *kadm.Client
}

func newKafkaEnv(t *testing.T) *kafkaEnv { return newKafkaEnvN(t, testPartitions) }

// newKafkaEnvN makes the topics with the given number of partitions.
func newKafkaEnvN(t *testing.T, partitions int32) *kafkaEnv {
	t.Helper()
	prefix := testenv.UniqueTopicPrefix(t)
	k := &kafkaEnv{brokers: testenv.KafkaBrokers(t), topics: event.Topics{Prefix: prefix + "mo"}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	k.cl, k.adm = cl, kadm.NewClient(cl)
	var objects []string
	for _, typ := range Mirrored {
		objects = append(objects, k.topics.Object(typ))
	}
	testenv.CreateTopics(t, int32(partitions), map[string]*string{"cleanup.policy": ptr("compact")}, objects...)
	testenv.CreateTopics(t, 1, nil, k.topics.DeadLetter())
	return k
}

func ptr(s string) *string { return &s }

// msg is one record for an object topic.
type msg struct {
	typ   mo.Type
	uuid  string
	value []byte
}

func put(op event.Op, o *mo.Object) msg { return msg{o.Type, o.UUID, envelope(op, o)} }

// del is a delete event followed by its tombstone.
func del(typ mo.Type, uuid string) []msg {
	return []msg{{typ, uuid, deleteEnvelope(typ, uuid)}, {typ, uuid, nil}}
}

func (k *kafkaEnv) send(t *testing.T, msgs ...msg) {
	t.Helper()
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Topic: k.topics.Object(m.typ), Key: []byte(m.uuid), Value: m.value}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// end returns the end offset of every partition of the mirrored topics.
func (k *kafkaEnv) end(t *testing.T) map[string]map[int32]int64 {
	t.Helper()
	topics := make([]string, len(Mirrored))
	for i, typ := range Mirrored {
		topics[i] = k.topics.Object(typ)
	}
	ends, err := k.adm.ListEndOffsets(context.Background(), topics...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out
}

// waitCaughtUp waits until the target's stored offsets reach the end of
// every partition.
func (k *kafkaEnv) waitCaughtUp(t *testing.T, db *sql.DB, d Dialect, timeout time.Duration) {
	t.Helper()
	end := k.end(t)
	deadline := time.Now().Add(timeout)
	for {
		behind := ""
		stored := map[string]int64{}
		rows, err := db.Query(sqlReadOffsets(d, 0))
		if err == nil {
			for rows.Next() {
				var topic string
				var p int32
				var n int64
				if err := rows.Scan(&topic, &p, &n); err == nil {
					stored[fmt.Sprintf("%s/%d", topic, p)] = n
				}
			}
			rows.Close()
		}
		for topic, parts := range end {
			for p, n := range parts {
				if n > 0 && stored[fmt.Sprintf("%s/%d", topic, p)] < n {
					behind = fmt.Sprintf("%s/%d at %d of %d", topic, p, stored[fmt.Sprintf("%s/%d", topic, p)], n)
				}
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirror did not catch up within %s: %s (err %v)", timeout, behind, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).In(mo.Location) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// runMirror runs cfg's target in-process with Run until the test ends.
func runMirror(t *testing.T, cfg Config, k *kafkaEnv, now func() time.Time) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		done <- Run(ctx, cfg, RunDeps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(k.brokers...)}, Topics: k.topics, Logger: log, Clock: now})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mirror Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// applied is the sum of the offsets stored in the target.
func applied(t *testing.T, db *sql.DB, d Dialect) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(fmt.Sprintf("SELECT SUM(%s) FROM %s", d.Quote("next_offset"), d.Quote(tOffsets))).Scan(&n); err != nil {
		return 0
	}
	return n.Int64
}
