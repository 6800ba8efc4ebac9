package capture

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// mo returns a writer and the catalog of the seeded store.
func (e *env) writer() (*writer.Writer, *demo.Catalog) {
	e.t.Helper()
	cat, err := demo.LoadCatalog(context.Background(), e.pool, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return writer.New(store.NewWriter(e.pool), writer.SQLScopes{DB: e.pool}, cat.Organisation), cat
}

var actor = writer.Meta{Actor: demo.ActorOS2Sync}

func newEngagement(t *testing.T, w *writer.Writer, cat *demo.Catalog, v mo.Validity) string {
	t.Helper()
	id := uuid.NewString()
	err := w.Create(context.Background(), mo.Engagement, id, v, writer.Fields{
		"user_key": "T-" + id[:8], "person": cat.Persons[0].UUID, "org_unit": cat.Units[0].UUID,
		"engagement_type": cat.Classes[demo.FacetEngagementType][0].UUID,
		"job_function":    cat.Classes[demo.FacetJobFunction][0].UUID,
	}, actor)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func day(t time.Time, add int) mo.Date { return mo.DateOf(t.AddDate(0, 0, add)) }

func ptr(d mo.Date) *mo.Date { return &d }

// TestCaptureTicks: when a validity boundary passes (driven by an injected
// clock), capture emits a tick with the full state of each object whose
// current state changes there — and catches up on days passed while it was
// down.
func TestCaptureTicks(t *testing.T) {
	e := newEnv(t)
	e.seed(20)
	w, cat := e.writer()
	start := time.Now().In(mo.Location)
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }

	hire := newEngagement(t, w, cat, mo.Validity{From: ptr(day(start, 2))})
	leaver := newEngagement(t, w, cat, mo.Validity{From: ptr(day(start, -30)), To: ptr(day(start, 1))})
	steady := newEngagement(t, w, cat, mo.Validity{From: ptr(day(start, -30))})
	later := newEngagement(t, w, cat, mo.Validity{From: ptr(day(start, 6))})

	stop := e.start(e.capture(now, nil))
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)
	clock.Store(start.AddDate(0, 0, 3).UnixNano())
	ticks := e.waitTicks(t, 2, hire, leaver)
	for _, u := range []string{hire, leaver} {
		if ticks[u] != string(day(start, 2)) {
			t.Errorf("tick for %s on %q, want %s", u, ticks[u], day(start, 2))
		}
	}
	if _, ok := ticks[steady]; ok {
		t.Errorf("tick for an engagement without a boundary")
	}
	stop()

	// Down for a week: on restart, capture catches up on the boundary of
	// the engagement that started while it was down.
	clock.Store(start.AddDate(0, 0, 10).UnixNano())
	e.start(e.capture(now, nil))
	ticks = e.waitTicks(t, 1, later)
	if ticks[later] != string(day(start, 6)) {
		t.Errorf("catch-up tick for %s on %q, want %s", later, ticks[later], day(start, 6))
	}
}

// waitTicks reads tick events until it has seen one for every uuid in want.
func (e *env) waitTicks(t *testing.T, _ int, want ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := map[string]string{}
		for _, ev := range e.readObjects(1, 20*time.Second).events {
			if ev.Op == event.Tick {
				if ev.Object == nil || len(ev.Object.Validities) == 0 {
					t.Errorf("tick %s without full state", ev.ID)
				}
				got[ev.UUID] = ev.Day
			}
		}
		all := true
		for _, u := range want {
			if _, ok := got[u]; !ok {
				all = false
			}
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticks %v, want ticks for %v", got, want)
		}
		time.Sleep(time.Second)
	}
}

