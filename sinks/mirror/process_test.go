package mirror

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// The crash and scaling tests run the mirror in child processes — this test
// binary re-executed in helper mode — so that they can kill it with
// SIGKILL, mid-batch, like a node that dies.

const helperEnv = "MOCDC_MIRROR_HELPER"

type helperSpec struct {
	Config  Config
	Brokers []string
	Prefix  string
	Now     time.Time
}

// TestHelperProcess is not a test: in a child started by startHelper it
// runs one mirror instance until killed or sent SIGTERM.
func TestHelperProcess(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		return // not a helper child: nothing to do
	}
	var spec helperSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	now := func() time.Time { return spec.Now }
	err := Run(ctx, spec.Config, RunDeps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(spec.Brokers...)}, Topics: event.Topics{Prefix: spec.Prefix}, Logger: log, Clock: now})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helper is a running child mirror.
type helper struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the child has exited
	err  error         // its exit status, once done
	log  string
}

// startHelper starts a child mirror for cfg; its log goes to a file in
// the test's temp dir (its tail is printed when the test fails).
func startHelper(t *testing.T, cfg Config, k *kafkaEnv, name string) *helper {
	t.Helper()
	spec, err := json.Marshal(helperSpec{Config: cfg, Brokers: k.brokers, Prefix: k.topics.Prefix, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		h.err = cmd.Wait()
		logFile.Close()
		close(h.done)
	}()
	t.Cleanup(func() {
		h.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("log of %s (tail):\n%s", name, b)
		}
	})
	return h
}

// kill sends SIGKILL to the child (only to it, by its pid) and waits.
func (h *helper) kill() {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Kill()
	<-h.done
}

// stop sends SIGTERM and waits for a clean exit.
func (h *helper) stop(t *testing.T) {
	t.Helper()
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
		if h.err != nil {
			t.Errorf("mirror did not stop cleanly on SIGTERM: %v", h.err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("mirror did not stop within 30s of SIGTERM")
		h.kill()
	}
}

// logs returns the child's log so far.
func (h *helper) logs() string {
	b, _ := os.ReadFile(h.log)
	return string(b)
}
