package capture

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
)

// TestMain lets the test binary run as a capture child process, so tests can
// kill -9 a real capture at random moments.
func TestMain(m *testing.M) {
	if os.Getenv("MOCDC_CAPTURE_CHILD") != "" {
		os.Exit(captureChild())
	}
	os.Exit(m.Run())
}

// captureChild runs capture from environment settings until killed.
// MOCDC_CRASH_AFTER_COMMIT=n makes it exit right after its n-th Kafka
// commit, before it confirms the position to PostgreSQL.
func captureChild() int {
	ctx := context.Background()
	dsn := os.Getenv("MOCDC_CHILD_DSN")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	replCfg, _ := pgconn.ParseConfig(dsn)
	chunk, _ := strconv.Atoi(os.Getenv("MOCDC_CHILD_CHUNK"))
	cfg := Config{Slot: os.Getenv("MOCDC_CHILD_SLOT"), Heartbeat: 200 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond, SnapshotChunk: chunk, BatchEvents: 50}
	cfg.Topics.Partitions = 3
	var after func()
	if n, _ := strconv.Atoi(os.Getenv("MOCDC_CRASH_AFTER_COMMIT")); n > 0 {
		var commits atomic.Int64
		after = func() {
			if commits.Add(1) == int64(n) {
				fmt.Fprintln(os.Stderr, "CRASH after commit")
				os.Exit(3)
			}
		}
	}
	c, err := New(cfg, Deps{
		Pool: pool, ReplicationConfig: replCfg,
		KafkaOpts:   []kgo.Opt{kgo.SeedBrokers(os.Getenv("MOCDC_CHILD_BROKERS"))},
		Topics:      event.Topics{Prefix: os.Getenv("MOCDC_CHILD_PREFIX")},
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		AfterCommit: after,
		Progress: func(class string, n int64) {
			fmt.Fprintf(os.Stderr, "SNAPSHOT CHUNK %s %d\n", class, n)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is a running capture subprocess.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (e *env) spawn(t *testing.T, chunk int, crashAfter int, log func(string)) *child {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"MOCDC_CAPTURE_CHILD=1",
		"MOCDC_CHILD_DSN="+e.dsn,
		"MOCDC_CHILD_SLOT="+e.slot,
		"MOCDC_CHILD_BROKERS="+strings.Join(e.brokers, ","),
		"MOCDC_CHILD_PREFIX="+e.topics.Prefix,
		"MOCDC_CHILD_CHUNK="+strconv.Itoa(chunk),
		"MOCDC_CRASH_AFTER_COMMIT="+strconv.Itoa(crashAfter),
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log(sc.Text())
		}
		_ = cmd.Wait()
		close(ch.done)
	}()
	return ch
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// TestCaptureKill9: capture is killed with SIGKILL at random moments —
// during the initial snapshot, in the middle of streaming and of Kafka
// transactions, and (by a crash hook) between a Kafka commit and the slot
// confirm — at least 20 times while churn runs. Afterwards no event is
// missing and none is duplicated.
func TestCaptureKill9(t *testing.T) {
	e := newEnv(t)
	e.seed(400)
	var (
		mu    sync.Mutex
		lines []string
	)
	logLine := func(s string) {
		mu.Lock()
		lines = append(lines, s)
		mu.Unlock()
		if os.Getenv("MOCDC_TEST_VERBOSE") != "" || strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") {
			t.Log(s)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	kills, crashes := 0, 0

	// Phase 1: kill during the snapshot (small chunks make it long).
	chunks := make(chan struct{}, 1000)
	onLine := func(s string) {
		logLine(s)
		if strings.HasPrefix(s, "SNAPSHOT CHUNK") {
			select {
			case chunks <- struct{}{}:
			default:
			}
		}
	}
	for i := 0; i < 4; i++ {
		c := e.spawn(t, 40, 0, onLine)
		select {
		case <-chunks:
		case <-time.After(90 * time.Second):
			// Generous: creating the slot waits for every transaction
			// running on the server, also other test packages' bulk loads.
			t.Fatal("no snapshot chunk within 90 s")
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		c.kill()
		kills++
		for len(chunks) > 0 {
			<-chunks
		}
	}
	// Phase 2: churn in the background; kill at random moments, and let
	// some children crash right after a Kafka commit.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	churnDone := make(chan demo.ChurnStats, 1)
	go func() {
		st, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 5, Rate: 150, MaxChanges: 2500, Workers: 2}, nil)
		if err != nil {
			t.Error(err)
		}
		churnDone <- st
	}()
	churning := true
	for churning || kills+crashes < 22 {
		crashAfter := 0
		if (kills+crashes)%3 == 0 {
			crashAfter = 1 + rng.IntN(5)
		}
		c := e.spawn(t, 200, crashAfter, logLine)
		wait := time.Duration(200+rng.IntN(1800)) * time.Millisecond
		if crashAfter > 0 {
			// It crashes by itself after its commits: give it the time a
			// start takes on a loaded machine, or every such child would
			// be killed first and the case never tested.
			wait = time.Minute
		}
		select {
		case <-c.done:
			crashes++
		case <-time.After(wait):
			if c.exited() {
				crashes++
			} else {
				c.kill()
				kills++
			}
		}
		select {
		case <-churnDone:
			churning = false
		default:
		}
	}
	// Final run to the end.
	final := e.spawn(t, 200, 0, logLine)
	defer final.kill()
	e.waitSlot(time.Minute)
	e.waitCaughtUp(3 * time.Minute)
	got := e.readObjects(1, 2*time.Minute)
	checkSequences(t, got, e.registrations(context.Background()))
	mu.Lock()
	resumed, crashed := 0, 0
	for _, l := range lines {
		if strings.Contains(l, "resuming interrupted snapshot") {
			resumed++
		}
		if strings.Contains(l, "CRASH after commit") {
			crashed++
		}
	}
	mu.Unlock()
	t.Logf("%d kills, %d crashes after commit (%d logged), %d snapshot resumes, %d events", kills, crashes, crashed, resumed, len(got.events))
	if kills+crashes < 20 {
		t.Errorf("only %d kills", kills+crashes)
	}
	if resumed == 0 {
		t.Errorf("no kill landed inside the snapshot")
	}
	if crashed == 0 {
		t.Errorf("no crash between Kafka commit and slot confirm")
	}
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}
