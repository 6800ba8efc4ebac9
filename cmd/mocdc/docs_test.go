package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
)

// TestDocsCommandsAfterMakeRun runs the shell blocks of README.md and
// docs/*.md that a user copies into a second terminal while `make run`
// runs, against a running `mocdc run`, and fails for each block that fails.
//
// To have a block run, put the marker on the line before its fence:
//
//	<!-- after-make-run -->
//	```sh
//	. .mocdc/env
//	mocdc status --config deploy/local/mocdc.yaml
//	```
//
// What a marked block can rely on, and must do:
//   - The blocks of one file run in order in one terminal session: what a
//     block exports (`. .mocdc/env`) holds for the file's next blocks. Each
//     file starts a new session with nothing set but PATH and HOME, like a
//     new terminal, so a file's first block sources .mocdc/env (or uses a
//     make target, which does).
//   - Each block runs in bash with `set -eo pipefail`: every command must
//     exit 0. Avoid `| head` (it can kill the writer with SIGPIPE); use tail.
//   - The working directory stands in for the checkout: deploy/local/mocdc.yaml
//     is the real one pointed at the test's own databases, topics, slot and
//     consumer groups (docsConfig); .mocdc/env is what `deploy/local/services
//     env` writes, with the test's databases' DSNs; .mocdc/bin/mocdc is the
//     binary under test; the Makefile is the real one (status, verify and
//     config-check work; targets that build or start services do not).
//   - Databases by their env variables ($MOCDC_MO_DSN, $MOCDC_MIRROR_PG_DSN),
//     never by a literal DSN: the test's databases have other names. Two
//     literals are replaced with the test's own: the metrics port
//     127.0.0.1:59100 and the demo's AD OU OU=demo,OU=mocdc,$MOCDC_TEST_AD_BASE.
//   - The blocks run once the pipeline has caught up (waitStatus): capture
//     published its snapshot, `mocdc status` exits 0, the mirrors and the
//     ledger have been at lag 0.
func TestDocsCommandsAfterMakeRun(t *testing.T) {
	files, blocks := docsBlocks(t)
	if len(blocks["README.md"]) < 2 {
		t.Fatalf("README.md has %d blocks marked %s; the second-terminal commands must be marked", len(blocks["README.md"]), docsMarker)
	}
	d := newDocsCheckout(t)
	run := d.start()
	d.waitStatus(run)
	for _, file := range files {
		state := filepath.Join(t.TempDir(), "session")
		if err := os.WriteFile(state, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks[file] {
			out, err := d.shell(state, b.text)
			if err != nil {
				t.Errorf("%s:%d: the block fails (%v):\n%s\n---- output ----\n%s", file, b.line, err, b.text, out)
			} else {
				t.Logf("%s:%d: ok\n%s", file, b.line, lastLines(out, 8))
			}
		}
	}
	select {
	case <-run.done:
		t.Errorf("mocdc run exited while the blocks ran; log:\n%s", d.tail())
	default:
	}
	// What the user saw in the first terminal meanwhile: no key twice in
	// a line, and no mirror "up to date" before capture's initial snapshot
	// was published.
	log := readFile(t, filepath.Join(d.dir, "run.log"))
	t.Logf("mocdc run log:\n%s", log)
	for _, l := range duplicateKeys(log) {
		t.Errorf("mocdc run logged a key twice: %s", l)
	}
	if done, snap := strings.Index(log, "catching up done"), strings.Index(log, "initial snapshot published"); done >= 0 && (snap < 0 || done < snap) {
		t.Errorf("a mirror said it caught up before capture's initial snapshot was published:\n%s", log)
	}
}

const docsMarker = "<!-- after-make-run -->"

type docsBlock struct {
	line int
	text string
}

var docsFence = regexp.MustCompile("(?s)\\A```(?:sh|bash|shell)\n(.*?)\n```")

// docsBlocks finds the marked blocks of README.md and docs/*.md, by file in
// that order. The marker is a line of its own (a mention in a sentence is
// not one); a marker not followed by a sh block fails the test.
func docsBlocks(t *testing.T) ([]string, map[string][]docsBlock) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, "docs/"+filepath.Base(d))
	}
	out := map[string][]docsBlock{}
	for _, f := range files {
		lines := strings.Split(readFile(t, "../../"+f), "\n")
		for i, l := range lines {
			if strings.TrimSpace(l) != docsMarker {
				continue
			}
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
				j++
			}
			m := docsFence.FindStringSubmatch(strings.Join(lines[j:], "\n"))
			if m == nil {
				t.Errorf("%s:%d: %s is not followed by a ```sh block", f, i+1, docsMarker)
				continue
			}
			out[f] = append(out[f], docsBlock{line: j + 1, text: m[1]})
		}
	}
	return files, out
}

