package publish_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

// TestReadCheckpointNilOnlyWhenNoneIsThere: ReadCheckpoint returns nil for
// a topic that holds no checkpoint of the slot, the last checkpoint when
// there is one, and an error — never nil, which makes capture drop its
// slot — when the slot's record does not decode or the topic is missing.
func TestReadCheckpointNilOnlyWhenNoneIsThere(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	prefix := testenv.UniqueTopicPrefix(t)
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.KafkaBrokers(t)...)}
	topic := prefix + "checkpoint"
	testenv.CreateTopics(t, 1, nil, topic)

	if cp, err := publish.ReadCheckpoint(ctx, opts, topic, "s1"); err != nil || cp != nil {
		t.Fatalf("empty topic: got %+v, %v; want nil, nil", cp, err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.TransactionalID(prefix+"txn"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pub := publish.New(topic, cl)
	if err := pub.Publish(ctx, publish.Batch{Checkpoint: publish.Checkpoint{Slot: "other", LSN: 7}}); err != nil {
		t.Fatal(err)
	}
	if cp, err := publish.ReadCheckpoint(ctx, opts, topic, "s1"); err != nil || cp != nil {
		t.Fatalf("only another slot's checkpoint: got %+v, %v; want nil, nil", cp, err)
	}
	if err := pub.Publish(ctx, publish.Batch{Checkpoint: publish.Checkpoint{Slot: "s1", LSN: 42, SnapshotDone: true}}); err != nil {
		t.Fatal(err)
	}
	cp, err := publish.ReadCheckpoint(ctx, opts, topic, "s1")
	if err != nil || cp == nil || cp.LSN != 42 || !cp.SnapshotDone {
		t.Fatalf("got %+v, %v; want LSN 42, snapshot done", cp, err)
	}

	// A record under the slot's key that is not a checkpoint.
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("s1"), Value: []byte("not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	cp, err = publish.ReadCheckpoint(ctx, opts, topic, "s1")
	if err == nil || !strings.Contains(err.Error(), "does not decode") {
		t.Fatalf("undecodable checkpoint: got %+v, %v; want an error", cp, err)
	}

	cp, err = publish.ReadCheckpoint(ctx, opts, prefix+"missing", "s1")
	if err == nil {
		t.Fatalf("missing topic: got %+v, nil; want an error", cp)
	}
}
