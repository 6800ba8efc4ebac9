package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/ledger"
)

// TestComponentsExitOnRefusedKafka: against the local broker's SASL_SSL
// listener, `mocdc capture` and `mocdc sink ledger` with a wrong password,
// and `mocdc capture` as a principal without ACLs, exit 1 within seconds
// with an error that says what to check — no retry loop.
func TestComponentsExitOnRefusedKafka(t *testing.T) {
	sec := newSecureEnv(t)
	e := newE2E(t, 5, "")
	dir := t.TempDir()
	if _, _, err := ledger.GenerateKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	config := func(name, user, password string) string {
		s := *sec
		s.password = map[string]string{user: password}
		cfg := fmt.Sprintf("store:\n  dsn: %s\ncapture:\n  slot: %s\nledger:\n  private_key_file: %s/ledger.key\n  group_id: %s-ledger\n  transactional_id: %s-ledger\n",
			e.dsn, e.slot, dir, e.prefix, e.prefix) + s.kafkaSection(t, dir, e.prefix, user, "SCRAM-SHA-256")
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"capture, wrong password", []string{"capture", "--config", config("capture-pw", "capture", "not-the-password")},
			[]string{"SASL_AUTHENTICATION_FAILED", "check kafka.sasl"}},
		{"ledger, wrong password", []string{"sink", "ledger", "--config", config("ledger-pw", "ledger", "not-the-password")},
			[]string{"SASL_AUTHENTICATION_FAILED", "check kafka.sasl"}},
		{"capture, no ACLs", []string{"capture", "--config", config("capture-acl", "other", sec.password["other"])},
			[]string{"AUTHORIZATION_FAILED", "Kafka refused an operation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, e.bin, tc.args...).CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("mocdc %s still runs after 90 s; output:\n%s", tc.args[0], lastLines(string(out), 20))
			}
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("mocdc exited with %v, want 1; output:\n%s", err, lastLines(string(out), 20))
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not say %q:\n%s", w, lastLines(string(out), 20))
				}
			}
			if strings.Contains(string(out), "not-the-password") {
				t.Errorf("the password is in the output")
			}
		})
	}
}
