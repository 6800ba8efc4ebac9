package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench capture|bigtxn|latency|initial|steady|kill|view|peer [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "capture":
		err = benchCapture(ctx, os.Args[2:])
	case "bigtxn":
		err = benchBigTxn(ctx, os.Args[2:])
	case "latency":
		err = benchLatency(ctx, os.Args[2:])
	case "steady":
		err = benchSteady(ctx, os.Args[2:])
	case "kill":
		err = benchKill(ctx, os.Args[2:])
	case "initial":
		err = benchInitial(ctx, os.Args[2:])
	case "view":
		err = benchView(ctx, os.Args[2:])
	case "peer":
		err = benchPeer(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown scenario %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// lab is one scenario's database, topics and mocdc binary.
type lab struct {
	admin, dsn, db string
	brokers        string
	prefix, slot   string
	bin, dir       string
	metrics        string   // host:port of the child's /metrics
	env            []string // added to the next child's environment
	pool           *pgxpool.Pool
}

func newLab(ctx context.Context, name string) (*lab, error) { return newLabWith(ctx, name, true) }

// newLabWith makes a lab; without build it has no mocdc binary (a test of
// the peer alone needs none).
func newLabWith(ctx context.Context, name string, build bool) (*lab, error) {
	admin := os.Getenv("MOCDC_TEST_PG_DSN")
	brokers := os.Getenv("MOCDC_TEST_KAFKA")
	if admin == "" || brokers == "" {
		return nil, fmt.Errorf("MOCDC_TEST_PG_DSN / MOCDC_TEST_KAFKA unset: run `deploy/local/services up` and `source .mocdc/env`")
	}
	stamp := strconv.FormatInt(time.Now().Unix(), 36)
	l := &lab{admin: admin, brokers: brokers, db: "bench_" + name + "_" + stamp, prefix: "bench" + stamp, slot: "bench_" + stamp}
	l.dsn = strings.Replace(admin, "/postgres?", "/"+l.db+"?", 1)
	// A free port for the child's /metrics, so that a scrape never reads
	// another process (make run, a second bench) by mistake.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l.metrics = ln.Addr().String()
	ln.Close()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+l.db); err != nil {
		return nil, err
	}
	if err := l.prepare(ctx, build); err != nil {
		l.close() // the database exists: drop it
		return nil, err
	}
	return l, nil
}

// prepare makes the MO store schema, the pool and (build) the mocdc binary.
func (l *lab) prepare(ctx context.Context, build bool) error {
	c, err := store.Connect(ctx, l.dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if err := store.Init(ctx, c); err != nil {
		return err
	}
	if l.pool, err = pgxpool.New(ctx, l.dsn); err != nil {
		return err
	}
	if l.dir, err = os.MkdirTemp("", "mocdc-bench"); err != nil {
		return err
	}
	if !build {
		return nil
	}
	l.bin = filepath.Join(l.dir, "mocdc")
	cmd := exec.Command("go", "build", "-o", l.bin, "github.com/os2mo-cdc/mocdc/cmd/mocdc") // from any directory of the module (tests run in bench/)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build mocdc: %w", err)
	}
	return nil
}

// close drops the database (and its slots) and the topics.
func (l *lab) close() {
	ctx := context.Background()
	if l.pool != nil {
		l.pool.Close()
	}
	if conn, err := pgx.Connect(ctx, l.admin); err == nil {
		_, _ = conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, l.db)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+l.db+" WITH (FORCE)")
		conn.Close(ctx)
	}
	if cl, err := kgo.NewClient(kgo.SeedBrokers(l.brokers)); err == nil {
		adm := kadm.NewClient(cl)
		if topics, err := adm.ListTopics(ctx); err == nil {
			var del []string
			for _, t := range topics.Names() {
				if strings.HasPrefix(t, l.prefix+".") {
					del = append(del, t)
				}
			}
			_, _ = adm.DeleteTopics(ctx, del...)
		}
		cl.Close()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// config writes a capture configuration and returns its path.
func (l *lab) config(extra string) string {
	path := filepath.Join(l.dir, "mocdc.yaml")
	body := fmt.Sprintf("store:\n  dsn: %s\nkafka:\n  brokers: [%s]\n  topic_prefix: %s\ncapture:\n  slot: %s\n  publication: mocdc\n  heartbeat: 1s\n%smetrics:\n  listen: %s\n",
		l.dsn, l.brokers, l.prefix, l.slot, extra, l.metrics)
	_ = os.WriteFile(path, []byte(body), 0o600)
	return path
}

// child is a running child process (mocdc, Kafka Connect) whose peak RSS
// is sampled.
type child struct {
	cmd  *exec.Cmd
	peak chan int64
	stop chan struct{}
	done chan struct{} // closed when the process has exited
	// maxRSS is the peak RSS in KiB, set by halt.
	maxRSS int64
}

// startCapture runs `mocdc capture` and samples its peak RSS.
func (l *lab) startCapture(cfg string) (*child, error) { return l.start("capture", cfg) }

// start runs `mocdc <sub> --config cfg`, its log in <dir>/<sub>.log, and
// samples its peak RSS.
func (l *lab) start(sub, cfg string) (*child, error) {
	cmd := exec.Command(l.bin, sub, "--config", cfg)
	cmd.Env = append(os.Environ(), l.env...)
	return startProcess(cmd, filepath.Join(l.dir, sub+".log"))
}

// startProcess starts cmd with its output in logPath and samples its peak
// RSS every 100 ms.
func startProcess(cmd *exec.Cmd, logPath string) (*child, error) {
	logf, _ := os.Create(logPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, peak: make(chan int64, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss := rssKiB(cmd.Process.Pid); rss > peak {
				peak = rss
			}
			select {
			case <-c.stop:
				c.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return c, nil
}

// exited says whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// halt stops the child and returns its peak RSS in KiB (also kept in
// maxRSS). A second call returns the same.
func (c *child) halt() int64 {
	select {
	case <-c.stop:
		return c.maxRSS
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	close(c.stop)
	c.maxRSS = <-c.peak
	return c.maxRSS
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// waitSnapshot waits until capture's checkpoint says the snapshot is done.
func (l *lab) waitSnapshot(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		cp, err := publish.ReadCheckpoint(ctx, []kgo.Opt{kgo.SeedBrokers(l.brokers)}, l.prefix+"._capture.checkpoint", l.slot)
		if err == nil && cp != nil && cp.SnapshotDone {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("snapshot not done within %s", within)
}

// waitSlot waits until slot's confirmed position reaches lsn.
func (l *lab) waitSlot(ctx context.Context, slot, lsn string, within time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < within {
		var ok *bool
		if err := l.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2`, lsn, slot).Scan(&ok); err == nil && ok != nil && *ok {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("slot %s did not reach %s within %s", slot, lsn, within)
}

func (l *lab) walLSN(ctx context.Context) string {
	var s string
	_ = l.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&s)
	return s
}

// metric sums the series of one metric on the child's /metrics (0 when
// the child does not answer).
func (l *lab) metric(name string) float64 {
	ss, _ := scrape(l.metrics)
	return ss.sum(name, nil)
}

func flags(name string, args []string, def func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	def(fs)
	return fs.Parse(args)
}
