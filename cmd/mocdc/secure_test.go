package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// secureEnv is the secured listener that deploy/local/services starts beside
// the plain one: TLS with the local CA, SASL PLAIN/SCRAM, ACLs enforced.
type secureEnv struct {
	brokers  []string
	ca       string
	password map[string]string // principal → password
}

func newSecureEnv(t *testing.T) *secureEnv {
	t.Helper()
	get := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			t.Fatalf("%s is not set: start the local services with `deploy/local/services up` and `source .mocdc/env` (make test does both)", name)
		}
		return v
	}
	s := &secureEnv{brokers: strings.Split(get("MOCDC_TEST_KAFKA_SECURE"), ","), ca: get("MOCDC_TLS_CA"), password: map[string]string{}}
	dir := get("MOCDC_TEST_KAFKA_SASL_DIR")
	for _, u := range []string{"capture", "mirror", "ledger", "other"} {
		b, err := os.ReadFile(filepath.Join(dir, u))
		if err != nil {
			t.Fatalf("password of Kafka principal %s: %v (deploy/local/services up makes it)", u, err)
		}
		s.password[u] = strings.TrimSpace(string(b))
	}
	return s
}

// kafkaSection is the kafka: block of a config file that connects as user
// with mechanism, the password read from a file as a mounted secret would be.
func (s *secureEnv) kafkaSection(t *testing.T, dir, prefix, user, mechanism string) string {
	pw := filepath.Join(dir, user+".password")
	if err := os.WriteFile(pw, []byte(s.password[user]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`kafka:
  brokers: [%s]
  topic_prefix: %s
  tls:
    ca_file: %s
  sasl:
    mechanism: %s
    username: %s
    password_file: %s
`, strings.Join(s.brokers, ","), prefix, s.ca, mechanism, user, pw)
}

// componentACLs are the ACLs docs/operations.md gives per component, for
// topic prefix p (with its dot), as kadm builders.
func componentACLs(p, slot, ledgerGroup, ledgerTxn, mirrorGroup string) []*kadm.ACLBuilder {
	user := func(u string) string { return "User:" + u }
	return []*kadm.ACLBuilder{
		// capture: creates and writes its topics (not the ledger), reads its
		// checkpoint, owns one transactional id per slot.
		kadm.NewACLs().Allow(user("capture")).Topics(p).ResourcePatternType(kadm.ACLPatternPrefixed).
			Operations(kadm.OpCreate, kadm.OpDescribe, kadm.OpDescribeConfigs, kadm.OpWrite, kadm.OpRead),
		kadm.NewACLs().Deny(user("capture")).Topics(p + "ledger").Operations(kadm.OpWrite),
		kadm.NewACLs().Allow(user("capture")).TransactionalIDs("mocdc-capture-"+slot).Operations(kadm.OpWrite, kadm.OpDescribe),
		// mirror: reads the MO topics in its group; writes only dead letters.
		kadm.NewACLs().Allow(user("mirror")).Topics(p).ResourcePatternType(kadm.ACLPatternPrefixed).
			Operations(kadm.OpRead, kadm.OpDescribe),
		kadm.NewACLs().Allow(user("mirror")).Topics(p + "deadletter").Operations(kadm.OpWrite),
		kadm.NewACLs().Allow(user("mirror")).Groups(mirrorGroup).Operations(kadm.OpRead, kadm.OpDescribe),
		// ledger: reads the MO topics, is the only writer of the ledger.
		kadm.NewACLs().Allow(user("ledger")).Topics(p).ResourcePatternType(kadm.ACLPatternPrefixed).
			Operations(kadm.OpRead, kadm.OpDescribe, kadm.OpDescribeConfigs),
		kadm.NewACLs().Allow(user("ledger")).Topics(p+"ledger").Operations(kadm.OpWrite, kadm.OpCreate),
		kadm.NewACLs().Allow(user("ledger")).Topics(p+"deadletter").Operations(kadm.OpWrite, kadm.OpCreate),
		kadm.NewACLs().Allow(user("ledger")).Groups(ledgerGroup).Operations(kadm.OpRead, kadm.OpDescribe),
		kadm.NewACLs().Allow(user("ledger")).TransactionalIDs(ledgerTxn).Operations(kadm.OpWrite, kadm.OpDescribe),
	}
}

// TestSecuredKafka runs capture → ledger and a PostgreSQL mirror through the
// secured listener (TLS with the local CA; SCRAM-SHA-512, SCRAM-SHA-256 and
// PLAIN), each component as its own principal with the ACLs of
// docs/operations.md, then shows the ACLs hold: only the ledger builder's
// principal can write the ledger, the mirror's can write no MO topic.
func TestSecuredKafka(t *testing.T) {
	sec := newSecureEnv(t)
	e := newE2E(t, 40, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p := e.prefix + "."
	ledgerGroup, ledgerTxn, mirrorGroup := e.prefix+"-ledger", e.prefix+"-ledger", e.prefix+"-mirror"
	admin, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...)) // the plain listener: ANONYMOUS is a super user
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	acls := componentACLs(p, e.slot, ledgerGroup, ledgerTxn, mirrorGroup)
	for _, b := range acls {
		res, err := adm.CreateACLs(ctx, b)
		if err != nil {
			t.Fatalf("create ACLs: %v", err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("create ACL %s %s: %v", r.Principal, r.Name, r.Err)
			}
		}
	}
	// The broker's authorizer applies new ACLs from the metadata log a
	// moment after CreateACLs returns (under load, seconds): wait until it
	// describes every one, or the components, which stop at once on a
	// refused operation, would start before their rights exist.
	// As filters (describe, delete), "any host" must be said.
	filters := func() []*kadm.ACLBuilder {
		fs := componentACLs(p, e.slot, ledgerGroup, ledgerTxn, mirrorGroup)
		for _, f := range fs {
			f.AllowHosts().DenyHosts()
		}
		return fs
	}
	for _, b := range filters() {
		for deadline := time.Now().Add(time.Minute); ; {
			res, err := adm.DescribeACLs(ctx, b)
			seen := err == nil && len(res) > 0
			for _, r := range res {
				seen = seen && r.Err == nil && len(r.Described) > 0
			}
			if seen {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the broker does not describe the new ACLs after a minute (%v)", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...)) // admin is closed by now
		if err != nil {
			t.Errorf("delete ACLs: %v", err)
			return
		}
		defer cl.Close()
		for _, b := range filters() {
			if _, err := kadm.NewClient(cl).DeleteACLs(cctx, b); err != nil {
				t.Errorf("delete ACLs: %v", err)
			}
		}
	})

	mirrorDSN := testenv.NewPostgresDB(t, "secure_mirror")
	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	// The e2e config with its kafka: block replaced, per component.
	withKafka := func(name, kafka, extra string) string {
		path := filepath.Join(e.dir, name+".yaml")
		if err := os.WriteFile(path, []byte(withoutKafkaBlock(string(base))+kafka+extra), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	capCfg := withKafka("capture", sec.kafkaSection(t, e.dir, e.prefix, "capture", "SCRAM-SHA-512"), "")
	ledCfg := withKafka("ledger", sec.kafkaSection(t, e.dir, e.prefix, "ledger", "SCRAM-SHA-256"), "")
	mirCfg := withKafka("mirror", sec.kafkaSection(t, e.dir, e.prefix, "mirror", "PLAIN"), fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
    group: %s
`, mirrorDSN, mirrorGroup))

	e.spawn("capture", "--config", capCfg)
	e.spawn("sink", "ledger", "--config", ledCfg)
	e.spawn("sink", "mirror", "--config", mirCfg, "--target", "pg")
	e.waitSnapshot()
	// Writes and reads after the snapshot: the ledger's entries.
	if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 3, Rate: 50, MaxChanges: 40, Workers: 1}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaptured()

	// The mirror holds every person of the MO store, all of it read through
	// the secured listener.
	var want int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM actual_state.bruger`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	mpool, err := pgxpool.New(ctx, mirrorDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer mpool.Close()
	var got int
	for deadline := time.Now().Add(3 * time.Minute); ; {
		err := mpool.QueryRow(ctx, `SELECT count(DISTINCT uuid) FROM brugere`).Scan(&got)
		if err == nil && got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirror has %d persons (err %v), the MO store %d; mirror log: %s", got, err, want, e.tail("sink"))
		}
		time.Sleep(300 * time.Millisecond)
	}

	// The ledger verifies when read through the secured listener, with the
	// ledger principal's config (`mocdc ledger verify` as an auditor runs it).
	for deadline := time.Now().Add(2 * time.Minute); ; {
		out, err := runMocdc(e.bin, "ledger", "verify", "--config", ledCfg)
		if m := verifiedRecords.FindStringSubmatch(out); err == nil && m != nil && m[1] != "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger verify over the secured listener: %v\n%s\nledger log: %s", err, out, e.tail("sink"))
		}
		time.Sleep(time.Second)
	}

	// ACLs: a produce to the ledger by any principal but the ledger
	// builder's is refused; the mirror's principal writes no MO topic.
	produce := func(user, mechanism, topic string) error {
		cfg, err := LoadConfigFromString(t, sec.kafkaSection(t, e.dir, e.prefix, user, mechanism))
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(append(kafkaOpts(cfg, testLogger(t)), kgo.RecordRetries(2), kgo.ProduceRequestTimeout(10*time.Second))...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
		defer pcancel()
		return cl.ProduceSync(pctx, &kgo.Record{Topic: topic, Value: []byte(`{"forged":true}`)}).FirstErr()
	}
	for _, c := range []struct{ user, mech, topic string }{
		{"other", "SCRAM-SHA-256", p + "ledger"},
		{"mirror", "PLAIN", p + "ledger"},
		{"capture", "SCRAM-SHA-512", p + "ledger"},
		{"mirror", "PLAIN", p + "person"},
	} {
		err := produce(c.user, c.mech, c.topic)
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("produce to %s as %s: got %v, want TOPIC_AUTHORIZATION_FAILED", c.topic, c.user, err)
		}
	}
	// A wrong password is refused at once with an authentication error.
	bad := *sec
	bad.password = map[string]string{"ledger": "not-the-password"}
	cfg, err := LoadConfigFromString(t, bad.kafkaSection(t, t.TempDir(), e.prefix, "ledger", "SCRAM-SHA-256"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kafkaOpts(cfg, testLogger(t))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	if err := cl.Ping(pctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("wrong SCRAM password: got %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// verifiedRecords finds the record count in `mocdc ledger verify`'s report.
var verifiedRecords = regexp.MustCompile(`(?m)^\s*records\s+(\d+)`)

// withoutKafkaBlock is a config file's text without its kafka: section,
// for tests that give each component a kafka: section of its own.
func withoutKafkaBlock(config string) string {
	var kept []string
	skip := false
	for _, l := range strings.Split(config, "\n") {
		if l == "kafka:" {
			skip = true
			continue
		}
		if skip && strings.HasPrefix(l, "  ") {
			continue
		}
		skip = false
		kept = append(kept, l)
	}
	return strings.Join(kept, "\n") + "\n"
}

// LoadConfigFromString loads a config made of kafka (a kafka: block) as
// LoadConfig does, from a temporary file.
func LoadConfigFromString(t *testing.T, kafka string) (*Config, error) {
	t.Helper()
	return LoadConfig(writeTemp(t, kafka))
}

// testLogger logs to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// runMocdc runs the binary and returns its combined output.
func runMocdc(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}
