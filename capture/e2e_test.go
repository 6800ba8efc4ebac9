package capture

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// seed writes a small municipality.
func (e *env) seed(persons int) demo.SeedSummary {
	e.t.Helper()
	sum, err := demo.Seed(context.Background(), e.pool, demo.SeedOptions{Seed: 7, Persons: persons})
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// churn makes n changes as fast as possible.
func (e *env) churn(n int, seed int64) demo.ChurnStats {
	e.t.Helper()
	st, err := demo.Churn(context.Background(), e.pool, demo.ChurnOptions{Seed: seed, MaxChanges: n, Workers: 2}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// checkSequences asserts that, per object, the registration ids of the
// events (a snapshot first, when there is one, then every change) are
// exactly the store's registrations from the snapshotted one on: none
// missing, none twice, in order.
func checkSequences(t *testing.T, got consumed, store map[string][]int64) {
	t.Helper()
	perObject := map[string][]*event.Envelope{}
	for _, ev := range got.events {
		if ev.Op == event.Tick {
			continue
		}
		key := mo.SpecOf(ev.Type).Class + "/" + ev.UUID
		perObject[key] = append(perObject[key], ev)
	}
	ids := map[string]bool{}
	for _, ev := range got.events {
		if ids[ev.ID] {
			t.Errorf("event %s published twice", ev.ID)
		}
		ids[ev.ID] = true
	}
	var keys []string
	for k := range store {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		want := store[k]
		evs := perObject[k]
		var have []int64
		var ops []string
		for _, ev := range evs {
			have = append(have, ev.Registration.ID)
			ops = append(ops, string(ev.Op))
		}
		if len(evs) > 0 && evs[0].Op == event.Snapshot {
			// The store's sequence from the snapshotted registration on.
			for i, id := range want {
				if id == have[0] {
					want = want[i:]
					break
				}
			}
		}
		if fmt.Sprint(have) != fmt.Sprint(want) {
			bad++
			if bad < 10 {
				t.Errorf("%s: events for registrations %v (%v), store has %v", k, have, ops, want)
			}
		}
		delete(perObject, k)
	}
	for k, evs := range perObject {
		t.Errorf("%s: %d events for an object the store does not have", k, len(evs))
	}
	if bad > 0 {
		t.Errorf("%d objects differ", bad)
	}
}

// TestCaptureChurnSequences: after a snapshot of a seeded store and random
// churn of every type and change kind, the events read with read_committed
// are, per object, exactly the store's registrations in order.
func TestCaptureChurnSequences(t *testing.T) {
	e := newEnv(t)
	e.seed(60)
	c := e.capture(nil, nil)
	stop := e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(2 * time.Minute)
	st := e.churn(600, 11)
	for _, k := range []string{demo.KindCreate, demo.KindUpdate, demo.KindTerminate, demo.KindDelete} {
		n := 0
		for key, v := range st.Changes {
			if key.Kind == k {
				n += int(v)
			}
		}
		if n == 0 {
			t.Errorf("churn made no %s", k)
		}
	}
	regs := e.registrations(context.Background())
	total := 0
	for _, ids := range regs {
		total += len(ids)
	}
	e.waitCaughtUp(2 * time.Minute)
	got := e.readObjects(len(regs), time.Minute)
	stop()
	checkSequences(t, got, regs)
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters", n)
	}
	deletes := 0
	for _, ev := range got.events {
		if ev.Op == event.Delete {
			deletes++
			if got.tombstones[ev.UUID] == 0 {
				t.Errorf("delete of %s %s without tombstone", ev.Type, ev.UUID)
			}
		}
	}
	if deletes == 0 {
		t.Errorf("no delete events")
	}
	t.Logf("%d objects, %d registrations, %d events, %d deletes", len(regs), total, len(got.events), deletes)
}