// TestCaptureReadsAndDeadLetters: access-log inserts become read events; a
// row that cannot become an MO object goes to the dead-letter topic with
// the reason and does not stop the stream; a column added to a LoRa table
// is handled.
func TestCaptureReadsAndDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.seed(20)
	w, cat := e.writer()
	e.start(e.capture(nil, nil))
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)
	ctx := context.Background()

	st := store.NewWriter(e.pool)
	read := []string{cat.Persons[0].UUID, cat.Persons[1].UUID}
	if err := st.RecordRead(ctx, demo.ActorSQLExport, "Bruger", "employees", json.RawMessage(`{"limit":2}`), read); err != nil {
		t.Fatal(err)
	}
	// An organisationfunktion with a funktionsnavn MO does not know.
	bad := uuid.NewString()
	p := mo.Always
	err := st.Create(ctx, lora.Organisationfunktion, bad, store.Meta{Actor: demo.ActorOS2Sync, Note: "x"}, lora.State{
		Egenskaber: []lora.AttrRow{{Period: p, Values: map[string]any{"brugervendtnoegle": "X", "funktionsnavn": "Ukendt"}}},
		Tils:       []lora.TilsRow{{Period: p, Value: "Aktiv"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A column added to a LoRa table.
	if _, err := e.pool.Exec(ctx, `ALTER TABLE actual_state.organisationfunktion_attr_egenskaber ADD COLUMN lokal_note text`); err != nil {
		t.Fatal(err)
	}
	after := newEngagement(t, w, cat, mo.Validity{From: ptr(day(time.Now(), 0))})
	e.waitCaughtUp(time.Minute)

	got := e.readObjects(1, 20*time.Second)
	found := false
	for _, ev := range got.events {
		if ev.UUID == bad {
			t.Errorf("event for the broken object: %+v", ev)
		}
		if ev.UUID == after && ev.Op == event.Create && ev.Object.Validities[0].Fields["person"] == cat.Persons[0].UUID {
			found = true
		}
	}
	if !found {
		t.Errorf("no create event for the engagement written after the bad row and the new column")
	}
	dl := e.readTopic(e.topics.DeadLetter())
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	var d event.DeadLetter
	if err := json.Unmarshal(dl[0].Value, &d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Reason, `unknown funktionsnavn "Ukendt"`) || d.Stage != "build" || d.Registration == 0 {
		t.Errorf("dead letter %+v", d)
	}
	acc := e.readTopic(e.topics.Access())
	if len(acc) != 1 {
		t.Fatalf("%d read events, want 1", len(acc))
	}
	a, err := event.DecodeAccess(acc[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if a.Actor != demo.ActorSQLExport || a.Model != "Bruger" || a.Name != "employees" || strings.Join(a.UUIDs, ",") != strings.Join(read, ",") {
		t.Errorf("read event %+v", a)
	}
}

// readTopic returns every committed record of topic.
func (e *env) readTopic(topic string) []*kgo.Record {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { n++; out = append(out, r) })
		if n == 0 {
			return out
		}
	}
}

// TestCaptureStandby: a second capture on the same slot waits as a standby
// and takes over when the first stops; nothing is missed or doubled.
func TestCaptureStandby(t *testing.T) {
	e := newEnv(t)
	e.seed(20)
	w, cat := e.writer()
	first := e.capture(nil, nil)
	stopFirst := e.start(first)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)
	second := e.capture(nil, nil)
	e.start(second)
	time.Sleep(2 * time.Second)
	if v := gauge(second.metrics.active); v != 0 {
		t.Fatalf("standby reports active=%v", v)
	}
	if v := gauge(first.metrics.active); v != 1 {
		t.Fatalf("first reports active=%v", v)
	}
	a := newEngagement(t, w, cat, mo.Validity{From: ptr(day(time.Now(), 0))})
	e.waitCaughtUp(time.Minute)
	stopFirst()
	b := newEngagement(t, w, cat, mo.Validity{From: ptr(day(time.Now(), 0))})
	e.waitCaughtUp(time.Minute)
	if v := gauge(second.metrics.active); v != 1 {
		t.Errorf("standby did not take over (active=%v)", v)
	}
	got := e.readObjects(1, 20*time.Second)
	seen := map[string]int{}
	for _, ev := range got.events {
		seen[ev.UUID]++
	}
	if seen[a] != 1 || seen[b] != 1 {
		t.Errorf("events for the engagement before the switch: %d, after: %d; want 1 each", seen[a], seen[b])
	}
	checkSequences(t, got, e.registrations(context.Background()))
}
