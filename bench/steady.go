package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// benchSteady is capture's cost under steady load against its cost on a
// backlog, in the same run (issue 18, points 2 and 3): per run, a backlog
// of -backlog MO changes is written with capture stopped and drained by a
// fresh `mocdc capture`; then, for each -rates, a fresh capture follows
// churn at that rate for -duration while a probe renames one person every
// -probe-every and reads it back from the person topic (read_committed).
// It reports capture's CPU (utime+stime from /proc) per 1,000 MO changes
// for both, the Kafka transactions per second, and commit→Kafka
// percentiles of the probe. -profile DIR writes a CPU profile and an
// execution trace of each capture process there; -capture adds capture
// settings (to compare knobs with one build); -gomaxprocs sets the capture
// processes' GOMAXPROCS.
func benchSteady(ctx context.Context, args []string) error {
	var (
		persons, backlog, runs int
		procs                  int
		rates                  string
		duration, probeEvery   time.Duration
		warm                   time.Duration
		profile, extra         string
	)
	if err := flags("steady", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 1000, "persons to seed")
		fs.IntVar(&backlog, "backlog", 4000, "MO changes in the backlog reference")
		fs.StringVar(&rates, "rates", "100,200", "steady churn rates, MO changes per second")
		fs.DurationVar(&duration, "duration", 20*time.Second, "how long each steady window runs")
		fs.DurationVar(&warm, "warm", 10*time.Second, "churn at the window's rate before each window is measured (0: measure a fresh capture, cold version cache)")
		fs.IntVar(&runs, "runs", 3, "repetitions of the backlog and every rate")
		fs.DurationVar(&probeEvery, "probe-every", 50*time.Millisecond, "how often the probe renames its person")
		fs.StringVar(&profile, "profile", "", "directory for CPU profiles and traces of the capture processes")
		fs.IntVar(&procs, "gomaxprocs", 0, "GOMAXPROCS of the capture processes (1: as in a container limited to 1 CPU); 0 leaves Go's default")
		fs.StringVar(&extra, "capture", "", "more capture settings, `key: value` pairs split by ';' (e.g. 'batch_linger_max: 20ms')")
	}); err != nil {
		return err
	}
	var rs []float64
	for _, f := range strings.Split(rates, ",") {
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("-rates: %q is not a positive rate", f)
		}
		rs = append(rs, r)
	}
	l, err := newLab(ctx, "steady")
	if err != nil {
		return err
	}
	defer l.close()
	if err := l.setSyncCommit(ctx, l.db, true); err != nil {
		return err
	}
	if _, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: persons}); err != nil {
		return err
	}
	more := ""
	for _, kv := range strings.Split(extra, ";") {
		if kv = strings.TrimSpace(kv); kv != "" {
			more += "  " + kv + "\n"
		}
	}
	cfg := l.config(more + "  topics:\n    partitions: 6\n")
	start := func(name string) (*child, error) {
		l.env = nil
		if profile != "" {
			l.env = []string{"MOCDC_CPUPROFILE=" + filepath.Join(profile, name+".pprof"), "MOCDC_TRACE=" + filepath.Join(profile, name+".trace")}
		}
		if procs > 0 {
			l.env = append(l.env, "GOMAXPROCS="+strconv.Itoa(procs))
		}
		return l.startCapture(cfg)
	}
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return err
		}
	}
	// The snapshot, once.
	c, err := start("snapshot")
	if err != nil {
		return err
	}
	if err := l.waitSnapshot(ctx, 5*time.Minute); err != nil {
		c.halt()
		return fmt.Errorf("%w; the capture log ends:\n%s", err, logTail(filepath.Join(l.dir, "capture.log"), 15))
	}
	if _, err := l.waitSlot(ctx, l.slot, l.walLSN(ctx), 2*time.Minute); err != nil {
		c.halt()
		return err
	}
	c.halt()
	org, err := l.organisation(ctx)
	if err != nil {
		return err
	}
	w := writer.New(store.NewWriter(l.pool), writer.SQLScopes{DB: l.pool}, org)
	p := &prober{w: w, uuid: newUUID(), every: probeEvery, lsn: l.walFlush}
	if err := p.create(ctx); err != nil {
		return err
	}

	type steadyFig = steadyResult
	var backlogCPU []float64
	steadyFigs := map[float64][]steadyFig{}
	for run := 1; run <= runs; run++ {
		// Backlog: written with capture stopped, then drained.
		opts := churnOptions(0, time.Hour, 4, false)
		opts.MaxChanges = backlog
		st, err := demo.Churn(ctx, l.pool, opts, nil)
		if err != nil {
			return err
		}
		writes := writesOf(st)
		end := l.walLSN(ctx)
		c, err := start(fmt.Sprintf("backlog-%d", run))
		if err != nil {
			return err
		}
		took, err := l.waitSlot(ctx, l.slot, end, 5*time.Minute)
		cpu := procCPU(c.cmd.Process.Pid)
		c.halt()
		if err != nil {
			return err
		}
		backlogCPU = append(backlogCPU, cpu/float64(writes)*1000)
		fmt.Printf("run %d backlog: %d MO changes drained in %s, capture CPU %.2f s per 1,000 changes (incl. start-up)  [%s]\n",
			run, writes, took.Round(time.Millisecond), cpu/float64(writes)*1000, load())

		for _, rate := range rs {
			f, err := steadyWindow(ctx, l, p, start, fmt.Sprintf("steady-%.0f-%d", rate, run), rate, duration, warm)
			if err != nil {
				return err
			}
			steadyFigs[rate] = append(steadyFigs[rate], f)
			fmt.Printf("run %d steady %.0f/s: reached %.0f/s, capture CPU %.2f s per 1,000 changes, %.1f Kafka transactions/s (each p50 ≤ %s, p99 ≤ %s), commit→Kafka p50 %s p99 %s max %s (walsender decoded p50 %s p99 %s)  [%s]\n",
				run, rate, f.reached, f.cpuPerK, f.txnsPerS, ms(f.pub50), ms(f.pub99), ms(f.p50), ms(f.p99), ms(f.max), ms(f.dec50), ms(f.dec99), load())
		}
	}
	med := func(xs []float64) string {
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		return fmt.Sprintf("%.2f (%.2f–%.2f)", s[len(s)/2], s[0], s[len(s)-1])
	}
	medD := func(xs []time.Duration) string {
		s := append([]time.Duration(nil), xs...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return fmt.Sprintf("%s (%s–%s)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]))
	}
	fmt.Printf("\ncapture, median (min–max) of %d runs, %d persons:\n", runs, persons)
	fmt.Printf("  backlog (%d changes): CPU s per 1,000 MO changes %s\n", backlog, med(backlogCPU))
	for _, rate := range rs {
		var cpu, tx []float64
		var p50, p99, d99, k99 []time.Duration
		for _, f := range steadyFigs[rate] {
			cpu, tx, p50, p99, d99 = append(cpu, f.cpuPerK), append(tx, f.txnsPerS), append(p50, f.p50), append(p99, f.p99), append(d99, f.dec99)
			k99 = append(k99, f.pub99)
		}
		fmt.Printf("  steady %.0f/s: CPU s per 1,000 MO changes %s, Kafka transactions/s %s (each p99 ≤ %s), commit→Kafka p50 %s, p99 %s; commit→walsender decoded p99 %s\n",
			rate, med(cpu), med(tx), medD(k99), medD(p50), medD(p99), medD(d99))
	}
	return nil
}

type steadyResult struct {
	rate, cpuPerK, txnsPerS float64
	p50, p99, max           time.Duration
	dec50, dec99            time.Duration // commit → the walsender decoded it
	pub50, pub99            time.Duration // one Kafka transaction, bucket upper bounds
	reached                 float64
}

// steadyWindow runs a fresh capture while churn runs at rate for d, and
// measures it.
//
// A capture that has run a while holds the previous versions of the
// objects churn touches in its cache; a fresh one reads them from the
// store. warm is churn at rate before the window, so the window measures
// the one that has run a while (0: the fresh one).
func steadyWindow(ctx context.Context, l *lab, p *prober, start func(string) (*child, error), name string, rate float64, d, warm time.Duration) (steadyResult, error) {
	c, err := start(name)
	if err != nil {
		return steadyResult{}, err
	}
	defer c.halt()
	// Caught up (the probe's last rename is in Kafka) before the window.
	kw := &watcher{name: "kafka", p: p}
	kw.next = p.sent() + 1 // earlier probes were measured by earlier windows
	kcl, err := kgo.NewClient(kgo.SeedBrokers(l.brokers), kgo.ConsumeTopics(l.prefix+".person"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(20*time.Millisecond))
	if err != nil {
		return steadyResult{}, err
	}
	defer kcl.Close()
	if _, err := l.waitSlot(ctx, l.slot, l.walLSN(ctx), 2*time.Minute); err != nil {
		return steadyResult{}, err
	}
	if warm > 0 {
		if _, err := demo.Churn(ctx, l.pool, churnOptions(rate, warm, 4, false), nil); err != nil {
			return steadyResult{}, err
		}
		if _, err := l.waitSlot(ctx, l.slot, l.walLSN(ctx), 2*time.Minute); err != nil {
			return steadyResult{}, err
		}
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	sw := &watcher{name: "walsender", p: p}
	wg.Add(2)
	go func() { defer wg.Done(); kw.consume(wctx, kcl) }()
	go func() { defer wg.Done(); sw.pollSent(wctx, l, 10*time.Millisecond) }()
	time.Sleep(time.Second) // the consumer at the end of the topic
	first := p.sent() + 1
	for _, w := range []*watcher{kw, sw} {
		w.mu.Lock()
		w.next, w.lat = first, nil
		w.mu.Unlock()
	}

	m0, _ := scrape(l.metrics)
	cpu0 := procCPU(c.cmd.Process.Pid)
	pctx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan error, 1)
	go func() { probeDone <- p.run(pctx) }()
	t0 := time.Now()
	st, err := demo.Churn(ctx, l.pool, churnOptions(rate, d, 4, false), nil)
	stopProbe()
	if perr := <-probeDone; err == nil {
		err = perr
	}
	if err != nil {
		return steadyResult{}, err
	}
	elapsed := time.Since(t0)
	if err := waitResolved(ctx, []*watcher{kw, sw}, p.sent(), time.Minute); err != nil {
		return steadyResult{}, err
	}
	cpu := procCPU(c.cmd.Process.Pid) - cpu0
	m1, _ := scrape(l.metrics)
	changes := float64(writesOf(st) + int64(p.sent()-first+1))
	txns := m1.sum("mocdc_capture_kafka_transactions_total", nil) - m0.sum("mocdc_capture_kafka_transactions_total", nil)
	return steadyResult{
		pub50: bucketQuantile(m0, m1, "mocdc_capture_publish_seconds", 0.5),
		pub99: bucketQuantile(m0, m1, "mocdc_capture_publish_seconds", 0.99),
		rate:  rate, reached: float64(writesOf(st)) / elapsed.Seconds(),
		cpuPerK: cpu / changes * 1000, txnsPerS: txns / elapsed.Seconds(),
		p50: kw.q(0.5), p99: kw.q(0.99), max: kw.q(1),
		dec50: sw.q(0.5), dec99: sw.q(0.99),
	}, nil
}

// bucketQuantile is the upper bound of the histogram bucket that holds the
// q quantile of the observations made between scrapes m0 and m1.
func bucketQuantile(m0, m1 samples, name string, q float64) time.Duration {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for _, s := range m1 {
		if s.name != name+"_bucket" {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			le = math.Inf(1)
		}
		bs = append(bs, bucket{le, s.value - m0.sum(name+"_bucket", map[string]string{"le": s.labels["le"]})})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return 0
	}
	total := bs[len(bs)-1].n
	for _, b := range bs {
		if b.n >= q*total {
			if math.IsInf(b.le, 1) {
				return -1
			}
			return time.Duration(b.le * float64(time.Second))
		}
	}
	return -1
}

// logTail is the last n lines of the file at path.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// procCPU is a process's user+system CPU in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / userHZ
}

// load is the machine's load average (the machine is shared).
func load() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load ?"
	}
	return "load " + strings.Join(f[:3], " ")
}
