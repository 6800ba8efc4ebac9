package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/source"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// Debezium's two configurations: its defaults, and the poll interval
// lowered from 500 ms to 20 ms. Both with the JSON converter without
// schemas (the worker's settings, newDebezium).
var peerConfigs = []struct {
	name, tag string
	settings  map[string]string
}{
	{"Debezium (defaults)", "d", nil},
	{"Debezium (poll.interval.ms=20)", "p", map[string]string{"poll.interval.ms": "20"}},
}

// benchPeer is mocdc capture beside Debezium's PostgreSQL connector on
// Kafka Connect, on the same MO store in one run (issue 18, point 1). Per
// run:
//
//   - backlog: a slot each for pg_recvlogical, capture and Debezium
//     (defaults) at the same WAL position; -backlog MO changes written with
//     all of them stopped, between two probe renames A and B; then each
//     drains it alone: pg_recvlogical to /dev/null (the reference), then
//     capture, then Debezium. Throughput is the backlog's MO changes over
//     the time from A visible in Kafka to B visible (pg_recvlogical: its
//     whole run), so start-up is not counted; the CPU per 1,000 MO changes
//     over the same interval.
//   - steady: for each Debezium configuration, a fresh slot and worker,
//     then a window per -rates of churn at that rate for -duration while the
//     probe renames a person every -probe-every; commit→Kafka is the time
//     from each rename's commit until a consumer sees it on the topic (for
//     capture the person topic, read_committed; for Debezium the topic of
//     bruger_attr_udvidelser). Then capture's windows (steadyWindow, as
//     `bench steady` runs them). CPU per 1,000 MO changes is the process's
//     over the window, caught up before it starts.
//
// Peak RSS is the largest of each process kind over the run. The report is
// a table of medians (min–max) over -runs with each peer's ratio to
// capture.
func benchPeer(ctx context.Context, args []string) error {
	var (
		persons, backlog, runs       int
		rates                        string
		duration, probeEvery, warmup time.Duration
	)
	if err := flags("peer", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 1000, "persons to seed")
		fs.IntVar(&backlog, "backlog", 20000, "MO changes in the backlog")
		fs.StringVar(&rates, "rates", "100,200", "steady churn rates, MO changes per second")
		fs.DurationVar(&duration, "duration", 20*time.Second, "how long each steady window runs")
		fs.IntVar(&runs, "runs", 3, "repetitions of the backlog and every steady window")
		fs.DurationVar(&probeEvery, "probe-every", 50*time.Millisecond, "how often the probe renames its person")
		fs.DurationVar(&warmup, "warmup", 30*time.Second, "churn at the first rate before a fresh Debezium worker's windows (its JIT warms up)")
	}); err != nil {
		return err
	}
	rs, err := parseRates(rates)
	if err != nil {
		return err
	}
	jars := newConnectJars()
	if err := jars.ensure(ctx); err != nil {
		return err
	}
	fmt.Printf("peer: Debezium %s PostgreSQL connector on Kafka Connect %s (standalone, JSON without schemas), jars in %s\n", jars.debezium, jars.kafka, jars.dir)
	l, err := newLab(ctx, "peer")
	if err != nil {
		return err
	}
	defer l.close()
	fmt.Printf("scenario: database %s, topics %s.*, slots %s* (removed at the end)\n", l.db, l.prefix, l.slot)
	if err := l.setSyncCommit(ctx, l.db, true); err != nil {
		return err
	}
	if _, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: persons}); err != nil {
		return err
	}
	cfg := l.config("  topics:\n    partitions: 6\n")
	var captures []*child
	start := func(string) (*child, error) {
		c, err := l.startCapture(cfg)
		if err == nil {
			captures = append(captures, c)
		}
		return c, err
	}
	c, err := start("snapshot")
	if err != nil {
		return err
	}
	if err := l.waitSnapshot(ctx, 5*time.Minute); err != nil {
		c.halt()
		return err
	}
	_, err = l.waitSlot(ctx, l.slot, l.walLSN(ctx), 2*time.Minute)
	c.halt()
	if err != nil {
		return err
	}
	const pub = "bench_debezium" // Debezium's own publication, over the same tables as capture's
	if err := l.withConn(ctx, func(conn *pgx.Conn) error { return source.EnsurePublication(ctx, conn, pub) }); err != nil {
		return err
	}
	org, err := l.organisation(ctx)
	if err != nil {
		return err
	}
	w := writer.New(store.NewWriter(l.pool), writer.SQLScopes{DB: l.pool}, org)
	p := &prober{w: w, uuid: newUUID(), every: probeEvery, lsn: l.walFlush}
	if err := p.create(ctx); err != nil {
		return err
	}

	rep := newPeerReport(rs)
	pr := &peerRun{l: l, jars: jars, p: p, start: start, rep: rep, pub: pub, rates: rs, duration: duration, warmup: warmup, backlog: backlog}
	done, err := pr.runs(ctx, runs)
	for _, c := range captures {
		rep.rss("mocdc", c.halt())
	}
	if done > 0 { // what completed, also when a later run failed
		rep.print(done, persons, backlog, duration)
	}
	return err
}

