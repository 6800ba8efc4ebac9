package mirror

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// Between two chunks of capture's initial snapshot the mirror has applied
// everything published (lag 0): it says so, and that the snapshot is still
// being published, but "catching up done" only once the snapshot is done.
func TestProgressSaysDoneOnlyAfterTheSnapshot(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var snapshotDone atomic.Bool
	var records atomic.Int64
	stats := func() runner.Stats { return runner.Stats{Records: records.Add(10), Lag: 0, Partitions: 3} }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go progress(ctx, log, stats, false, 10*time.Millisecond, func(context.Context) (bool, error) { return snapshotDone.Load(), nil })

	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), what); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q logged:\n%s", what, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(`capture_snapshot="not done"`)
	if strings.Contains(logs.String(), "catching up done") {
		t.Fatalf("said done while capture's snapshot is being published:\n%s", logs.String())
	}
	snapshotDone.Store(true)
	waitFor(`msg="catching up done: the mirror is up to date"`)
	if n := strings.Count(logs.String(), "catching up done"); n != 1 {
		t.Errorf("catching up done logged %d times, want once:\n%s", n, logs.String())
	}
}
