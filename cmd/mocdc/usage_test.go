package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// runBare runs the mocdc binary with no environment but PATH: no env file,
// no DSN, no Kafka. It returns stdout, stderr and the exit code.
func runBare(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(mocdcBinary(t), args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = t.TempDir() // no mocdc.yaml next to it either
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestHelpExitsZeroForEveryCommand: --help and -h print the usage of every
// command and command group on stdout and exit 0, without an environment.
func TestHelpExitsZeroForEveryCommand(t *testing.T) {
	type tc struct {
		args []string
		want []string // in stdout
		not  []string // not in stdout
	}
	var cases []tc
	for _, h := range []string{"--help", "-h"} {
		cases = append(cases, tc{args: []string{h}, want: []string{"Usage:", "mocdc sink mirror", "mocdc store churn", "mocdc --version"}})
		for _, c := range commands {
			cases = append(cases, tc{args: append(strings.Fields(c.path), h), want: []string{"Usage: mocdc " + c.path, "Flags:"}})
		}
		for _, g := range groups {
			cases = append(cases, tc{args: []string{g, h}, want: []string{"Usage: mocdc " + g + " COMMAND"}})
		}
	}
	cases = append(cases,
		tc{args: []string{"help"}, want: []string{"Usage:", "mocdc capture --config FILE"}},
		tc{args: []string{"sink", "--help"}, want: []string{"mocdc sink ledger", "mocdc sink mirror"}, not: []string{"mocdc capture"}},
		tc{args: []string{"ledger", "--help"}, want: []string{"mocdc ledger keygen", "mocdc ledger verify", "mocdc ledger query"}, not: []string{"mocdc sink"}},
		tc{args: []string{"config", "--help"}, want: []string{"mocdc config check"}},
		tc{args: []string{"store", "--help"}, want: []string{"mocdc store init", "mocdc store seed", "mocdc store churn"}},
		// Only seed's own flags.
		tc{args: []string{"store", "seed", "--help"}, want: []string{"-persons", "-seed", "-dsn"}, not: []string{"-rate", "-duration"}},
		tc{args: []string{"store", "churn", "--help"}, want: []string{"-rate", "-duration", "-seed"}, not: []string{"-persons"}},
		tc{args: []string{"store", "init", "-h"}, want: []string{"-dsn"}, not: []string{"-persons", "-rate", "-seed"}},
		tc{args: []string{"sink", "mirror", "--help"}, want: []string{"-target", "-rebuild", "-config"}},
		tc{args: []string{"ledger", "query", "--help"}, want: []string{"-field", "-uuid", "-kind"}},
	)
	for _, c := range cases {
		stdout, stderr, code := runBare(t, c.args...)
		name := "mocdc " + strings.Join(c.args, " ")
		if code != 0 {
			t.Errorf("%s: exit %d, want 0; stderr: %s", name, code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", name, w, stdout)
			}
		}
		for _, n := range c.not {
			if strings.Contains(stdout, n) {
				t.Errorf("%s: stdout shows %q, which is not this command's:\n%s", name, n, stdout)
			}
		}
	}
}

// TestUsageErrorsExitTwo: a group without its command, an unknown command
// or flag and a stray argument print the usage on stderr and exit 2.
func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"sink"},
		{"ledger"},
		{"config"},
		{"store"},
		{"sink", "nosuch"},
		{"nosuch"},
		{"status", "--no-such-flag"},
		{"status", "--config", "x.yaml", "extra"},
		{"store", "seed", "--rate", "5"}, // churn's flag, not seed's
	} {
		stdout, stderr, code := runBare(t, args...)
		name := "mocdc " + strings.Join(args, " ")
		if code != 2 {
			t.Errorf("%s: exit %d, want 2; stdout %q stderr %q", name, code, stdout, stderr)
		}
		if !strings.Contains(stderr, "Usage") {
			t.Errorf("%s: stderr has no usage: %q", name, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		stdout, stderr, code := runBare(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "mocdc ") || !strings.Contains(stdout, "commit ") {
			t.Errorf("mocdc %s: exit %d, stdout %q, stderr %q; want exit 0 and `mocdc VERSION commit ...`", args[0], code, stdout, stderr)
		}
	}
	// What -ldflags "-X main.version=... -X main.commit=..." (make build) sets.
	version, commit = "v1.4.0", "0123456789abcdef0123456789abcdef01234567"
	defer func() { version, commit = "", "" }()
	got := versionString()
	if !strings.HasPrefix(got, "mocdc v1.4.0 commit 0123456789abcdef0123456789abcdef01234567") {
		t.Errorf("versionString() = %q", got)
	}
}

// An auditor's typo is an error that says what is valid, never an empty
// table with exit 0. Nothing is read from Kafka for it.
func TestLedgerQueryRefusesWhatCannotMatch(t *testing.T) {
	cfg := writeTemp(t, "kafka:\n  brokers: [127.0.0.1:1]\n")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--field", "job_functon"}, []string{`--field "job_functon" is not a field of any MO type: did you mean "job_function"?`, "engagement_type", "validity"}},
		{[]string{"--type", "engagement", "--field", "cpr_number"}, []string{`--field "cpr_number" is not a field of engagement (its fields: `, "job_function"}},
		{[]string{"--uuid", "not-a-uuid"}, []string{`--uuid "not-a-uuid" is not a uuid: give the object's uuid as 8-4-4-4-12 hex digits`}},
		{[]string{"--uuid", "6d1c3a7e2b8f4c559e0a3f4b2d1e8c90"}, []string{`is not a uuid`}},
		{[]string{"--kind", "read", "--field", "job_function"}, []string{"--field matches writes only"}},
		{[]string{"--from", "2024-03-06", "--to", "2024-03-05"}, []string{"is not before --to"}},
		{[]string{"--type", "employee"}, []string{`--type "employee" is not an MO type (one of `}},
	} {
		stdout, stderr, code := runBare(t, append([]string{"ledger", "query", "--config", cfg}, c.args...)...)
		name := strings.Join(c.args, " ")
		if code != 1 || stdout != "" {
			t.Errorf("ledger query %s: exit %d, stdout %q; want exit 1 and no table", name, code, stdout)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("ledger query %s: stderr lacks %q:\n%s", name, w, stderr)
			}
		}
	}
}
