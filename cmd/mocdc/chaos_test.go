package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// `make chaos DURATION=30m SEED=7` runs this test with these flags and the
// build tag chaos (a random seed, printed, when SEED is 0).
var (
	// The default keeps make test's run at about 5 minutes in all: setup,
	// every fault kind at least once (the run goes on until each was
	// injected), the drain and the checks.
	chaosDuration = flag.Duration("chaos.duration", time.Minute, "how long the chaos run churns and injects faults (it also goes on until every kind was injected once)")
	chaosSeed     = flag.Uint64("chaos.seed", 0, "seed of the chaos run (0: random; the run prints the seed it used)")
	chaosReport   = flag.String("chaos.report", "", "also write the report (markdown) to this file")
	chaosPerKind  = flag.Int("chaos.per_kind", 1, "the run also goes on until every fault kind was injected this many times")
)

// fault is one kind of fault the controller injects: inject breaks
// something and returns how to restore it (run after hold).
type fault struct {
	kind   string
	hold   func(r *rand.Rand) time.Duration
	inject func() (restore func())
}

// faultStats is what the report says of one kind.
type faultStats struct {
	injected  int
	recovered []time.Duration // fault to freshness back under 2 s
	timeouts  int
}

func httpGet(ctx context.Context, url string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestChaos is `make chaos`: churn with reads at a fixed rate while capture
// (active and standby), two instances of each mirror (PostgreSQL and
// MariaDB) and the ledger builder run, and a controller injects faults at
// random moments — kill -9 of every process and of the broker and both
// databases (a private set of services, so other tests are not hit),
// SIGSTOP/SIGCONT past session timeouts, cut connections between a
// component and a service (TCP proxies), a full spill disk during a large
// transaction. After churn stops and the pipeline drains, every invariant
// is checked against the MO store independently of the sinks' code, and a
// report gives faults by kind, recovery times and the first difference of
// each invariant broken.
func TestChaos(t *testing.T) {
	seed := *chaosSeed
	if seed == 0 {
		seed = rand.Uint64() % 1_000_000
	}
	t.Logf("chaos: seed %d, duration %s (replay: make chaos SEED=%d DURATION=%s)", seed, *chaosDuration, seed, *chaosDuration)
	rng := rand.New(rand.NewPCG(seed, 17))
	data := os.Getenv("MOCDC_DATA")
	if data == "" {
		t.Fatal("MOCDC_DATA is not set: run through make test / make chaos (they start the services)")
	}
	svc := startChaosServices(t, filepath.Join(data, fmt.Sprintf("chaos-%d-%d", seed, os.Getpid())))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The MO store and the mirror databases, fresh.
	adminDSN := svc.env["MOCDC_TEST_PG_DSN"]
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"chaos_mo", "chaos_mirror"} {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
	}
	admin.Close(ctx)
	moDSN := strings.Replace(adminDSN, "/postgres?", "/chaos_mo?", 1)
	pgMirrorDSN := strings.Replace(adminDSN, "/postgres?", "/chaos_mirror?", 1)
	myAdmin := svc.env["MOCDC_TEST_MYSQL_DSN"]
	my, err := sql.Open("mysql", myAdmin)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = my.Exec("DROP DATABASE IF EXISTS chaos_mirror")
	if _, err := my.Exec("CREATE DATABASE chaos_mirror CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	my.Close()
	myMirrorDSN := strings.TrimSuffix(myAdmin, "/") + "/chaos_mirror"

	conn, err := store.Connect(ctx, moDSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pool, err := pgxpool.New(ctx, moDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := demo.Seed(ctx, pool, demo.SeedOptions{Seed: int64(seed), Persons: 300}); err != nil {
		t.Fatal(err)
	}

	// The FK Organisation sink writes to an OS2sync contract double behind a
	// proxy the controller can cut (OS2sync unavailable).
	double := fkdouble.New(fkdouble.Config{APIKey: "e2e-key", ApplyEvery: 10 * time.Millisecond})
	defer double.Close()
	fkSrv := httptest.NewServer(double.Handler())
	defer fkSrv.Close()
	fkProxy := newProxy(t, fkSrv.Listener.Addr().String())

	// Components reach the MO store and MariaDB through proxies the
	// controller can cut; the PostgreSQL mirror talks to its server directly.
	pgProxy := newProxy(t, "127.0.0.1:"+svc.ports["MOCDC_PG_PORT"])
	myProxy := newProxy(t, "127.0.0.1:"+svc.ports["MOCDC_MARIADB_PORT"])
	dir := t.TempDir()
	spill := filepath.Join(dir, "spill")
	mountTmpfs(t, spill, "24m")
	if _, _, err := ledger.GenerateKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	brokers := svc.env["MOCDC_TEST_KAFKA"]
	bin := mocdcBinary(t)
	e := &e2e{t: t, dsn: moDSN, pool: pool, brokers: []string{brokers}, prefix: "chaos", slot: "chaos", dir: dir, bin: bin}
	fkRulesUsed, fkSection := fkSetup(t, e, "http://"+fkProxy.addr())
	adn := newChaosAD(t, svc, seed, dir) // chaos_ad_test.go: the AD and notify sinks
	cfgText := fmt.Sprintf(`store:
  dsn: %s
kafka:
  brokers: [%s]
  topic_prefix: chaos
capture:
  slot: chaos
  heartbeat: 500ms
  retry_min: 200ms
  retry_max: 2s
  memory_budget: 4194304
  spill_dir: %s
  topics:
    partitions: 3
mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
    session_timeout: 6s
  - name: my
    dialect: mysql
    dsn: %s
    mode: actual
    session_timeout: 6s
ledger:
  private_key_file: %s/ledger.key
  public_key_file: %s/ledger.pub
  checkpoint_every: 200
  checkpoint_interval: 5s
`, strings.Replace(moDSN, "127.0.0.1:"+svc.ports["MOCDC_PG_PORT"], pgProxy.addr(), 1), brokers, spill,
		pgMirrorDSN, strings.Replace(myMirrorDSN, "127.0.0.1:"+svc.ports["MOCDC_MARIADB_PORT"], myProxy.addr(), 1), dir, dir) + fkSection + adn.config()
	metrics := map[string]string{}
	configFor := func(name string) string {
		metrics[name] = "127.0.0.1:" + freePort(t)
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(cfgText+"metrics:\n  listen: "+metrics[name]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	procs := map[string]*supervised{}
	start := func(name string, args ...string) {
		procs[name] = superviseProc(t, dir, name, bin, append(args, "--config", configFor(name))...)
	}
	start("capture-a", "capture")
	start("capture-b", "capture")
	start("mirror-pg-1", "sink", "mirror", "--target", "pg")
	start("mirror-pg-2", "sink", "mirror", "--target", "pg")
	start("mirror-my-1", "sink", "mirror", "--target", "my")
	start("mirror-my-2", "sink", "mirror", "--target", "my")
	start("ledger", "sink", "ledger")
	start("fk", "sink", "fk")
	for _, p := range adProcs {
		start(p[0], p[1:]...)
	}
	e.waitSnapshot()
	marks, readsBefore := e.marks()

	// Churn with reads at a fixed rate, for the whole run; a churn that
	// fails (the MO store killed under it) starts again.
	churnCtx, stopChurn := context.WithCancel(ctx)
	var churnWG sync.WaitGroup
	churnWG.Add(1)
	go func() {
		defer churnWG.Done()
		for i := int64(0); churnCtx.Err() == nil; i++ {
			_, _ = demo.Churn(churnCtx, pool, demo.ChurnOptions{Seed: int64(seed)*1000 + i, Rate: 20, Workers: 1}, nil)
			select {
			case <-churnCtx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()

	// Freshness: how far the staler mirror is behind the MO commits, by
	// its kvittering (what BI sees).
	mirrorDBs := map[string]*sql.DB{}
	mirrorCfgs := map[string]mirror.Config{}
	for _, m := range []mirror.Config{{Name: "pg", Dialect: "postgres", DSN: pgMirrorDSN, Mode: "actual"}, {Name: "my", Dialect: "mysql", DSN: myMirrorDSN, Mode: "actual"}} {
		m.Defaults()
		mirrorCfgs[m.Name] = m
		db, err := mirror.Open(m)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		mirrorDBs[m.Name] = db
	}
	var freshnessErr atomic.Value
	freshness := func() time.Duration {
		worst := time.Duration(0)
		for name, db := range mirrorDBs {
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			p, err := mirror.ReadProgress(qctx, db, mirrorCfgs[name])
			cancel()
			if err != nil || p.NewestChange.IsZero() {
				if err != nil && ctx.Err() == nil {
					freshnessErr.Store(err.Error())
				}
				return time.Hour
			}
			if d := time.Since(p.NewestChange); d > worst {
				worst = d
			}
		}
		return worst
	}

	kill := func(name string) func() (restore func()) {
		return func() func() {
			procs[name].signal(syscall.SIGKILL, time.Duration(rng.IntN(1500))*time.Millisecond)
			return func() {}
		}
	}
	activeCapture := func(want float64) string {
		for _, n := range []string{"capture-a", "capture-b"} {
			if v, err := chaosMetric(ctx, metrics[n], "mocdc_capture_active"); err == nil && v == want {
				return n
			}
		}
		return "capture-a"
	}
	serviceKill := func(service string) func() func() {
		return func() func() {
			svc.kill9(service)
			return func() { svc.restart(service) }
		}
	}
	short := func(r *rand.Rand) time.Duration { return time.Duration(500+r.IntN(1500)) * time.Millisecond }
	faults := []fault{
		{"kill -9 capture (active)", short, func() func() { return kill(activeCapture(1))() }},
		{"kill -9 capture (standby)", short, func() func() { return kill(activeCapture(0))() }},
		{"kill -9 mirror instance", short, func() func() {
			return kill([]string{"mirror-pg-1", "mirror-pg-2", "mirror-my-1", "mirror-my-2"}[rng.IntN(4)])()
		}},
		{"kill -9 ledger builder", short, kill("ledger")},
		{"kill -9 FK Organisation sink", short, kill("fk")},
		{"OS2sync unavailable (connections to the double cut)", func(r *rand.Rand) time.Duration { return time.Duration(3+r.IntN(6)) * time.Second },
			func() func() { fkProxy.setCut(true); return func() { fkProxy.setCut(false) } }},
		{"kill -9 Kafka broker", short, serviceKill("kafka")},
		{"kill -9 PostgreSQL (MO store and PostgreSQL mirror)", short, serviceKill("postgres")},
		{"kill -9 MariaDB", short, serviceKill("mariadb")},
		{"SIGSTOP/SIGCONT a sink instance past its session timeout", func(r *rand.Rand) time.Duration { return time.Duration(8+r.IntN(4)) * time.Second },
			func() func() {
				p := procs[[]string{"mirror-pg-1", "mirror-pg-2", "mirror-my-1", "mirror-my-2"}[rng.IntN(4)]]
				p.signal(syscall.SIGSTOP, 0)
				return func() { p.signal(syscall.SIGCONT, 0) }
			}},
		{"SIGSTOP/SIGCONT active capture", func(r *rand.Rand) time.Duration { return time.Duration(3+r.IntN(5)) * time.Second },
			func() func() {
				p := procs[activeCapture(1)]
				p.signal(syscall.SIGSTOP, 0)
				return func() { p.signal(syscall.SIGCONT, 0) }
			}},
		{"cut network capture ↔ MO store", func(r *rand.Rand) time.Duration { return time.Duration(3+r.IntN(6)) * time.Second },
			func() func() { pgProxy.setCut(true); return func() { pgProxy.setCut(false) } }},
		{"cut network MariaDB mirror ↔ MariaDB", func(r *rand.Rand) time.Duration { return time.Duration(3+r.IntN(6)) * time.Second },
			func() func() { myProxy.setCut(true); return func() { myProxy.setCut(false) } }},
		{"spill disk full during a large transaction", func(r *rand.Rand) time.Duration { return time.Duration(4+r.IntN(4)) * time.Second },
			func() func() {
				unfill := fillDisk(spill)
				tag := fmt.Sprintf("chaos-%d-%d", seed, rng.IntN(1<<30))
				go func() { _ = demo.BulkCreatePersons(ctx, pool, 4000, tag) }()
				return unfill
			}},
	}

	faults = append(faults, adn.faults(rng, procs, metrics)...)
	adn.waitFresh(t, metrics)

	stats := map[string]*faultStats{}
	// Kinds come in rounds, each round every kind once in a random order,
	// so the counts stay even; the run ends after the duration, once every
	// kind was injected chaos.per_kind times.
	var order []int
	deadline := time.Now().Add(*chaosDuration)
	enough := func() bool {
		for _, f := range faults {
			if st := stats[f.kind]; st == nil || st.injected < *chaosPerKind {
				return false
			}
		}
		return true
	}
	for time.Now().Before(deadline) || !enough() {
		if len(order) == 0 {
			order = rng.Perm(len(faults))
		}
		f := faults[order[0]]
		order = order[1:]
		st := stats[f.kind]
		if st == nil {
			st = &faultStats{}
			stats[f.kind] = st
		}
		at := time.Now()
		restore := f.inject()
		time.Sleep(f.hold(rng))
		restore()
		st.injected++
		recovered := false
		fresh := func() time.Duration {
			d := freshness()
			if sink := adn.fresh[f.kind]; sink != nil {
				d = max(d, sink()) // the sink the fault hits caught up too
			}
			return d
		}
		for wait := time.Now().Add(3 * time.Minute); time.Now().Before(wait); time.Sleep(200 * time.Millisecond) {
			if fresh() < 2*time.Second {
				recovered = true
				break
			}
		}
		if recovered {
			st.recovered = append(st.recovered, time.Since(at))
			t.Logf("chaos: %s: recovered in %s", f.kind, time.Since(at).Round(100*time.Millisecond))
		} else {
			st.timeouts++
			t.Logf("chaos: %s did not recover within 3 minutes (freshness %s, last read error %v)", f.kind, fresh(), freshnessErr.Load())
		}
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
	}

	// Drain: churn stops, capture catches up, the sinks apply everything.
	stopChurn()
	churnWG.Wait()
	drainStart := time.Now()
	e.waitCaptured()
	report := chaosCheck(t, ctx, e, chaosInvariantsInput{
		marks: marks, readsBefore: readsBefore, mirrorDBs: mirrorDBs, pgMirrorDSN: pgMirrorDSN, myMirrorDSN: myMirrorDSN,
		procs: procs, drainStart: drainStart, fk: double, fkRules: fkRulesUsed, ledgerConfig: filepath.Join(dir, "ledger.yaml"), statusConfig: filepath.Join(dir, "capture-a.yaml"),
	})
	report = append(report, adn.check(t, ctx, e, dir)...)
	out := chaosReportText(seed, *chaosDuration, faults, stats, report) + chaosRewinds(procs)
	t.Log("\n" + out)
	if *chaosReport != "" {
		if err := os.WriteFile(*chaosReport, []byte(out), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, f := range faults {
		if st := stats[f.kind]; st == nil || st.injected == 0 {
			t.Errorf("fault %q was never injected", f.kind)
		} else if st.timeouts > 0 {
			t.Errorf("fault %q: %d of %d injections did not recover within 3 minutes", f.kind, st.timeouts, st.injected)
		}
	}
	for _, inv := range report {
		if !inv.held {
			t.Errorf("invariant broken: %s: %s", inv.name, inv.detail)
		}
	}
}

// chaosRewinds says which sinks found their target holding less than they
// had committed (the PostgreSQL cluster runs without durable commits, as
// test clusters do, so a kill -9 can lose its last transactions) and went
// back: each such line is a loss the runner repaired (sinks/runner,
// behind.go).
func chaosRewinds(procs map[string]*supervised) string {
	var lines []string
	for name, p := range procs {
		b, _ := os.ReadFile(p.logPath)
		if n := strings.Count(string(b), "the target lost batches it had committed"); n > 0 {
			lines = append(lines, fmt.Sprintf("- %s: %d", name, n))
		}
	}
	if len(lines) == 0 {
		return "\nNo sink found its target behind what it had committed.\n"
	}
	sort.Strings(lines)
	return "\nSinks that found their target had lost committed batches and applied them again (partitions, from their logs):\n" + strings.Join(lines, "\n") + "\n"
}

// chaosReportText is the report: the seed, faults by kind with recovery
// times, each invariant held or broken.
func chaosReportText(seed uint64, d time.Duration, faults []fault, stats map[string]*faultStats, inv []invariant) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# mocdc chaos report\n\nseed %d, %s of churn with faults (replay: `make chaos SEED=%d DURATION=%s`)\n\n", seed, d, seed, d)
	b.WriteString("| fault | injected | recovered | recovery median | recovery max |\n|---|---|---|---|---|\n")
	for _, f := range faults {
		st := stats[f.kind]
		if st == nil {
			fmt.Fprintf(&b, "| %s | 0 | | | |\n", f.kind)
			continue
		}
		rec := append([]time.Duration(nil), st.recovered...)
		sort.Slice(rec, func(i, j int) bool { return rec[i] < rec[j] })
		med, mx := "-", "-"
		if len(rec) > 0 {
			med, mx = rec[len(rec)/2].Round(100*time.Millisecond).String(), rec[len(rec)-1].Round(100*time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n", f.kind, st.injected, len(st.recovered), med, mx)
	}
	b.WriteString("\nRecovery: from the fault to both mirrors' freshness (now minus their newest MO commit) back under 2 s, while churn runs at 20 changes/s; " +
		"for the AD kinds also both AD sink instances caught up (view loaded, oldest unreconciled MO change under 2 s old), for the SMTP and notify kinds also " +
		"the notify sink's outbox with nothing pending and a batch committed since the restore.\n\n")
	b.WriteString("| invariant | held | detail |\n|---|---|---|\n")
	for _, i := range inv {
		held := "yes"
		if !i.held {
			held = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", i.name, held, strings.ReplaceAll(i.detail, "|", "\\|"))
	}
	return b.String()
}
