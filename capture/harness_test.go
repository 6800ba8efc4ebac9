package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

// env is one test's MO store and Kafka topics.
type env struct {
	t       *testing.T
	dsn     string
	pool    *pgxpool.Pool
	brokers []string
	topics  event.Topics
	slot    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dsn := testenv.NewPostgresDB(t, "capture")
	conn, err := store.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	prefix := strings.TrimSuffix(testenv.UniqueTopicPrefix(t), "-")
	return &env{
		t: t, dsn: dsn, pool: pool, brokers: testenv.KafkaBrokers(t),
		topics: event.Topics{Prefix: prefix},
		slot: "s_" + strings.ToLower(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, prefix)),
	}
}

// capture returns a Capture on the env with test-friendly settings.
func (e *env) capture(now func() time.Time, mutate func(*Config)) *Capture {
	e.t.Helper()
	replCfg, err := pgconn.ParseConfig(e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := Config{Slot: e.slot, Publication: "mocdc", Heartbeat: 200 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}
	cfg.Topics.Partitions = 3
	if mutate != nil {
		mutate(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("MOCDC_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	c, err := New(cfg, Deps{
		Pool: e.pool, ReplicationConfig: replCfg,
		KafkaOpts: []kgo.Opt{kgo.SeedBrokers(e.brokers...)},
		Topics:    e.topics,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Now:       now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// start runs c until the test ends (or stop is called).
func (e *env) start(c *Capture) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("capture: %v", err)
			}
		case <-time.After(30 * time.Second):
			e.t.Errorf("capture did not stop within 30 s")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// consumed is what a read_committed reader saw on the object topics.
type consumed struct {
	events []*event.Envelope
	// tombstones per uuid
	tombstones map[string]int
}

// readObjects reads every object topic from the start with read_committed
// until it has seen at least want events (or the deadline passes), then
// keeps reading until nothing more arrives for a moment.
func (e *env) readObjects(want int, within time.Duration) consumed {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...),
		kgo.ConsumeTopics(e.topics.Objects()...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	out := consumed{tombstones: map[string]int{}}
	quietSince := time.Now()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if r.Value == nil {
				out.tombstones[string(r.Key)]++
				return
			}
			ev, err := event.Decode(r.Value)
			if err != nil {
				e.t.Fatalf("undecodable event on %s: %v", r.Topic, err)
			}
			out.events = append(out.events, ev)
		})
		if n > 0 {
			quietSince = time.Now()
		}
		if len(out.events) >= want && time.Since(quietSince) > 1500*time.Millisecond {
			return out
		}
		if ctx.Err() != nil {
			return out
		}
	}
}

// deadLetters counts records on the dead-letter topic.
func (e *env) deadLetters() int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), e.topics.DeadLetter())
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// registrations returns, per object uuid, the ids of its registrations in
// order, read with plain SQL over the registration tables: the oracle the
// event stream is compared with.
func (e *env) registrations(ctx context.Context) map[string][]int64 {
	e.t.Helper()
	out := map[string][]int64{}
	for _, class := range []string{"organisation", "klassifikation", "facet", "klasse", "itsystem", "bruger", "organisationenhed", "organisationfunktion"} {
		rows, err := e.pool.Query(ctx, fmt.Sprintf(`SELECT %s_id::text, id FROM actual_state.%s_registrering ORDER BY id`, class, class))
		if err != nil {
			e.t.Fatal(err)
		}
		for rows.Next() {
			var u string
			var id int64
			if err := rows.Scan(&u, &id); err != nil {
				e.t.Fatal(err)
			}
			out[class+"/"+u] = append(out[class+"/"+u], id)
		}
		rows.Close()
	}
	return out
}

var errTimeout = errors.New("timeout")

// waitCaughtUp waits until the slot's confirmed position (which capture
// moves only after Kafka committed) passes the store's current WAL end.
func (e *env) waitCaughtUp(within time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		cp, err := publish.ReadCheckpoint(ctx, []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, e.topics.Checkpoint(), e.slot)
		if err == nil && cp != nil && cp.SnapshotDone {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("initial snapshot not done within %s (%v)", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The insert position, not pg_current_wal_lsn() (the write position):
	// with synchronous_commit=off (the test cluster) a transaction that
	// has just committed may not be written yet, and a heartbeat before
	// its commit would pass for caught up (TestCaptureLargeTransaction
	// under load).
	var target string
	if err := e.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&target); err != nil {
		e.t.Fatal(err)
	}
	for time.Now().Before(deadline) {
		var ok *bool
		if err := e.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2`, target, e.slot).Scan(&ok); err == nil && ok != nil && *ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("capture did not reach WAL position %s within %s", target, within)
}

// waitSlot waits until capture has created its slot.
func (e *env) waitSlot(within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, e.slot).Scan(&n); err == nil && n == 1 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("capture did not create slot %s within %s", e.slot, within)
}

func gauge(g interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = g.Write(&m)
	return m.GetGauge().GetValue()
}

func counter(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}