// runs runs the scenario runs times and returns how many runs completed.
func (pr *peerRun) runs(ctx context.Context, runs int) (int, error) {
	for run := 1; run <= runs; run++ {
		if err := pr.drain(ctx, run); err != nil {
			return run - 1, err
		}
		for _, pc := range peerConfigs {
			if err := pr.steady(ctx, run, pc.name, pc.tag, pc.settings); err != nil {
				return run - 1, err
			}
		}
		for _, rate := range pr.rates {
			f, err := steadyWindow(ctx, pr.l, pr.p, pr.start, fmt.Sprintf("steady-%.0f-%d", rate, run), rate, pr.duration, 0)
			if err != nil {
				return run - 1, err
			}
			pr.rep.steady(mocdcPeer, rate, f)
			fmt.Printf("run %d mocdc steady %.0f/s: reached %.0f/s, CPU %.2f s per 1,000 changes, commit→Kafka p50 %s p99 %s  [%s]\n",
				run, rate, f.reached, f.cpuPerK, ms(f.p50), ms(f.p99), load())
		}
	}
	return runs, nil
}

func parseRates(s string) ([]float64, error) {
	var rs []float64
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a positive rate", f)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (l *lab) withConn(ctx context.Context, f func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return f(conn)
}

func (l *lab) createSlot(ctx context.Context, slot string) error {
	_, err := l.pool.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, slot)
	return err
}

// dropSlot drops a slot once its walsender has gone (Debezium's stop
// takes a moment to close its replication connection).
func (l *lab) dropSlot(ctx context.Context, slot string) {
	for i := 0; i < 100; i++ {
		var active *bool
		if err := l.pool.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active); err != nil {
			return // gone
		}
		if active != nil && !*active {
			_, _ = l.pool.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, slot)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createTopic makes a Debezium topic before the worker starts, so that a
// consumer is on it from the first record (Connect would create it on
// first use, and the consumer would find it only later).
func (l *lab) createTopic(ctx context.Context, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.brokers))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	return err
}

// topicConsumer reads topic from its start (the topic is new).
func (l *lab) topicConsumer(topic string, reset kgo.Offset) (*kgo.Client, error) {
	return kgo.NewClient(kgo.SeedBrokers(l.brokers), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxWait(20*time.Millisecond))
}

// consumeAny is consume for Debezium's row events: the key is the row's
// id, not the person's uuid, and the probe's surname is unique to it.
func (w *watcher) consumeAny(ctx context.Context, cl *kgo.Client) {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			if m := probeRE.FindSubmatch(r.Value); m != nil {
				n, _ := strconv.Atoi(string(m[1]))
				w.saw(n, now)
			}
		})
	}
}

// follow runs consume in the background until the returned stop is called.
func follow(ctx context.Context, consume func(context.Context)) (stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); consume(cctx) }()
	return func() { cancel(); wg.Wait() }
}

// drainMark is when a watcher first showed probe n, and the process's CPU
// then.
type drainMark struct {
	at  time.Time
	cpu float64
}

