package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// configCheckOutput runs `mocdc config check` on yaml and returns its
// error's lines after the first ("config FILE:"), or nil when it passed.
func configCheckOutput(t *testing.T, yaml string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mocdc.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	err := dispatch(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"config", "check", "--config", path})
	if err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")
	if !strings.HasPrefix(lines[0], "config "+path+":") {
		t.Fatalf("error does not start with the file: %q", lines[0])
	}
	if rest := strings.TrimSpace(strings.TrimPrefix(lines[0], "config "+path+":")); rest != "" {
		return append([]string{rest}, lines[1:]...)
	}
	return lines[1:]
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// `mocdc config check` names every wrong value of every mirrors entry,
// each prefixed with the entry and naming the key as written in the YAML,
// with what to do.
func TestConfigCheckMirrors(t *testing.T) {
	got := configCheckOutput(t, `kafka:
  brokers: [127.0.0.1:9092]
mirrors:
  - name: bi
    dialect: oracle
    dsn: postgres://db/bi
    mode: hist
    batch:
      max_records: -1
      max_wait: -1s
    session_timeout: 1s
    tick_interval: -1s
    retry: {min: 2s, max: 1s}
    kvittering_retention: -1h
    max_connections: 1
    mysql_load: fast
  - name: bi
    dialect: postgres
  - name: "x y"
    dialect: postgres
    dsn: postgres://db/x
    dsn_file: /run/secrets/x
  - name: dwh
    dialect: mysql
    dsn: postgres://db/bi
    group: mocdc-mirror-bi
  - name: audit
    dialect: mssql
    dsn: sqlserver://db
    group: mo.ledger-builder
  - dialect: postgres
    dsn: postgres://db/y
`)
	sameLines(t, "config check of bad mirrors", got, []string{
		`mirrors[0] (bi): dialect "oracle": use postgres, mysql (also for MariaDB) or mssql`,
		`mirrors[0] (bi): mode "hist": use actual or historic`,
		`mirrors[0] (bi): mysql_load "fast": use load_data or insert`,
		`mirrors[0] (bi): kvittering_retention must not be negative`,
		`mirrors[0] (bi): max_connections must be at least 2 (one applies, one answers offset reads), got 1`,
		`mirrors[0] (bi): batch.max_records must be at least 1, got -1`,
		`mirrors[0] (bi): batch.max_wait must not be negative, got -1s`,
		`mirrors[0] (bi): session_timeout must be at least 3s, got 1s`,
		`mirrors[0] (bi): tick_interval must not be negative, got -1s`,
		`mirrors[0] (bi): retry: want 0 < min <= max, got min 2s max 1s`,
		`mirrors[1] (bi): dsn is empty: set dsn (e.g. ${MOCDC_MIRROR_PG_DSN}) or dsn_file`,
		`mirrors[1] (bi): mirrors[0] has the same name: names must be unique (--target NAME picks one)`,
		`mirrors[2] (x y): dsn and dsn_file are both set: keep one (dsn_file would win)`,
		`mirrors[2] (x y): name "x y": use letters, digits, - and _`,
		`mirrors[3] (dwh): consumer group "mocdc-mirror-bi" is also the group of mirrors[0]: give each target its own group (one group would split the partitions between the two targets)`,
		`mirrors[3] (dwh): dsn is the same as mirrors[0]'s: two targets would write the same tables; give each target its own database`,
		`mirrors[4] (audit): consumer group "mo.ledger-builder" is the ledger builder's: give the target its own group`,
		`mirrors[5]: name "": use letters, digits, - and _`,
	})

	// Other commands load the file the same way: a wrong mirror entry
	// stops them at start instead of when the target is first used.
	if _, err := LoadConfig(writeTemp(t, "kafka:\n  brokers: [k:9092]\nmirrors:\n  - name: bi\n    dialect: postgres\n")); err == nil ||
		!strings.Contains(err.Error(), "mirrors[0] (bi): dsn is empty") {
		t.Errorf("LoadConfig of a mirror without dsn: %v", err)
	}
}

