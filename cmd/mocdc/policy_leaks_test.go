package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The leak search of TestPolicyEndToEnd: every record of every topic, read
// to its end, searched for the sensitive classes.

// readTopics reads every record of every topic of the test's prefix;
// settle waits first for the sinks' topics to stop growing.
func readTopics(t *testing.T, e *e2e, settle bool) map[string][]*kgo.Record {
	t.Helper()
	ctx := context.Background()
	cl, err := kgo.NewClient(e.kafka()...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range listed.Names() {
		if strings.HasPrefix(n, e.prefix+".") {
			names = append(names, n)
		}
	}
	// The ledger builder lags a little: wait until it has caught up
	// (its topic stops growing) before reading.
	ends := func() kadm.ListedOffsets {
		o, err := adm.ListEndOffsets(ctx, names...)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	end := ends()
	for deadline := time.Now().Add(90 * time.Second); settle && time.Now().Before(deadline); {
		time.Sleep(3 * time.Second)
		next := ends()
		same := true
		next.Each(func(o kadm.ListedOffset) {
			if p, ok := end.Lookup(o.Topic, o.Partition); !ok || p.Offset != o.Offset {
				same = false
			}
		})
		end = next
		if same {
			break
		}
	}
	rd, err := kgo.NewClient(append(e.kafka(), kgo.ConsumeTopics(names...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := map[string][]*kgo.Record{}
	pending := map[string]map[int32]int64{}
	end.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if pending[o.Topic] == nil {
				pending[o.Topic] = map[int32]int64{}
			}
			pending[o.Topic][o.Partition] = o.Offset
		}
	})
	done := func() bool {
		for _, ps := range pending {
			if len(ps) > 0 {
				return false
			}
		}
		return true
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !done() {
		fs := rd.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("could not read every topic to its end: %v left", pending)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if !r.Attrs.IsControl() {
					out[r.Topic] = append(out[r.Topic], r)
				}
				if e, ok := pending[r.Topic][r.Partition]; ok && r.Offset >= e-1 {
					delete(pending[r.Topic], r.Partition)
				}
			}
		})
	}
	return out
}

// leak reports the sensitive strings s contains.
func leak(s string) []string {
	l := strings.ToLower(s)
	var out []string
	for _, c := range sensitiveClasses {
		for _, x := range []string{c.uuid, c.userKey, c.name} {
			if strings.Contains(l, strings.ToLower(x)) {
				out = append(out, x)
			}
		}
	}
	return out
}

func checkNoLeaks(t *testing.T, e *e2e, topics map[string][]*kgo.Record) {
	t.Helper()
	tp := event.Topics{Prefix: e.prefix}
	classUUID := map[string]bool{}
	for _, c := range sensitiveClasses {
		classUUID[c.uuid] = true
	}
	total, allowed := 0, 0
	for topic, recs := range topics {
		for _, r := range recs {
			total++
			found := leak(string(r.Key) + " " + string(r.Value))
			if len(found) == 0 {
				continue
			}
			// Where a sensitive class may be named: the class itself
			// (its own event, its ledger write entry, a read of classes),
			// and the snapshot's resume position among the classes.
			var head struct {
				Type  string `json:"type"`
				Model string `json:"model"`
				UUIDs []string
			}
			_ = json.Unmarshal(r.Value, &head)
			switch {
			case topic == tp.Object(mo.Class) && classUUID[string(r.Key)]:
			case topic == tp.Access() && head.Model == "Klasse":
			case topic == tp.Ledger() && (head.Type == "class" || head.Model == "Klasse"):
			case topic == tp.Checkpoint() && !strings.Contains(string(r.Value), "organisationfunktion"):
			default:
				t.Errorf("%s@%d/%d carries %v: %.400s", topic, r.Partition, r.Offset, found, r.Value)
				continue
			}
			allowed++
		}
	}
	if total < 1000 || len(topics[tp.Ledger()]) == 0 || len(topics[tp.Access()]) == 0 {
		t.Errorf("read only %d records (%d ledger, %d access): the test saw too little", total, len(topics[tp.Ledger()]), len(topics[tp.Access()]))
	}
	t.Logf("searched %d records of %d topics; %d name a sensitive class by itself", total, len(topics), allowed)
}
