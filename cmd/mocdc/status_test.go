package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// statusEnv is a small installation for `mocdc status`: the mirrored
// topics, a replication slot in a database of its own, a PostgreSQL and a
// MariaDB mirror target and a transactional producer that writes person
// events the way capture does (one Kafka transaction per batch, so every
// batch leaves a commit marker in each partition it wrote).
type statusEnv struct {
	t       *testing.T
	brokers []string
	topics  event.Topics
	slot    string
	moDSN   string
	targets map[string]string // mirror name → DSN
	dialect map[string]string
	prod    *kgo.Client
	n       int // persons produced so far
}

func newStatusEnv(t *testing.T, ctx context.Context) *statusEnv {
	e := &statusEnv{t: t, brokers: testenv.KafkaBrokers(t)}
	prefix := testenv.UniqueTopicPrefix(t)
	e.topics = event.Topics{Prefix: prefix + "mo"}
	e.moDSN = testenv.NewPostgresDB(t, "statusmo")
	e.targets = map[string]string{"pg": testenv.NewPostgresDB(t, "statusmirror"), "maria": testenv.NewMySQLDB(t, "statusmirror")}
	e.dialect = map[string]string{"pg": "postgres", "maria": "mysql"}

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, typ := range mirror.Mirrored {
		testenv.CreateTopics(t, 2, nil, e.topics.Object(typ))
	}
	testenv.CreateTopics(t, 1, nil, e.topics.DeadLetter())
	e.prod, err = kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.TransactionalID(prefix+"status-producer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.prod.Close)

	// The slot: testenv drops it with its database.
	conn, err := pgx.Connect(ctx, e.moDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	e.slot = "status_" + strings.ReplaceAll(strings.TrimSuffix(prefix, "-"), "-", "_")
	if _, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, e.slot); err != nil {
		t.Fatal(err)
	}
	// WAL after the slot's position, so that it lags.
	if _, err := conn.Exec(ctx, `CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 2000) g`); err != nil {
		t.Fatal(err)
	}
	return e
}

// config writes a configuration with the two mirrors, the ledger (whose
// builder never runs here) and, when down is set, a third mirror whose
// database does not answer.
func (e *statusEnv) config(down bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "store:\n  dsn: %s\nkafka:\n  brokers: [%s]\n  topic_prefix: %s\ncapture:\n  slot: %s\n", e.moDSN, strings.Join(e.brokers, ","), e.topics.Prefix, e.slot)
	fmt.Fprintf(&b, "ledger:\n  private_key_file: /nonexistent/ledger.key\n  group_id: %s-ledger\nmirrors:\n", e.topics.Prefix)
	for _, name := range []string{"pg", "maria"} {
		fmt.Fprintf(&b, "  - name: %s\n    dialect: %s\n    dsn: %q\n    group: %s-%s\n    session_timeout: 6s\n    batch: {max_wait: 20ms}\n",
			name, e.dialect[name], e.targets[name], e.topics.Prefix, name)
	}
	if down {
		b.WriteString("  - name: down\n    dialect: postgres\n    dsn: postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=3\n")
	}
	path := filepath.Join(e.t.TempDir(), "mocdc.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// produce writes n person events in txns Kafka transactions; their MO
// commit times are commit, commit+1ms, …
func (e *statusEnv) produce(ctx context.Context, n, txns int, commit time.Time) {
	d := mo.Date("1990-01-01")
	per := n / txns
	for tx := 0; tx < txns; tx++ {
		if err := e.prod.BeginTransaction(); err != nil {
			e.t.Fatal(err)
		}
		for i := 0; i < per; i++ {
			uuid := fmt.Sprintf("00000000-0000-4000-8000-%012d", e.n)
			env := &event.Envelope{Version: event.Version, ID: "status/" + uuid, Op: event.Create, Type: mo.Person, UUID: uuid,
				Source: event.Source{CommitTime: commit.Add(time.Duration(e.n) * time.Millisecond)}, Changed: []string{},
				Object: &mo.Object{Type: mo.Person, UUID: uuid, Validities: []mo.Version{{Validity: mo.Validity{From: &d},
					Fields: map[string]any{"user_key": uuid[24:], "given_name": "Åse", "surname": fmt.Sprint(e.n)}}}}}
			v, err := env.Marshal()
			if err != nil {
				e.t.Fatal(err)
			}
			if err := e.prod.ProduceSync(ctx, &kgo.Record{Topic: e.topics.Object(mo.Person), Key: []byte(uuid), Value: v}).FirstErr(); err != nil {
				e.t.Fatal(err)
			}
			e.n++
		}
		if err := e.prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
			e.t.Fatal(err)
		}
	}
}

// runMirrors runs both mirror targets in this process until each holds
// want persons, then stops them (as SIGTERM would).
func (e *statusEnv) runMirrors(ctx context.Context, cfgPath string, want int) {
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		e.t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, name := range []string{"pg", "maria"} {
		mc, err := mirrorTarget(cfg, name, os.ReadFile)
		if err != nil {
			e.t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- mirror.Run(runCtx, mc, mirror.RunDeps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, Topics: e.topics,
				Logger: slog.New(slog.DiscardHandler)})
		}()
	}
	for name, dsn := range e.targets {
		driver := map[string]string{"postgres": "pgx", "mysql": "mysql"}[e.dialect[name]]
		db, err := sql.Open(driver, dsn)
		if err != nil {
			e.t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM brugere`).Scan(&n)
			if err == nil && n == want {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("mirror %s holds %d persons (%v), want %d", name, n, err, want)
			}
		}
		db.Close()
	}
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			e.t.Fatalf("mirror: %v", err)
		}
	}
}

// status runs `mocdc status --json` and `mocdc status` on cfgPath.
func (e *statusEnv) status(ctx context.Context, cfgPath string) (*Status, string, error) {
	var js, table bytes.Buffer
	err := runStatus(ctx, []string{"--config", cfgPath, "--json"}, &js)
	var st Status
	if jerr := json.Unmarshal(js.Bytes(), &st); jerr != nil {
		e.t.Fatalf("status --json: %v\n%s", jerr, js.String())
	}
	terr := runStatus(ctx, []string{"--config", cfgPath}, &table)
	if (err == nil) != (terr == nil) {
		e.t.Errorf("status --json returned %v, status %v", err, terr)
	}
	return &st, table.String(), err
}

func sinkOf(t *testing.T, st *Status, name string) SinkStatus {
	t.Helper()
	for _, s := range st.Sinks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %s in %+v", name, st.Sinks)
	return SinkStatus{}
}

// kvittering reads MAX(query_tid) from a target with SQL of its own, as
// Europe/Copenhagen wall-clock text.
func (e *statusEnv) kvittering(ctx context.Context, name string) string {
	q := map[string]string{
		"postgres": `SELECT to_char(MAX(query_tid), 'YYYY-MM-DD HH24:MI:SS.US') FROM kvittering`,
		"mysql":    `SELECT DATE_FORMAT(MAX(query_tid), '%Y-%m-%d %H:%i:%s.%f') FROM kvittering`,
	}[e.dialect[name]]
	driver := map[string]string{"postgres": "pgx", "mysql": "mysql"}[e.dialect[name]]
	db, err := sql.Open(driver, e.targets[name])
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRowContext(ctx, q).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// slotLag reads the slot's confirmed position and lag with plain SQL.
func (e *statusEnv) slotLag(ctx context.Context) (string, int64) {
	conn, err := pgx.Connect(ctx, e.moDSN)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var lsn string
	var lag int64
	if err := conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, e.slot).Scan(&lsn, &lag); err != nil {
		e.t.Fatal(err)
	}
	return lsn, lag
}

// TestStatus: `mocdc status` against real services reports what a user
// would check by hand — the slot's position and lag as
// pg_replication_slots has them; per sink the number of records not yet
// applied (not the offset difference, which also counts a commit marker
// per Kafka transaction); the mirror's freshness as its kvittering table
// has it — and an unreachable target as an error in its own row, with the
// other rows still there and exit code 1.
func TestStatus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newStatusEnv(t, ctx)
	okCfg, downCfg := e.config(false), e.config(true)

	// Phase 1: 8 persons in two transactions, all applied by both mirrors.
	commit1 := time.Now().Add(-90 * time.Second).Truncate(time.Millisecond)
	e.produce(ctx, 8, 2, commit1)
	e.runMirrors(ctx, okCfg, 8)
	newest1 := commit1.Add(7 * time.Millisecond) // the last person's commit time

	lsnBefore, lagBefore := e.slotLag(ctx)
	st, table, err := e.status(ctx, okCfg)
	_, lagAfter := e.slotLag(ctx)
	if err != nil {
		t.Fatalf("status of a healthy installation: %v\n%s", err, table)
	}
	t.Logf("after phase 1:\n%s", table)
	c := st.Capture
	if !c.Exists || c.Active || c.ConfirmedFlushLSN != lsnBefore || c.LagBytes < lagBefore || c.LagBytes > lagAfter || c.LagBytes <= 0 {
		t.Errorf("slot: %+v; pg_replication_slots says confirmed %s, lag %d..%d bytes", c, lsnBefore, lagBefore, lagAfter)
	}
	for _, name := range []string{"pg", "maria"} {
		s := sinkOf(t, st, name)
		if s.Error != "" || s.Lag == nil || *s.Lag != 0 || !s.LagExact || s.Instances == nil || *s.Instances != 0 {
			t.Errorf("mirror %s has applied everything and is stopped: %+v", name, s)
		}
		f := s.Freshness
		if f == nil || f.NewestChange == nil || f.Applied == nil || f.BehindSeconds == nil {
			t.Fatalf("mirror %s: no freshness: %+v", name, f)
		}
		const layout = "2006-01-02 15:04:05.000000"
		if got, want := f.NewestChange.In(mo.Location).Format(layout), e.kvittering(ctx, name); got != want {
			t.Errorf("mirror %s: newest change %s, kvittering says %s", name, got, want)
		}
		if !f.NewestChange.Equal(newest1) {
			t.Errorf("mirror %s: newest change %s, want the newest commit time produced, %s", name, f.NewestChange, newest1)
		}
		if want := st.Time.Sub(newest1).Seconds(); *f.BehindSeconds < want-0.01 || *f.BehindSeconds > want+0.01 || want < 90 {
			t.Errorf("mirror %s: %.3f s behind, want %.3f", name, *f.BehindSeconds, want)
		}
	}
	l := sinkOf(t, st, "ledger")
	if l.Error != "" || l.Lag == nil || *l.Lag != 8 || !l.LagExact || len(l.Topics) != 1 || l.Topics[0].Records != 8 || l.Topics[0].Offsets <= 8 {
		t.Errorf("ledger, which never ran: want lag 8 (offsets more: markers), got %+v", l)
	}

	// Phase 2: 5 more persons in 5 transactions, with the mirrors stopped.
	e.produce(ctx, 5, 5, time.Now().Add(-30*time.Second))
	st, table, err = e.status(ctx, downCfg)
	t.Logf("after phase 2, with an unreachable target:\n%s", table)
	if err == nil {
		t.Error("status with an unreachable target returned no error (exit code 0)")
	}
	for _, name := range []string{"pg", "maria"} {
		s := sinkOf(t, st, name)
		if s.Error != "" || s.Lag == nil || *s.Lag != 5 || !s.LagExact {
			t.Errorf("mirror %s: want lag 5, got %+v", name, s)
		}
		if len(s.Topics) != 1 || s.Topics[0].Topic != e.topics.Object(mo.Person) || s.Topics[0].Records != 5 || s.Topics[0].Offsets < 10 {
			t.Errorf("mirror %s: want 5 records behind in %s (at least 10 offsets: a marker per transaction): %+v", name, e.topics.Object(mo.Person), s.Topics)
		}
		if f := s.Freshness; f == nil || f.NewestChange == nil || !f.NewestChange.Equal(newest1) {
			t.Errorf("mirror %s: the stopped mirror's freshness changed: %+v", name, f)
		}
	}
	if l := sinkOf(t, st, "ledger"); l.Lag == nil || *l.Lag != 13 {
		t.Errorf("ledger: want lag 13, got %+v", l)
	}
	down := sinkOf(t, st, "down")
	if !strings.Contains(down.Error, "not reachable") || !strings.Contains(down.Error, "127.0.0.1") || down.Lag != nil || st.OK {
		t.Errorf("unreachable target: %+v (status ok %v)", down, st.OK)
	}
	// A slot that does not exist is an error too (capture never ran, or
	// the slot was dropped).
	missing := filepath.Join(t.TempDir(), "missing-slot.yaml")
	if err := os.WriteFile(missing, []byte(strings.Replace(readFile(t, okCfg), "slot: "+e.slot, "slot: "+e.slot+"_missing", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _, err := e.status(ctx, missing); err == nil || st.Capture.Exists || !strings.Contains(st.Capture.Error, "does not exist") {
		t.Errorf("missing slot: %+v, error %v", st.Capture, err)
	}

	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "mirror" {
			rows[f[1]] = line
		}
	}
	for name, want := range map[string][]string{
		"pg":    {" 5 ", "s behind", "behind, no instance running"},
		"maria": {" 5 ", "s behind", "behind, no instance running"},
		"down":  {"error: mirror down: the postgres target is not reachable"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[name], w) {
				t.Errorf("table row of %s %q does not say %q", name, rows[name], w)
			}
		}
	}
}
