package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

// TestRunStopsCleanlyOnSIGTERM: `mocdc run` (capture, a PostgreSQL mirror,
// the ledger builder, demo churn) gets SIGTERM while MO changes: it exits 0
// within the documented bound, logs one line saying it stopped and where
// each component stands, and `mocdc status` right after shows lag 0 for
// the mirror and the ledger (capture stopped first and the sinks applied
// what it had published) and no instance left in their groups (they left at
// once instead of waiting for the session timeout).
func TestRunStopsCleanlyOnSIGTERM(t *testing.T) {
	mirrorDSN := testenv.NewPostgresDB(t, "stopmirror")
	port := freePort(t)
	e := newE2E(t, 60, "")
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
    group: %s-mirror-pg
metrics:
  listen: 127.0.0.1:%s
demo:
  enabled: true
  persons: 60
  seed: 9
  churn_rate: 20
`, mirrorDSN, e.prefix, port)...)
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	run := e.spawn("run", "--config", e.config)

	// Caught up: every sink at lag 0 (while the churn goes on).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := e.status()
		if err == nil && st.caughtUp() {
			break
		}
		select {
		case <-run.done:
			t.Fatalf("mocdc run exited; log:\n%s", e.tail("run"))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sinks not caught up within 3 minutes (%v, %+v); log:\n%s", err, st, e.tail("run"))
		}
		time.Sleep(time.Second)
	}
	time.Sleep(2 * time.Second) // more changes in flight at the signal

	signalled := time.Now()
	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// capture.StopTimeout + drainTimeout + the sinks' own stop, with room.
	const bound = 40 * time.Second
	select {
	case <-run.done:
	case <-time.After(bound):
		t.Fatalf("mocdc run did not stop within %s of SIGTERM; log:\n%s", bound, e.tail("run"))
	}
	took := time.Since(signalled)
	if run.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("mocdc run exited with %v after SIGTERM; log:\n%s", run.cmd.ProcessState, e.tail("run"))
	}
	logText, _ := os.ReadFile(filepath.Join(e.dir, "run.log"))
	var stopLine string
	for _, l := range strings.Split(string(logText), "\n") {
		if strings.Contains(l, `msg=stopped `) {
			stopLine = l
		}
	}
	for _, want := range []string{"drained=true", "capture_confirmed_lsn=", "mirror-pg_lag=0", "ledger_head_sequence="} {
		if !strings.Contains(stopLine, want) {
			t.Errorf("stop line %q does not say %s; log:\n%s", stopLine, want, e.tail("run"))
		}
	}

	st, err := e.status()
	if err != nil {
		t.Fatalf("mocdc status after the stop: %v", err)
	}
	for _, s := range st.Sinks {
		if s.Lag == nil || *s.Lag != 0 {
			lag := "unknown"
			if s.Lag != nil {
				lag = fmt.Sprint(*s.Lag)
			}
			t.Errorf("after SIGTERM sink %s has lag %s, want 0 (%s); log:\n%s", s.Name, lag, s.Error, e.tail("run"))
		}
		if s.Instances == nil || *s.Instances != 0 {
			t.Errorf("after SIGTERM sink %s still has %v instance(s) in group %s: it did not leave its group", s.Name, s.Instances, s.Group)
		}
	}
	if st.Capture.Active {
		t.Errorf("the slot is still active after the stop")
	}
	t.Logf("stopped %s after SIGTERM: %s", took.Round(time.Millisecond), stopLine)
}

// status runs `mocdc status --json` on the e2e config.
func (e *e2e) status() (statusJSON, error) {
	out, err := exec.Command(e.bin, "status", "--config", e.config, "--json", "--timeout", "20s").Output()
	var st statusJSON
	if jerr := json.Unmarshal(out, &st); jerr != nil {
		return st, fmt.Errorf("status: %v %v: %s", err, jerr, out)
	}
	return st, err
}

type statusJSON struct {
	Capture struct {
		Active bool `json:"active"`
	} `json:"capture"`
	Sinks []struct {
		Name      string `json:"name"`
		Group     string `json:"group"`
		Lag       *int64 `json:"lag"`
		Instances *int   `json:"instances"`
		Error     string `json:"error"`
	} `json:"sinks"`
}

func (s statusJSON) caughtUp() bool {
	if len(s.Sinks) < 2 {
		return false
	}
	for _, k := range s.Sinks {
		if k.Lag == nil || *k.Lag != 0 {
			return false
		}
	}
	return true
}
