package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// tmuxSession runs command in a detached tmux session of a fixed size and
// returns a function that reads its screen (capture-pane).
func tmuxSession(t *testing.T, name, command string) func() string {
	t.Helper()
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "60", command).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session (deploy/local/services up installs tmux): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	return func() string {
		out, err := exec.Command("tmux", "capture-pane", "-p", "-t", name).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("(tmux capture-pane: %v: %s)", err, out)
		}
		return string(out)
	}
}

// waitScreen polls the screen until ok accepts it.
func waitScreen(t *testing.T, what string, screen func() string, ok func(string) bool) string {
	t.Helper()
	var s string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if s = screen(); ok(s) {
			return s
		}
	}
	t.Fatalf("%s: the screen never showed it; last screen:\n%s", what, s)
	return ""
}

var eventsRate = regexp.MustCompile(`capture\s+([0-9.]+) events/s`)

// TestLiveView drives the live screen as a user sees it, inside tmux:
// `mocdc status --watch` beside a running pipeline shows the slot, every
// sink, events/s by MO type while MO changes, the ledger head and dead
// letters, and q quits; `mocdc run` on a terminal shows the same screen,
// logs to its --log-file, and q stops it cleanly; without a terminal
// --watch prints one line per refresh.
var ledgerHead = regexp.MustCompile(`ledger head (\d+)`)

func TestLiveView(t *testing.T) {
	mirrorDSN := testenv.NewPostgresDB(t, "live_mirror")
	metricsAddr := "127.0.0.1:" + freePort(t)
	e := newE2E(t, 40, fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
metrics:
  listen: %s
`, mirrorDSN, metricsAddr))
	run := e.spawn("run", "--config", e.config)
	e.waitSnapshot()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 8, Rate: 25, Workers: 1}, nil) }()

	session := "mocdc-live-" + strings.ToLower(e.prefix)
	screen := tmuxSession(t, session, fmt.Sprintf("sh -c '%s status --watch --interval 1s --config %s; echo EXIT=$?; sleep 60'", e.bin, e.config))
	s := waitScreen(t, "status --watch with events flowing", screen, func(s string) bool {
		m := eventsRate.FindStringSubmatch(s)
		if m == nil {
			return false
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		// The ledger head too: under load the run's ledger builder may
		// join its group seconds after events flow (status then says
		// "behind, no instance running" and the head is 0).
		h := ledgerHead.FindStringSubmatch(s)
		return v > 0 && strings.Contains(s, "mocdc status --watch") && strings.Contains(s, "SLOT") &&
			strings.Contains(s, "mirror pg") && h != nil && h[1] != "0" && strings.Contains(s, "dead letters")
	})
	if !regexp.MustCompile(`(person|engagement|address|org_unit|ituser|manager|class) [0-9.]+`).MatchString(s) {
		t.Errorf("no events/s by MO type on the screen:\n%s", s)
	}
	if m := ledgerHead.FindStringSubmatch(s); m == nil || m[1] == "0" {
		t.Errorf("the ledger head is not on the screen (the run's ledger builder has entries):\n%s", s)
	}
	if err := exec.Command("tmux", "send-keys", "-t", session, "q").Run(); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, "q ends status --watch", screen, func(s string) bool { return strings.Contains(s, "EXIT=0") })

	// Not a terminal: one plain line per refresh.
	pctx, pcancel := context.WithTimeout(context.Background(), 4*time.Second)
	out, _ := exec.CommandContext(pctx, e.bin, "status", "--watch", "--interval", "500ms", "--config", e.config).Output()
	pcancel()
	lines := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\S+ events=[0-9.]+/s .*slot_lag=.*pg_lag=\d+`).FindAllString(string(out), -1)
	if len(lines) < 3 {
		t.Errorf("status --watch into a pipe: %d plain lines in 4 s, want one per refresh:\n%s", len(lines), out)
	}

	// `mocdc run` itself on a terminal: the pipeline moves to the screen.
	run.kill()
	logPath := filepath.Join(e.dir, "run-live.log")
	runSession := session + "-run"
	runScreen := tmuxSession(t, runSession, fmt.Sprintf("sh -c '%s run --config %s --log-file %s; echo EXIT=$?; sleep 60'", e.bin, e.config, logPath))
	waitScreen(t, "mocdc run's live screen", runScreen, func(s string) bool {
		return strings.Contains(s, "mocdc run") && strings.Contains(s, "log: "+logPath) && strings.Contains(s, "mirror pg") &&
			eventsRate.MatchString(s)
	})
	if err := exec.Command("tmux", "send-keys", "-t", runSession, "q").Run(); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, "q stops mocdc run cleanly", runScreen, func(s string) bool {
		return strings.Contains(s, "mocdc run stopped; its log is "+logPath) && strings.Contains(s, "EXIT=0")
	})
	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logText), "stopped") {
		t.Errorf("the run's log file has no line saying it stopped:\n%s", logText)
	}
}

// TestSeedBarUnderTmux: long work run from a terminal shows a progress bar
// with its rate and the time left (here `mocdc store seed`), and the
// command's summary after it.
func TestSeedBarUnderTmux(t *testing.T) {
	dsn := testenv.NewPostgresDB(t, "seed_bar")
	bin := mocdcBinary(t)
	if out, err := exec.Command(bin, "store", "init", "--dsn", dsn).CombinedOutput(); err != nil {
		t.Fatalf("store init: %v: %s", err, out)
	}
	name := fmt.Sprintf("mocdc-seed-%d-%d", os.Getpid(), time.Now().UnixNano())
	screen := tmuxSession(t, name, fmt.Sprintf("sh -c '%s store seed --dsn \"%s\" --persons 3000 --seed 3; echo EXIT=$?; sleep 60'", bin, dsn))
	bar := regexp.MustCompile(`seed\s+\d+% .*\(\d+/\d+, [0-9.]+ objects/s\)`)
	sawBar := false
	s := waitScreen(t, "the seed's bar, then its summary", screen, func(s string) bool {
		sawBar = sawBar || bar.MatchString(s)
		return strings.Contains(s, "EXIT=")
	})
	if !strings.Contains(s, "EXIT=0") || !strings.Contains(s, "seeded ") {
		t.Fatalf("store seed failed:\n%s", s)
	}
	if !sawBar {
		t.Errorf("no progress bar with count and rate while seeding; final screen:\n%s", s)
	}
}