// waitMark waits until w shows probe n and samples pid's CPU (every 10 ms).
func waitMark(ctx context.Context, w *watcher, n, pid int, within time.Duration, alive func() bool) (drainMark, error) {
	deadline := time.Now().Add(within)
	for w.resolved() < n {
		if time.Now().After(deadline) {
			return drainMark{}, fmt.Errorf("%s has not shown probe %d within %s (it shows %d)", w.name, n, within, w.resolved())
		}
		if !alive() {
			return drainMark{}, fmt.Errorf("%s: the process exited before probe %d was seen", w.name, n)
		}
		select {
		case <-ctx.Done():
			return drainMark{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return drainMark{at: time.Now(), cpu: procCPU(pid)}, nil
}

// peerRun is what every run of `bench peer` shares.
type peerRun struct {
	l                *lab
	jars             connectJars
	p                *prober
	start            func(string) (*child, error) // a fresh capture
	rep              *peerReport
	pub              string // Debezium's publication
	rates            []float64
	duration, warmup time.Duration
	backlog          int
}

// drain is one run's backlog: the same WAL range drained by
// pg_recvlogical, capture and Debezium (defaults) in turn.
func (pr *peerRun) drain(ctx context.Context, run int) error {
	l, jars, p, start, rep, pub := pr.l, pr.jars, pr.p, pr.start, pr.rep, pr.pub
	recvSlot, dbzSlot := fmt.Sprintf("%s_recv%d", l.slot, run), fmt.Sprintf("%s_dbzb%d", l.slot, run)
	for _, s := range []string{recvSlot, dbzSlot} {
		if err := l.createSlot(ctx, s); err != nil {
			return err
		}
	}
	defer l.dropSlot(context.Background(), recvSlot)
	defer l.dropSlot(context.Background(), dbzSlot)
	if err := p.once(ctx); err != nil {
		return err
	}
	a := p.sent()
	opts := churnOptions(0, time.Hour, 4, false)
	opts.MaxChanges = pr.backlog
	st, err := demo.Churn(ctx, l.pool, opts, nil)
	if err != nil {
		return err
	}
	if err := p.once(ctx); err != nil {
		return err
	}
	b, writes, end := p.sent(), float64(writesOf(st)), l.walLSN(ctx)
	fmt.Printf("run %d backlog: %d MO changes between probes %d and %d, WAL end %s  [%s]\n", run, int(writes), a, b, end, load())

	recv := exec.CommandContext(ctx, "pg_recvlogical", "-d", l.dsn, "-S", recvSlot, "--start",
		"-o", "proto_version=2", "-o", "publication_names=mocdc", "-o", "binary=true",
		"--endpos", end, "-F", "0", "-f", "/dev/null")
	t0 := time.Now()
	if out, err := recv.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_recvlogical: %v: %s", err, out)
	}
	took := time.Since(t0).Seconds()
	cpu := (recv.ProcessState.UserTime() + recv.ProcessState.SystemTime()).Seconds()
	rep.backlog("pg_recvlogical", writes/took, cpu/writes*1000)
	fmt.Printf("run %d backlog pg_recvlogical: %.0f MO changes/s, CPU %.2f s per 1,000  [%s]\n", run, writes/took, cpu/writes*1000, load())

	// Capture: its slot is where the last capture left it, at or before A.
	kw := &watcher{name: "mocdc's person topic", p: p, next: a}
	cl, err := l.topicConsumer(l.prefix+".person", kgo.NewOffset().AtEnd())
	if err != nil {
		return err
	}
	stop := follow(ctx, func(ctx context.Context) { kw.consume(ctx, cl) })
	time.Sleep(time.Second) // the consumer at the end of the topic (it exists since the snapshot)
	rows0 := 0.0
	c, err := start(fmt.Sprintf("backlog-%d", run))
	if err != nil {
		stop()
		cl.Close()
		return err
	}
	alive := func() bool { return !c.exited() }
	ma, err := waitMark(ctx, kw, a, c.cmd.Process.Pid, 5*time.Minute, alive)
	var mb drainMark
	if err == nil {
		rows0 = l.metric("mocdc_capture_rows_total")
		mb, err = waitMark(ctx, kw, b, c.cmd.Process.Pid, 10*time.Minute, alive)
	}
	rows := l.metric("mocdc_capture_rows_total") - rows0
	stop()
	cl.Close()
	c.halt()
	if err != nil {
		return err
	}
	d := mb.at.Sub(ma.at).Seconds()
	rep.backlog("mocdc", writes/d, (mb.cpu-ma.cpu)/writes*1000)
	fmt.Printf("run %d backlog mocdc: %.0f MO changes/s (%.0f row changes/s), CPU %.2f s per 1,000  [%s]\n", run, writes/d, rows/d, (mb.cpu-ma.cpu)/writes*1000, load())

	// Debezium with its defaults, on its own slot from the same position.
	pc := peerConfigs[0]
	dz, err := l.newDebezium(jars, pc.name, fmt.Sprintf("%sb%d", pc.tag, run), dbzSlot, pub, pc.settings)
	if err != nil {
		return err
	}
	if err := l.createTopic(ctx, dz.topic); err != nil {
		return err
	}
	dw := &watcher{name: dz.name + "'s topic", p: p, next: a}
	dcl, err := l.topicConsumer(dz.topic, kgo.NewOffset().AtStart())
	if err != nil {
		return err
	}
	stop = follow(ctx, func(ctx context.Context) { dw.consumeAny(ctx, dcl) })
	defer func() { stop(); dcl.Close() }()
	t0 = time.Now()
	if err := dz.start(ctx, 5*time.Minute); err != nil {
		if dz.child != nil {
			dz.halt()
		}
		return err
	}
	defer dz.halt()
	alive = func() bool { return !dz.exited() }
	pid := dz.cmd.Process.Pid
	if ma, err = waitMark(ctx, dw, a, pid, 5*time.Minute, alive); err != nil {
		return fmt.Errorf("%w%s", err, dz.problems())
	}
	if mb, err = waitMark(ctx, dw, b, pid, 20*time.Minute, alive); err != nil {
		return fmt.Errorf("%w%s", err, dz.problems())
	}
	d = mb.at.Sub(ma.at).Seconds()
	rep.backlog(dz.name, writes/d, (mb.cpu-ma.cpu)/writes*1000)
	rep.rss(dz.name, dz.halt())
	fmt.Printf("run %d backlog %s: %.0f MO changes/s, CPU %.2f s per 1,000 (start-up to probe A %s, %.1f CPU s)  [%s]\n",
		run, dz.name, writes/d, (mb.cpu-ma.cpu)/writes*1000, ma.at.Sub(t0).Round(time.Millisecond), ma.cpu, load())
	return nil
}

// steady runs one Debezium configuration through every rate, on a fresh
// slot and worker, after -warmup of churn.
func (pr *peerRun) steady(ctx context.Context, run int, name, tag string, settings map[string]string) error {
	l, p, rep := pr.l, pr.p, pr.rep
	slot := fmt.Sprintf("%s_dbz%s%d", l.slot, tag, run)
	if err := l.createSlot(ctx, slot); err != nil {
		return err
	}
	defer l.dropSlot(context.Background(), slot)
	dz, err := l.newDebezium(pr.jars, name, fmt.Sprintf("%s%d", tag, run), slot, pr.pub, settings)
	if err != nil {
		return err
	}
	if err := l.createTopic(ctx, dz.topic); err != nil {
		return err
	}
	kw := &watcher{name: dz.name + "'s topic", p: p, next: p.sent() + 1}
	cl, err := l.topicConsumer(dz.topic, kgo.NewOffset().AtStart())
	if err != nil {
		return err
	}
	stop := follow(ctx, func(ctx context.Context) { kw.consumeAny(ctx, cl) })
	defer func() { stop(); cl.Close() }()
	if err := dz.start(ctx, 5*time.Minute); err != nil {
		if dz.child != nil {
			dz.halt()
		}
		return err
	}
	defer func() { rep.rss(dz.name, dz.halt()) }()
	if pr.warmup > 0 {
		if _, err := demo.Churn(ctx, l.pool, churnOptions(pr.rates[0], pr.warmup, 4, false), nil); err != nil {
			return err
		}
	}
	for _, rate := range pr.rates {
		// Caught up: a rename after everything before is on the topic.
		if err := p.once(ctx); err != nil {
			return err
		}
		if err := waitResolved(ctx, []*watcher{kw}, p.sent(), 5*time.Minute); err != nil {
			rep.fail(fmt.Sprintf("run %d %s before the %.0f/s window: %v", run, dz.name, rate, err))
			fmt.Printf("run %d %s: FAILED to catch up before the %.0f/s window: %v%s\n", run, dz.name, rate, err, dz.problems())
			return nil
		}
		first := p.sent() + 1
		kw.mu.Lock()
		kw.next, kw.lat = first, nil
		kw.mu.Unlock()
		pid := dz.cmd.Process.Pid
		cpu0 := procCPU(pid)
		pctx, stopProbe := context.WithCancel(ctx)
		probeDone := make(chan error, 1)
		go func() { probeDone <- p.run(pctx) }()
		t0 := time.Now()
		st, err := demo.Churn(ctx, l.pool, churnOptions(rate, pr.duration, 4, false), nil)
		stopProbe()
		if perr := <-probeDone; err == nil {
			err = perr
		}
		if err != nil {
			return err
		}
		elapsed := time.Since(t0)
		if err := waitResolved(ctx, []*watcher{kw}, p.sent(), 5*time.Minute); err != nil {
			// Figures of a window that lost a change would mislead: note
			// it and go on with the next configuration.
			rep.fail(fmt.Sprintf("run %d %s at %.0f/s: %v", run, dz.name, rate, err))
			fmt.Printf("run %d %s steady %.0f/s: FAILED: %v%s\n", run, dz.name, rate, err, dz.problems())
			return nil
		}
		changes := float64(writesOf(st) + int64(p.sent()-first+1))
		f := steadyResult{rate: rate, reached: float64(writesOf(st)) / elapsed.Seconds(),
			cpuPerK: (procCPU(pid) - cpu0) / changes * 1000, p50: kw.q(0.5), p99: kw.q(0.99), max: kw.q(1)}
		rep.steady(dz.name, rate, f)
		fmt.Printf("run %d %s steady %.0f/s: reached %.0f/s, CPU %.2f s per 1,000 changes, commit→Kafka p50 %s p99 %s  [%s]\n",
			run, dz.name, rate, f.reached, f.cpuPerK, ms(f.p50), ms(f.p99), load())
	}
	return nil
}