// A dsn_file that cannot be read is named by config check (the mirror
// would fail at start); the other commands read it when they use it.
func TestConfigCheckDSNFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := configCheckOutput(t, `kafka:
  brokers: [127.0.0.1:9092]
mirrors:
  - name: bi
    dialect: postgres
    dsn_file: `+filepath.Join(dir, "missing")+`
  - name: dwh
    dialect: mysql
    dsn_file: `+empty+`
`)
	sameLines(t, "config check of dsn files", got, []string{
		`mirrors[0] (bi): dsn_file: open ` + filepath.Join(dir, "missing") + `: no such file or directory: create the file or fix the path`,
		`mirrors[1] (dwh): dsn_file ` + empty + ` is empty: write the target's DSN into it`,
	})
}

// Unknown keys are named with their line and section, every one of them,
// and the values' mistakes after them.
func TestConfigCheckUnknownKeys(t *testing.T) {
	got := configCheckOutput(t, `kafka:
  brokers: [127.0.0.1:9092]
  brkers: [x]
capture:
  topics:
    partitons: 3
mirrors:
  - name: bi
    naem: x
    batch: {max_recs: 3}
    retry: {mn: 1s}
ledgr: {}
`)
	sameLines(t, "config check of unknown keys", got, []string{
		`line 3: unknown key "brkers" in kafka: check its spelling against the documented keys`,
		`line 6: unknown key "partitons" in capture.topics: check its spelling against the documented keys`,
		`line 9: unknown key "naem" in a mirrors entry: check its spelling against the documented keys`,
		`line 10: unknown key "max_recs" in mirrors[].batch: check its spelling against the documented keys`,
		`line 11: unknown key "mn" in mirrors[].retry: check its spelling against the documented keys`,
		`line 12: unknown key "ledgr" in the top level: check its spelling against the documented keys`,
		// Not hidden by the unknown keys: the entry's own mistakes.
		`mirrors[0] (bi): dialect "": use postgres, mysql (also for MariaDB) or mssql`,
		`mirrors[0] (bi): dsn is empty: set dsn (e.g. ${MOCDC_MIRROR_PG_DSN}) or dsn_file`,
	})
}

