package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// benchKill is crash recovery of a sink instance (issue 18, point 5):
// capture and one PostgreSQL mirror (`mocdc sink mirror`) run as separate
// processes while MO churns and a probe renames one person every
// -probe-every; the mirror is killed with SIGKILL and started again at once
// (as systemd's Restart=always or the kubelet would), and the scenario
// measures the time from the kill until the mirror is fresh again: a probe
// committed after the kill visible within 1 s of its commit. Rounds
// alternate between the mirror with an instance_id (static group
// membership) and without (dynamic, the reference) in the same run.
func benchKill(ctx context.Context, args []string) error {
	var (
		persons, rounds int
		rate            float64
		settle          time.Duration
		session         time.Duration
		probeEvery      time.Duration
		fresh           time.Duration
	)
	if err := flags("kill", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 1000, "persons to seed")
		fs.Float64Var(&rate, "rate", 100, "churn rate during the kills: MO object changes per second")
		fs.IntVar(&rounds, "rounds", 3, "kills per mode (static and dynamic membership, alternating)")
		fs.DurationVar(&settle, "settle", 5*time.Second, "how long the mirror must have been fresh before the next kill")
		fs.DurationVar(&session, "session-timeout", 10*time.Second, "the mirror's session_timeout (its default)")
		fs.DurationVar(&probeEvery, "probe-every", 100*time.Millisecond, "how often the probe renames its person")
		fs.DurationVar(&fresh, "fresh", time.Second, "what counts as fresh: a probe visible within this long of its commit")
	}); err != nil {
		return err
	}
	l, err := newLab(ctx, "kill")
	if err != nil {
		return err
	}
	defer l.close()
	if err := l.setSyncCommit(ctx, l.db, true); err != nil {
		return err
	}
	sum, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: persons})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d persons: %d objects\n", persons, sum.Objects)
	t, err := l.newMirrorDB(ctx, "pg")
	if err != nil {
		return err
	}
	defer t.close()
	defer l.deleteGroups([]*mirrorDB{t})

	capCfg := l.config("  topics:\n    partitions: 6\n")
	capture, err := l.startCapture(capCfg)
	if err != nil {
		return err
	}
	defer capture.halt()
	if err := l.waitSnapshot(ctx, 5*time.Minute); err != nil {
		return err
	}
	// The mirror's configuration: its own file and /metrics port, with
	// and without instance_id.
	sinkCfg := func(static bool) string {
		var b strings.Builder
		fmt.Fprintf(&b, "store:\n  dsn: %s\nkafka:\n  brokers: [%s]\n  topic_prefix: %s\n", l.dsn, l.brokers, l.prefix)
		if static {
			b.WriteString("instance_id: bench-mirror-0\n")
		}
		fmt.Fprintf(&b, "mirrors:\n  - name: pg\n    dialect: postgres\n    dsn: %q\n    mode: actual\n    group: %s\n    session_timeout: %s\n", t.dsn, t.group, session)
		path := filepath.Join(l.dir, fmt.Sprintf("mirror-static-%v.yaml", static))
		_ = os.WriteFile(path, []byte(b.String()), 0o600)
		return path
	}
	cfgs := map[bool]string{true: sinkCfg(true), false: sinkCfg(false)}
	logf, err := os.Create(filepath.Join(l.dir, "mirror.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	keepLog := filepath.Join(os.TempDir(), "mocdc-bench-kill-mirror.log")
	defer func() {
		if b, err := os.ReadFile(logf.Name()); err == nil {
			_ = os.WriteFile(keepLog, b, 0o644)
		}
	}()
	var (
		sinkMu sync.Mutex
		sink   *exec.Cmd
	)
	startSink := func(static bool) error {
		cmd := exec.Command(l.bin, "sink", "mirror", "--config", cfgs[static], "--target", "pg")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return err
		}
		sinkMu.Lock()
		sink = cmd
		sinkMu.Unlock()
		return nil
	}
	killSink := func() {
		sinkMu.Lock()
		defer sinkMu.Unlock()
		if sink != nil {
			_ = sink.Process.Kill() // SIGKILL, this child only
			_ = sink.Wait()
			sink = nil
		}
	}
	defer killSink()
	if err := startSink(false); err != nil {
		return err
	}

	org, err := l.organisation(ctx)
	if err != nil {
		return err
	}
	w := writer.New(store.NewWriter(l.pool), writer.SQLScopes{DB: l.pool}, org)
	churnCtx, stopChurn := context.WithCancel(ctx)
	churnDone := make(chan error, 1)
	started := make(chan struct{})
	var once sync.Once
	go func() {
		_, err := demo.Churn(churnCtx, l.pool, churnOptions(rate, 24*time.Hour, 4, false), func(demo.ChurnStats) { once.Do(func() { close(started) }) })
		once.Do(func() { close(started) })
		churnDone <- err
	}()
	defer func() { stopChurn(); <-churnDone }()
	<-started
	p := &prober{w: w, uuid: newUUID(), every: probeEvery, lsn: l.walFlush}
	if err := p.create(ctx); err != nil {
		return err
	}
	mw := &watcher{name: "pg", p: p}
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopWatch(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); mw.pollDB(wctx, t, 10*time.Millisecond) }()
	probeCtx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan error, 1)
	go func() { probeDone <- p.run(probeCtx) }()
	defer func() { stopProbe(); <-probeDone }()

	// seen returns when probe n became visible (false: not yet).
	seen := func(n int) (time.Time, bool) {
		mw.mu.Lock()
		defer mw.mu.Unlock()
		if n < 1 || n > len(mw.lat) {
			return time.Time{}, false
		}
		c, _ := p.committed(n)
		return c.Add(mw.lat[n-1]), true
	}
	// waitServed waits until the mirror shows the probe written now (so
	// the instance started last is serving), then d more.
	waitServed := func(d, within time.Duration) error {
		n := p.sent()
		if err := waitResolved(ctx, []*watcher{mw}, n, within); err != nil {
			return fmt.Errorf("%w; the mirror's log: %s", err, keepLog)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		return nil
	}
	if err := waitServed(settle, 10*time.Minute); err != nil {
		return err
	}
	fmt.Printf("mirror caught up; churn %.0f/s, probe every %s; killing the mirror %d times per mode (session_timeout %s)\n", rate, probeEvery, rounds, session)

	results := map[bool][]time.Duration{}
	static := false // the first instance runs without instance_id
	for i := 0; i < 2*rounds; i++ {
		next := i%2 == 0 // static, dynamic, static, …
		if next != static {
			// Switching mode is a clean restart, not a measured one.
			sinkMu.Lock()
			_ = sink.Process.Signal(os.Interrupt)
			stopped := make(chan struct{})
			go func(c *exec.Cmd) { _ = c.Wait(); close(stopped) }(sink)
			select {
			case <-stopped:
			case <-time.After(30 * time.Second):
				_ = sink.Process.Kill()
				<-stopped
			}
			sink = nil
			sinkMu.Unlock()
			static = next
			if err := startSink(static); err != nil {
				return err
			}
			if err := waitServed(settle, 2*time.Minute); err != nil {
				return err
			}
		}
		killedAt := time.Now()
		killSink()
		if err := startSink(static); err != nil {
			return err
		}
		// Recovered: the first probe committed after the kill that became
		// visible within fresh of its commit.
		var rec time.Duration
		deadline := killedAt.Add(2 * time.Minute)
		for rec == 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("the mirror did not recover within 2 minutes of the kill; its log: %s", keepLog)
			}
			for n := p.sent(); n >= 1; n-- {
				c, _ := p.committed(n)
				if c.Before(killedAt) {
					break
				}
				if s, ok := seen(n); ok && s.Sub(c) < fresh {
					if rec == 0 || s.Sub(killedAt) < rec {
						rec = s.Sub(killedAt)
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		results[static] = append(results[static], rec)
		fmt.Printf("kill %d (%s membership): fresh again %s after the kill\n", i+1, mode(static), rec.Round(10*time.Millisecond))
		if err := waitServed(settle, 2*time.Minute); err != nil {
			return err
		}
	}
	fmt.Printf("\ncrash recovery of a mirror instance (kill -9, restarted at once), %d persons, churn %.0f/s, session_timeout %s:\n", persons, rate, session)
	for _, s := range []bool{true, false} {
		r := results[s]
		sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
		fmt.Printf("  %-34s median %s (min %s, max %s) over %d kills\n", mode(s)+" membership:", ms(r[len(r)/2]), ms(r[0]), ms(r[len(r)-1]), len(r))
	}
	return nil
}

func mode(static bool) string {
	if static {
		return "static (instance_id)"
	}
	return "dynamic (no instance_id)"
}
