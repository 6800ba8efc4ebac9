package runner

import (
	"testing"
	"time"
)

// A batch waits MaxWait from its oldest record's Kafka timestamp: records
// that already waited (a backlog) are cut at once, fresh ones wait the
// rest, and a producer clock off either way never makes a batch wait
// longer than MaxWait or start before MaxWait ago.
func TestBatchStart(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	wait := 100 * time.Millisecond
	at := func(d time.Duration) Record { return Record{Time: now.Add(d)} }
	for _, c := range []struct {
		name string
		recs []Record
		want time.Time
	}{
		{"fresh: waits the rest of MaxWait", []Record{at(-30 * time.Millisecond), at(-10 * time.Millisecond)}, now.Add(-30 * time.Millisecond)},
		{"waited in Kafka past MaxWait: cut now", []Record{at(-10 * time.Millisecond), at(-2 * time.Second)}, now.Add(-wait)},
		{"producer clock ahead: no longer than MaxWait", []Record{at(5 * time.Second)}, now},
		{"no timestamp", []Record{{}}, now},
	} {
		got := batchStart(c.recs, now, wait)
		if !got.Equal(c.want) {
			t.Errorf("%s: batch starts %s, want %s", c.name, got.Sub(now), c.want.Sub(now))
		}
		if left := wait - now.Sub(got); left < 0 || left > wait {
			t.Errorf("%s: waits %s more, want 0..%s", c.name, left, wait)
		}
	}
}
