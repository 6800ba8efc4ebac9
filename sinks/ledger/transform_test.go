package ledger

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

func rec(t *testing.T, topic string, part int32, off int64, v any) *kgo.Record {
	t.Helper()
	b, ok := v.([]byte)
	if !ok && v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	return &kgo.Record{Topic: topic, Partition: part, Offset: off, Value: b}
}

func envelope(op event.Op, typ mo.Type, uuid string, regID int64, lsn string) *event.Envelope {
	e := &event.Envelope{
		Version: event.Version, ID: event.ObjectID("organisationfunktion", regID), Op: op, Type: typ, UUID: uuid,
		Source:  event.Source{LSN: lsn, Xid: uint32(regID), CommitTime: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)},
		Changed: []string{"job_function"},
		Object:  &mo.Object{Type: typ, UUID: uuid},
	}
	if op != event.Snapshot && op != event.Tick {
		e.Registration = &event.Registration{ID: regID, Time: time.Date(2024, 3, 1, 9, 0, 0, 1500, time.UTC), Lifecycle: "Rettet", Actor: "a1", Note: "n\xff"}
	}
	return e
}

func TestTransform(t *testing.T) {
	const access = "mo.access"
	upd := envelope(event.Update, mo.Engagement, "u1", 7, "0/10")
	it, err := transform(rec(t, "mo.engagement", 2, 40, upd), access)
	if err != nil || it.entry == nil {
		t.Fatalf("update: %+v %v", it, err)
	}
	want := Entry{
		Kind: KindWrite, Op: "update", Time: "2024-03-01T09:00:00.000001Z", Actor: "a1", Type: "engagement",
		UUIDs: []string{"u1"}, Lifecycle: "Rettet", Changed: []string{"job_function"}, Note: "n\uFFFD",
		Source: Source{LSN: "0/10", Xid: 7, Event: "reg/organisationfunktion/7", Topic: "mo.engagement", Partition: 2, Offset: 40},
	}
	if got, _ := json.Marshal(it.entry); string(got) != mustJSON(t, want) {
		t.Fatalf("entry\n got %s\nwant %s", got, mustJSON(t, want))
	}
	if it.lsn != 0x10 || it.regID != 7 || it.read {
		t.Fatalf("order key %+v", it)
	}

	read := event.Access{Version: 1, ID: "read/op1", Operation: "op1", Time: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC),
		Actor: "a2", Model: "Bruger", Name: "employees", Arguments: json.RawMessage(`{"cpr_numbers":["0101011234"]}`),
		UUIDs: []string{"p1", "p2"}, Source: event.Source{LSN: "1/0", Xid: 9}}
	it, err = transform(rec(t, access, 0, 5, read), access)
	if err != nil || it.entry == nil || it.entry.Kind != KindRead || it.entry.Model != "Bruger" || it.entry.Operation != "employees" ||
		strings.Join(it.entry.UUIDs, ",") != "p1,p2" || it.lsn != 1<<32 || !it.read {
		t.Fatalf("read: %+v %v", it.entry, err)
	}
	if v := mustJSON(t, it.entry); strings.Contains(v, "0101011234") {
		t.Fatalf("read arguments (values) reached the ledger: %s", v)
	}

	for name, r := range map[string]*kgo.Record{
		"snapshot":  rec(t, "mo.person", 0, 1, envelope(event.Snapshot, mo.Person, "p", 1, "0/1")),
		"tick":      rec(t, "mo.person", 0, 2, envelope(event.Tick, mo.Person, "p", 1, "0/1")),
		"tombstone": rec(t, "mo.person", 0, 3, nil),
	} {
		if it, err := transform(r, access); err != nil || it.entry != nil || it.dead != nil {
			t.Errorf("%s must make no entry: %+v %v", name, it, err)
		}
	}

	noReg := envelope(event.Create, mo.Person, "p", 1, "0/1")
	noReg.Registration = nil
	for name, r := range map[string]*kgo.Record{
		"not json":        rec(t, "mo.person", 0, 4, []byte("{oops")),
		"no registration": rec(t, "mo.person", 0, 5, noReg),
		"unknown op":      rec(t, "mo.person", 0, 6, map[string]any{"version": 1, "id": "x", "op": "merge", "type": "person", "uuid": "p"}),
		"unknown type":    rec(t, "mo.person", 0, 7, map[string]any{"version": 1, "id": "x", "op": "create", "type": "dog", "uuid": "p"}),
	} {
		it, err := transform(r, access)
		if err != nil || it.entry != nil || it.dead == nil || it.dead.Stage != "ledger" || it.dead.Offset != r.Offset || !json.Valid(it.dead.Payload) {
			t.Errorf("%s must go to the dead-letter topic: %+v %v", name, it.dead, err)
		}
	}

	_, err = transform(rec(t, "mo.person", 0, 8, map[string]any{"version": event.Version + 1}), access)
	var verr *ErrEventVersion
	if !errors.As(err, &verr) || verr.Offset != 8 {
		t.Fatalf("a newer event version must stop the builder, got %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOrderKeepsPartitionOrder: entries come out by LSN, writes before reads,
// registration id — but never against the order within a partition.
func TestOrderKeepsPartitionOrder(t *testing.T) {
	mk := func(topic string, part int32, off int64, lsn uint64, regID int64, read bool) item {
		return item{entry: &Entry{Source: Source{Topic: topic, Partition: part, Offset: off, Event: topic}}, lsn: lsn, regID: regID, read: read}
	}
	items := []item{
		mk("mo.person", 0, 1, 30, 3, false),
		mk("mo.person", 0, 2, 10, 9, false), // earlier LSN but later in its partition: stays after offset 1
		mk("mo.engagement", 1, 7, 20, 5, false),
		mk("mo.access", 0, 4, 20, 0, true),
		mk("mo.engagement", 0, 1, 20, 4, false),
		{}, // a skipped record
		mk("mo.org_unit", 2, 9, 5, 1, false),
	}
	var got []string
	for _, e := range order(items) {
		got = append(got, e.Source.Topic+"/"+string(rune('0'+e.Source.Partition))+"@"+string(rune('0'+e.Source.Offset)))
	}
	want := "mo.org_unit/2@9 mo.engagement/0@1 mo.engagement/1@7 mo.access/0@4 mo.person/0@1 mo.person/0@2"
	if strings.Join(got, " ") != want {
		t.Fatalf("order\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if parseLSN("16/B374D848") != 0x16B374D848 || parseLSN("bad") != 0 {
		t.Fatal("parseLSN")
	}
}
