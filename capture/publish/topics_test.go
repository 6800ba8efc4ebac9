package publish_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

// TestCreateTopicsReturnsWhenServed: once CreateTopics returns, every
// partition of every new topic takes a write at once — produced with no
// retry of UNKNOWN_TOPIC_OR_PARTITION, as a loaded broker otherwise
// answers right after creating a topic — and a topic the broker refuses
// is an error naming it, not ignored.
func TestCreateTopicsReturnsWhenServed(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.UnknownTopicRetries(0), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for round := range 3 {
		want := map[string]publish.TopicSpec{}
		for i := range 12 {
			want[fmt.Sprintf("%sr%d.t%d", prefix, round, i)] = publish.TopicSpec{Partitions: 3}
		}
		if err := publish.CreateTopics(ctx, adm, 1, want); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for name := range want {
			for p := range int32(3) {
				recs = append(recs, &kgo.Record{Topic: name, Partition: p, Value: []byte("x")})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("round %d: produce right after CreateTopics: %v", round, err)
		}
	}
	// Existing topics are fine; a name the broker refuses is an error.
	err = publish.CreateTopics(ctx, adm, 1, map[string]publish.TopicSpec{
		prefix + "r0.t0": {Partitions: 3}, prefix + "bad name!": {Partitions: 1}})
	if err == nil || !strings.Contains(err.Error(), "bad name!") {
		t.Fatalf("CreateTopics with an invalid name returned %v", err)
	}
}
