package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// mocdcBinary builds this command once per test run.
func mocdcBinary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mocdc-e2e")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "mocdc")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// e2e is a pipeline on the real services: a seeded MO store, capture and
// sinks as mocdc child processes.
type e2e struct {
	t       *testing.T
	dsn     string
	pool    *pgxpool.Pool
	brokers []string
	prefix  string
	slot    string
	dir     string
	config  string
	bin     string
}

func newE2E(t *testing.T, persons int, extra string) *e2e {
	ctx := context.Background()
	e := &e2e{t: t, bin: mocdcBinary(t), dir: t.TempDir(), brokers: testenv.KafkaBrokers(t)}
	e.dsn = testenv.NewPostgresDB(t, "e2e")
	conn, err := store.Connect(ctx, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if e.pool, err = pgxpool.New(ctx, e.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.pool.Close)
	if _, err := demo.Seed(ctx, e.pool, demo.SeedOptions{Seed: 9, Persons: persons}); err != nil {
		t.Fatal(err)
	}
	e.prefix = strings.TrimSuffix(testenv.UniqueTopicPrefix(t), "-")
	e.slot = "e2e_" + strings.ReplaceAll(strings.ToLower(e.prefix), "-", "_")
	if _, _, err := ledger.GenerateKeyPair(e.dir); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(e.dir, "mocdc.yaml")
	cfg := fmt.Sprintf(`store:
  dsn: %s
kafka:
  brokers: [%s]
  topic_prefix: %s
capture:
  slot: %s
  heartbeat: 500ms
  retry_min: 100ms
  retry_max: 1s
  topics:
    partitions: 3
ledger:
  private_key_file: %s/ledger.key
  public_key_file: %s/ledger.pub
  checkpoint_every: 50
  checkpoint_interval: 2s
  group_id: %s-ledger
  transactional_id: %s-ledger
%s`, e.dsn, strings.Join(e.brokers, ","), e.prefix, e.slot, e.dir, e.dir, e.prefix, e.prefix, extra)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// proc is a mocdc child process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (e *e2e) spawn(args ...string) *proc { return e.spawnAs(args[0], args...) }

// spawnAs starts mocdc with args, logging to <name>.log.
func (e *e2e) spawnAs(name string, args ...string) *proc {
	cmd := exec.Command(e.bin, args...)
	logf, err := os.OpenFile(filepath.Join(e.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	e.t.Cleanup(p.kill)
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (e *e2e) kafka() []kgo.Opt { return []kgo.Opt{kgo.SeedBrokers(e.brokers...)} }

// waitSnapshot waits for capture's initial snapshot.
func (e *e2e) waitSnapshot() {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cp, err := publish.ReadCheckpoint(context.Background(), e.kafka(), e.prefix+"._capture.checkpoint", e.slot)
		if err == nil && cp != nil && cp.SnapshotDone {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no initial snapshot within 2 minutes (%v); capture log: %s", err, e.tail("capture"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitCaptured waits until capture has published everything written so far.
func (e *e2e) waitCaptured() {
	ctx := context.Background()
	// The insert position: with synchronous_commit=off a commit may not
	// be written yet, and pg_current_wal_lsn() would be before it.
	var target string
	_ = e.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&target)
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		var ok *bool
		if err := e.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2`, target, e.slot).Scan(&ok); err == nil && ok != nil && *ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("capture did not catch up; log: %s", e.tail("capture"))
}

func (e *e2e) tail(name string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name+".log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// regsAfter returns the registration event ids ("reg/<class>/<id>") with
// ids above the marks, read with plain SQL over the registration tables.
func (e *e2e) regsAfter(marks map[string]int64) map[string]bool {
	out := map[string]bool{}
	for class, mark := range marks {
		rows, err := e.pool.Query(context.Background(), fmt.Sprintf(`SELECT id FROM actual_state.%s_registrering WHERE id > $1`, class), mark)
		if err != nil {
			e.t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			_ = rows.Scan(&id)
			out[event.ObjectID(class, id)] = true
		}
		rows.Close()
	}
	return out
}

func (e *e2e) marks() (map[string]int64, int64) {
	m := map[string]int64{}
	for _, class := range []string{"organisation", "klassifikation", "facet", "klasse", "itsystem", "bruger", "organisationenhed", "organisationfunktion"} {
		var id int64
		_ = e.pool.QueryRow(context.Background(), fmt.Sprintf(`SELECT coalesce(max(id), 0) FROM actual_state.%s_registrering`, class)).Scan(&id)
		m[class] = id
	}
	var reads int64
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM actual_state.access_log_operation`).Scan(&reads)
	return m, reads
}

// TestLedgerEndToEnd: capture and the ledger builder run as processes and
// are killed with SIGKILL again and again while churn with reads runs.
// Afterwards the ledger holds exactly one write entry per registration made
// after the snapshot and one read entry per access-log operation, in source
// order per object, and the chain verifies.
func TestLedgerEndToEnd(t *testing.T) {
	e := newE2E(t, 60, "")
	capture := e.spawn("capture", "--config", e.config)
	builder := e.spawn("sink", "ledger", "--config", e.config)
	e.waitSnapshot()
	marks, readsBefore := e.marks()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	churned := make(chan demo.ChurnStats, 1)
	go func() {
		st, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 4, Rate: 120, MaxChanges: 1200, Workers: 2}, nil)
		if err != nil {
			t.Error(err)
		}
		churned <- st
	}()
	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for running := true; running; {
		select {
		case <-churned:
			running = false
			continue
		case <-time.After(time.Duration(500+rng.IntN(1500)) * time.Millisecond):
		}
		if rng.IntN(2) == 0 {
			capture.kill()
			capture = e.spawn("capture", "--config", e.config)
		} else {
			builder.kill()
			builder = e.spawn("sink", "ledger", "--config", e.config)
		}
		kills++
	}
	e.waitCaptured()
	want := e.regsAfter(marks)
	_, readsAfter := e.marks()
	wantReads := int(readsAfter - readsBefore)

	var recs []*ledger.Record
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var err error
		recs, err = ledger.Query(context.Background(), e.kafka(), e.prefix+".ledger", ledger.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= len(want)+wantReads || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	lc := countLedger(recs, want)
	reads := lc.reads
	if lc.disorder > 0 {
		t.Errorf("%d write entries out of source order per object", lc.disorder)
	}
	missing, dup, seen := lc.missing, lc.dup, make([]struct{}, lc.unknown)
	t.Logf("%d kills; %d write entries (want %d), %d read entries (want %d)", kills, len(recs)-reads, len(want), reads, wantReads)
	if missing > 0 || dup > 0 || len(seen) > 0 {
		t.Errorf("ledger writes: %d missing, %d twice, %d for registrations the store does not have", missing, dup, len(seen))
	}
	if reads != wantReads {
		t.Errorf("%d read entries, want %d (one per access-log operation)", reads, wantReads)
	}
	pub, err := ledger.LoadPublicKey(filepath.Join(e.dir, ledger.PublicKeyName))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.Verify(context.Background(), e.kafka(), e.prefix+".ledger", pub, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Break != nil {
		t.Errorf("ledger does not verify: %+v", rep.Break)
	}
}

// ledgerCount is what the ledger's entries say against the registrations
// the store has: per registration exactly one write entry, in source order
// per object; reads counted.
type ledgerCount struct{ missing, dup, unknown, reads, disorder int }

// countLedger checks the entries recs against want, the event ids
// ("reg/<class>/<id>") of the registrations written.
func countLedger(recs []*ledger.Record, want map[string]bool) ledgerCount {
	var c ledgerCount
	seen := map[string]int{}
	lastReg := map[string]int64{}
	for _, r := range recs {
		en := r.Entry
		if en.Kind == "read" {
			c.reads++
			continue
		}
		seen[en.Source.Event]++
		var class string
		var id int64
		fmt.Sscanf(strings.ReplaceAll(en.Source.Event, "/", " "), "reg %s %d", &class, &id)
		if len(en.UUIDs) > 0 {
			if id <= lastReg[en.UUIDs[0]] {
				c.disorder++
			}
			lastReg[en.UUIDs[0]] = id
		}
	}
	for id := range want {
		switch seen[id] {
		case 0:
			c.missing++
		case 1:
		default:
			c.dup++
		}
		delete(seen, id)
	}
	c.unknown = len(seen)
	return c
}