// docsCheckout is the stand-in checkout the blocks run in.
type docsCheckout struct {
	t       *testing.T
	dir     string
	port    string
	adOU    string // the AD sink's OU, in place of the demo's
	baseEnv []string
}

func newDocsCheckout(t *testing.T) *docsCheckout {
	d := &docsCheckout{t: t, dir: t.TempDir(), port: freePort(t)}
	d.baseEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + d.dir, "LANG=C.UTF-8"}
	brokers := strings.Join(testenv.KafkaBrokers(t), ",")
	prefix := testenv.UniqueTopicPrefix(t) + "docs" // topics, groups: removed by its cleanup
	slot := "docs_" + strings.Trim(strings.ReplaceAll(prefix, "-", "_"), "_")
	data := filepath.Join(d.dir, ".mocdc")
	if err := os.MkdirAll(filepath.Join(d.dir, "deploy/local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mocdcBinary(t), filepath.Join(data, "bin", "mocdc")); err != nil {
		t.Fatal(err)
	}
	write := func(rel, content string) {
		if err := os.WriteFile(filepath.Join(d.dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Makefile", readFile(t, "../../Makefile"))
	// The AD sink writes to an OU of its own in the local Samba DC.
	localAD := testenv.LocalAD(t)
	ou := localAD.NewOU(t, "docs")
	d.adOU = ou
	shipped := readFile(t, "../../deploy/local/mocdc.yaml")
	if !strings.Contains(shipped, "OU=demo,OU=mocdc,") {
		t.Fatal("deploy/local/mocdc.yaml has no OU=demo,OU=mocdc: update newDocsCheckout to the file")
	}
	shipped = strings.ReplaceAll(shipped, "OU=demo,OU=mocdc,${MOCDC_TEST_AD_BASE}", ou)
	write("deploy/local/mocdc.yaml", docsConfig(t, shipped, prefix, slot, d.port))

	// The env file as the services script writes it, then the test's own
	// broker, and a database of its own for every *_DSN the configuration
	// refers to (of the kind the services' DSN names), in place of the
	// shared ones.
	cmd := exec.Command("../../deploy/local/services", "env")
	cmd.Env = append(os.Environ(), "MOCDC_DATA="+data)
	env, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy/local/services env: %v", err)
	}
	env = fmt.Appendf(env, "# the test's own broker and databases\nexport MOCDC_TEST_KAFKA='%s'\n", brokers)
	env = fmt.Appendf(env, "# the shared AD DC (the test writes to an OU of its own)\nexport %s='%s'\nexport %s='%s'\n",
		testenv.EnvADCA, localAD.CAFile, testenv.EnvADPasswordFile, localAD.PasswordFile)
	for _, name := range configDSNVars(readFile(t, "../../deploy/local/mocdc.yaml")) {
		shared := regexp.MustCompile(`(?m)^export ` + name + `='(.*)'$`).FindStringSubmatch(string(env))
		var dsn string
		switch {
		case shared == nil:
			t.Fatalf("deploy/local/mocdc.yaml refers to ${%s}, which deploy/local/services env does not export", name)
		case strings.HasPrefix(shared[1], "postgres"):
			dsn = testenv.NewPostgresDB(t, "docs_"+strings.ToLower(name))
		case strings.Contains(shared[1], "@tcp("):
			dsn = testenv.NewMySQLDB(t, "docs_"+strings.ToLower(name))
		default:
			t.Fatalf("%s=%s: the docs test cannot make a database of that kind; teach newDocsCheckout", name, shared[1])
		}
		env = fmt.Appendf(env, "export %s='%s'\n", name, dsn)
	}
	// FK Organisation: a double of the test's own, not the shared one.
	fkd := fkdouble.New(fkdouble.Config{APIKey: "local-os2sync-key"})
	t.Cleanup(fkd.Close)
	fks := httptest.NewServer(fkd.Handler())
	t.Cleanup(fks.Close)
	env = fmt.Appendf(env, "export MOCDC_OS2SYNC_URL='%s/api'\n", fks.URL)
	write(".mocdc/env", string(env))

	// What `make run` does before it starts mocdc.
	if out, err := d.command("mocdc ledger keygen --out .mocdc/ledger").CombinedOutput(); err != nil {
		t.Fatalf("ledger keygen: %v: %s", err, out)
	}
	return d
}

// configDSNVars are the ${NAME}s ending in _DSN that cfg refers to, once each.
func configDSNVars(cfg string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\$\{(\w+_DSN)\}`).FindAllStringSubmatch(cfg, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// docsConfig is deploy/local/mocdc.yaml with the test's topic prefix, slot,
// consumer groups, metrics port and a smaller demo. Each change must apply,
// so a change of the shipped file that the test would miss fails it.
func docsConfig(t *testing.T, cfg, prefix, slot, port string) string {
	for _, r := range []struct{ re, with string }{
		{`(?m)^  topic_prefix: mo$`, "  topic_prefix: " + prefix},
		{`(?m)^  slot: mocdc$`, "  slot: " + slot},
		{`(?m)^    partitions: \d+$`, "    partitions: 2"},
		{`(?m)^  persons: \d+$`, "  persons: 100"},
		{`127\.0\.0\.1:59100`, "127.0.0.1:" + port},
		{`(?m)^  - name: (\w+)$`, "  - name: $1\n    group: " + prefix + "-mirror-$1"},
	} {
		re := regexp.MustCompile(r.re)
		if !re.MatchString(cfg) {
			t.Fatalf("deploy/local/mocdc.yaml has no match for %s: update docsConfig to the file", r.re)
		}
		cfg = re.ReplaceAllString(cfg, r.with)
	}
	return cfg
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// command is a bash command in the checkout with the env file sourced.
func (d *docsCheckout) command(script string) *exec.Cmd {
	cmd := exec.Command("bash", "-c", ". .mocdc/env && "+script)
	cmd.Dir, cmd.Env = d.dir, d.baseEnv
	return cmd
}

type docsRun struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs `mocdc run` as `make run` does, from the env file and PATH.
func (d *docsCheckout) start() *docsRun {
	logf, err := os.Create(filepath.Join(d.dir, "run.log"))
	if err != nil {
		d.t.Fatal(err)
	}
	cmd := d.command("exec mocdc run --config deploy/local/mocdc.yaml")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	r := &docsRun{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(r.done) }()
	d.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitStatus waits until the pipeline has caught up, as a user would
// before trying the docs: capture published its initial snapshot, `mocdc
// status` reads every row (exit 0), and every mirror and the ledger have
// been at lag 0 since (under the demo's churn, not necessarily all in the
// same second): the blocks query them. Sinks that act on other systems
// (AD, FK) may still be working through the demo municipality.
func (d *docsCheckout) waitStatus(r *docsRun) {
	deadline := time.Now().Add(6 * time.Minute)
	var out []byte
	caughtUp := map[string]bool{}
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			d.t.Fatalf("mocdc run exited; log:\n%s", d.tail())
		default:
		}
		var err error
		out, err = d.command("mocdc status --config deploy/local/mocdc.yaml --timeout 10s --json").Output()
		var st Status
		if err == nil && json.Unmarshal(out, &st) == nil && st.OK &&
			strings.Contains(readFile(d.t, filepath.Join(d.dir, "run.log")), "initial snapshot published") {
			all := len(st.Sinks) > 0
			for _, s := range st.Sinks {
				if s.Kind != "mirror" && s.Kind != "ledger" {
					continue
				}
				// Lag 0, or (a mirror under the demo's churn on a loaded
				// machine, always a few records behind) holding changes
				// committed in MO seconds ago: the backlog is drained.
				fresh := s.Freshness != nil && s.Freshness.BehindSeconds != nil && *s.Freshness.BehindSeconds < 5
				if s.Lag != nil && (*s.Lag == 0 || fresh && *s.Lag < 100) {
					caughtUp[s.Name] = true
				}
				all = all && caughtUp[s.Name]
			}
			if all {
				return
			}
		}
		time.Sleep(time.Second)
	}
	d.t.Fatalf("the pipeline did not catch up within 6 minutes; last status:\n%s\nmocdc run log:\n%s", out, d.tail())
}

// shell runs one block in the session whose exported environment is kept
// in state.
func (d *docsCheckout) shell(state, block string) (string, error) {
	block = strings.ReplaceAll(block, "127.0.0.1:59100", "127.0.0.1:"+d.port)
	block = strings.ReplaceAll(block, "OU=demo,OU=mocdc,$MOCDC_TEST_AD_BASE", d.adOU)
	script := fmt.Sprintf(". %q\nset -eo pipefail\n%s\nexport -p > %q\n", state, block, state)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = d.dir, d.baseEnv
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (d *docsCheckout) tail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "run.log"))
	return lastLines(string(b), 40)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