// The configurations we ship and document pass config check: the one
// `make run` uses and the examples in README.md and docs/mirror.md.
func TestConfigCheckShippedExamples(t *testing.T) {
	for name, v := range map[string]string{
		"MOCDC_MO_DSN": "postgres://mo@db/mo", "MOCDC_TEST_KAFKA": "127.0.0.1:9092", "MOCDC_DATA": "/var/lib/mocdc",
		"MOCDC_MIRROR_PG_DSN": "postgres://mirror@db/mirror", "MOCDC_MIRROR_LINE_DSN": "postgres://mirror@db/mirror_line", "MOCDC_MIRROR_MYSQL_DSN": "root@tcp(db:3306)/mirror",
		"MIRROR_BI_DSN": "postgres://bi@db/mirror", "MIRROR_DWH_PASSWORD": "hemmelig",
		"MOCDC_KAFKA_CA_FILE": "testdata/example-ca.pem", "MOCDC_KAFKA_PASSWORD": "hemmelig",
		"MOCDC_OS2SYNC_URL": "http://127.0.0.1:61380/api", "MOCDC_OS2SYNC_CVR": "29189846", "MOCDC_OS2SYNC_API_KEY": "k", "OS2SYNC_API_KEY": "k",
		"MOCDC_TEST_AD_URL": "ldaps://127.0.0.1:636", "MOCDC_TEST_AD_CA": "testdata/example-ca.pem", "MOCDC_TEST_AD_BIND_DN": "CN=Administrator,CN=Users,DC=mocdc,DC=test",
		"MOCDC_TEST_AD_PASSWORD_FILE": "testdata/example-ca.pem", "MOCDC_TEST_AD_BASE": "DC=mocdc,DC=test",
	} {
		t.Setenv(name, v)
	}
	if got := configCheckOutput(t, readFile(t, "../../deploy/local/mocdc.yaml")); got != nil {
		t.Errorf("deploy/local/mocdc.yaml: %s", strings.Join(got, "\n"))
	}
	// Every yaml example; one that shows a section only gets the broker
	// list every configuration needs.
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	for _, doc := range []string{"../../README.md", "../../docs/mirror.md", "../../docs/events.md", "../../docs/fk.md"} {
		ms := block.FindAllStringSubmatch(readFile(t, doc), -1)
		if ms == nil {
			t.Fatalf("%s: no yaml example", doc)
		}
		for i, m := range ms {
			y := m[1]
			if !strings.Contains(y, "kafka:") {
				y = "kafka:\n  brokers: [127.0.0.1:9092]\n" + y
			}
			if got := configCheckOutput(t, y); got != nil {
				t.Errorf("yaml example %d in %s: %s", i+1, doc, strings.Join(got, "\n"))
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mocdc.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A value of the wrong type names its key, its line and what to write; it
// does not hide the file's other mistakes (here a missing broker list and
// a bad listen address after it).
func TestConfigCheckTypeErrors(t *testing.T) {
	got := configCheckOutput(t, `store:
  dsn: postgres://db/mo
capture:
  heartbeat: 1 minute
  topics:
    partitions: six
    replication_factor: [3]
demo:
  enabled: yes please
  churn_rate: fast
mirrors:
  - name: bi
    dialect: postgres
    dsn: postgres://db/bi
    retry: {min: 1s, max: soon}
metrics:
  listen: 59100
`)
	sameLines(t, "config check of wrong types", got, []string{
		`line 4: capture.heartbeat: "1 minute" is not a duration: a number with a unit, e.g. 500ms, 10s, 1m30s or 2h`,
		`line 6: capture.topics.partitions: "six" is not a whole number, e.g. 6 (digits only, no unit)`,
		`line 7: capture.topics.replication_factor: a list is not a whole number, e.g. 6 (digits only, no unit)`,
		`line 9: demo.enabled: "yes please" is not true or false`,
		`line 10: demo.churn_rate: "fast" is not a number, e.g. 20 or 0.5`,
		`line 15: mirrors[0].retry.max: "soon" is not a duration: a number with a unit, e.g. 500ms, 10s, 1m30s or 2h`,
		`kafka.brokers is empty: list at least one host:port`,
		`metrics.listen "59100" is not host:port: write e.g. 127.0.0.1:59100 (this machine only) or 0.0.0.0:59100 (every interface)`,
	})
}

// metrics.listen must be host:port; an empty host listens on every
// interface, like Go's net.Listen.
func TestConfigMetricsListen(t *testing.T) {
	for listen, ok := range map[string]bool{
		"127.0.0.1:59100": true, "0.0.0.0:9100": true, ":9100": true, "[::1]:9100": true, "localhost:9100": true,
		"59100": false, "127.0.0.1": false, "127.0.0.1:": false, "127.0.0.1:http": false, "127.0.0.1:70000": false, "host:9100:1": false,
	} {
		err := MetricsConfig{Listen: listen}.Validate()
		if (err == nil) != ok {
			t.Errorf("metrics.listen %q: error %v, want ok=%v", listen, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "is not host:port") {
			t.Errorf("metrics.listen %q: %v does not say what is wrong", listen, err)
		}
	}
}

// The docs say MySQL/MariaDB: dialect: mariadb is the mysql dialect, and
// so is MySQL in capitals.
func TestConfigDialectMariaDB(t *testing.T) {
	cfg, err := LoadConfig(writeTemp(t, `kafka:
  brokers: [k:9092]
mirrors:
  - name: a
    dialect: mariadb
    dsn: root@tcp(db:3306)/a
  - name: b
    dialect: MySQL
    dsn: root@tcp(db:3306)/b
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cfg.Mirrors {
		if m.Dialect != "mysql" {
			t.Errorf("mirror %s: dialect %q, want mysql", m.Name, m.Dialect)
		}
		mc, err := mirrorTarget(cfg, m.Name, os.ReadFile)
		if err != nil || mc.Dialect != "mysql" {
			t.Errorf("mirrorTarget(%s) = %q, %v", m.Name, mc.Dialect, err)
		}
	}
}
