package capture

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// TestCaptureLargeTransaction: a transaction far larger than capture's
// memory budget spills to disk and is published whole and correct, in one
// Kafka transaction.
func TestCaptureLargeTransaction(t *testing.T) {
	e := newEnv(t)
	e.seed(5)
	_, cat := e.writer()
	c := e.capture(nil, func(cfg *Config) { cfg.MemoryBudget = 1 << 20 })
	e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)

	const n = 4000
	spec := mo.SpecOf(mo.Person)
	objs := make([]store.Object, n)
	want := map[string]string{}
	for i := range objs {
		id := uuid.NewString()
		name := fmt.Sprintf("Stor Transaktion %d", i)
		s, err := writer.Encode(spec, mo.Always, writer.Fields{"user_key": id, "given_name": "Ærlig", "surname": name,
			"cpr_number": fmt.Sprintf("%010d", 101000000+i)}, writer.Context{Organisation: cat.Organisation})
		if err != nil {
			t.Fatal(err)
		}
		objs[i] = store.Object{UUID: id, Meta: store.Meta{Actor: demo.ActorOPUS, Note: "Import"}, State: s}
		want[id] = name
	}
	if err := store.NewWriter(e.pool).CreateMany(context.Background(), lora.Bruger, objs); err != nil {
		t.Fatal(err)
	}
	e.waitCaughtUp(2 * time.Minute)
	got := e.readObjects(1, time.Minute)
	var lsn string
	for _, ev := range got.events {
		name, ok := want[ev.UUID]
		if !ok {
			continue
		}
		if ev.Op != event.Create || ev.Object.Validities[0].Fields["surname"] != name || ev.Object.Validities[0].Fields["given_name"] != "Ærlig" {
			t.Errorf("event %s: %+v", ev.ID, ev.Object)
		}
		if lsn == "" {
			lsn = ev.Source.LSN
		} else if ev.Source.LSN != lsn {
			t.Errorf("events of one source transaction carry different LSNs: %s, %s", lsn, ev.Source.LSN)
		}
		delete(want, ev.UUID)
	}
	if len(want) != 0 {
		t.Errorf("%d of %d persons missing", len(want), n)
	}
	if v := counter(c.metrics.spilledTxns); v < 1 {
		t.Errorf("the transaction did not spill to disk (spilled transactions %v)", v)
	}
	if v := counter(c.metrics.txns); v < 1 {
		t.Errorf("no transactions counted")
	}
}

// TestCaptureLargeOrderedTransaction: a large transaction in OS2mo's call
// pattern (a bulk import calling the procedures in a loop) is published in
// parts with bounded memory; a capture that stops after the second part
// and a new one that resumes publish every record exactly once.
func TestCaptureLargeOrderedTransaction(t *testing.T) {
	e := newEnv(t)
	e.seed(5)
	_, cat := e.writer()
	var commits atomic.Int64
	ctx1, stop1 := context.WithCancel(context.Background())
	first := e.capture(nil, func(cfg *Config) { cfg.MemoryBudget = 1 << 20; cfg.BatchEvents = 300 })
	first.afterCommit = func() {
		if commits.Add(1) == 4 {
			stop1() // stop right after a commit, before anything is confirmed
		}
	}
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx1) }()
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)

	const n = 1500
	tx, err := e.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(store.NewWriter(tx), writer.SQLScopes{DB: tx}, cat.Organisation)
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		id := uuid.NewString()
		if err := w.Create(context.Background(), mo.Person, id, mo.Validity{}, writer.Fields{
			"user_key": id, "given_name": "Import", "surname": fmt.Sprintf("Nr %d", i)}, writer.Meta{Actor: demo.ActorOPUS}); err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("first capture did not stop")
	}
	if counter(first.metrics.batches) < 2 {
		t.Fatalf("the large transaction was not published in parts before the stop")
	}
	e.start(e.capture(nil, func(cfg *Config) { cfg.MemoryBudget = 1 << 20; cfg.BatchEvents = 300 }))
	e.waitCaughtUp(2 * time.Minute)
	got := e.readObjects(1, time.Minute)
	seen := map[string]int{}
	for _, ev := range got.events {
		if want[ev.UUID] {
			seen[ev.UUID]++
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("person %s: %d events, want 1", id, seen[id])
			break
		}
	}
	checkSequences(t, got, e.registrations(context.Background()))
}
