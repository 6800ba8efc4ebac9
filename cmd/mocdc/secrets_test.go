package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
)

func secretValue(t *testing.T, what string) string {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return what + "-S3cr3t-" + hex.EncodeToString(b)
}

// grantACLs creates the ACLs through the plain listener (a super user) and
// deletes them when the test ends.
func grantACLs(t *testing.T, ctx context.Context, brokers []string, acls func() []*kadm.ACLBuilder) {
	t.Helper()
	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(admin)
	for _, b := range acls() {
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
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, b := range acls() {
			_, _ = adm.DeleteACLs(cctx, b)
		}
		admin.Close()
	})
}

// TestSecretsNeverLeak runs the pipeline — capture, the ledger builder,
// PostgreSQL and MariaDB mirrors over the secured Kafka listener — with
// known secret values in every place one can be (Kafka passwords from the
// environment and from files, passwords in the MO store and mirror DSNs),
// poisons an object topic so dead letters are written, runs status, config
// check, ledger verify and query, and then connections that fail (a wrong
// Kafka password, a wrong MariaDB password, an unreachable MO store), and
// searches every log line, command output, metric series and dead-letter
// record for the secrets: there must be none.
func TestSecretsNeverLeak(t *testing.T) {
	sec := newSecureEnv(t)
	e := newE2E(t, 30, "")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	p := e.prefix + "."
	ledgerGroup, ledgerTxn, mirrorGroup := e.prefix+"-ledger", e.prefix+"-ledger", e.prefix+"-mirror"
	grantACLs(t, ctx, e.brokers, func() []*kadm.ACLBuilder {
		acls := componentACLs(p, e.slot, ledgerGroup, ledgerTxn, mirrorGroup)
		// Both mirror targets share the mirror principal here, each in its group.
		return append(acls, kadm.NewACLs().Allow("User:mirror").Groups(mirrorGroup+"-my").Operations(kadm.OpRead, kadm.OpDescribe))
	})

	secrets := map[string]string{
		"kafka capture password": sec.password["capture"],
		"kafka ledger password":  sec.password["ledger"],
		"kafka mirror password":  sec.password["mirror"],
	}
	pgPassword := secretValue(t, "pg")
	myPassword := secretValue(t, "my")
	wrongKafka := secretValue(t, "wrongkafka")
	wrongMy := secretValue(t, "wrongmy")
	unreachable := secretValue(t, "unreachable")
	for k, v := range map[string]string{"pg password": pgPassword, "mysql password": myPassword,
		"wrong kafka password": wrongKafka, "wrong mysql password": wrongMy, "unreachable store password": unreachable} {
		secrets[k] = v
	}

	// The MO store's server trusts local connections, so a password in the
	// DSN is never checked — but it is in the DSN, where a leak would show it.
	withPassword := func(dsn, pw string) string {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), pw)
		return u.String()
	}
	storeDSN := withPassword(e.dsn, pgPassword)
	pgMirror := withPassword(testenv.NewPostgresDB(t, "leak_mirror"), pgPassword)
	myDSN := testenv.NewMySQLDB(t, "leak_mirror")
	myName := myDSN[strings.LastIndex(myDSN, "/")+1:]
	if i := strings.IndexByte(myName, '?'); i >= 0 {
		myName = myName[:i]
	}
	mydb, err := sql.Open("mysql", testenv.MySQLAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer mydb.Close()
	myUser := strings.ReplaceAll(e.slot, "e2e_", "leak_")
	if len(myUser) > 32 {
		myUser = myUser[:32]
	}
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'", myUser, myPassword),
		fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1'", myName, myUser),
	} {
		if _, err := mydb.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { _, _ = mydb.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'127.0.0.1'", myUser)) })
	myUserDSN := strings.Replace(myDSN, "root@", myUser+":"+myPassword+"@", 1)

	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(base), "dsn: "+e.dsn, "dsn: "+storeDSN, 1)
	body = withoutKafkaBlock(body)
	mirrors := func(myDSN string) string {
		return fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
    group: %s
  - name: my
    dialect: mysql
    dsn: %s
    mode: actual
    group: %s-my
`, pgMirror, mirrorGroup, myDSN, mirrorGroup)
	}
	write := func(name, kafka, extra string) string {
		path := filepath.Join(e.dir, name+".yaml")
		if err := os.WriteFile(path, []byte(body+kafka+extra), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	metricsAt := map[string]string{}
	metrics := func(name string) string {
		metricsAt[name] = "127.0.0.1:" + freePort(t)
		return "metrics:\n  listen: " + metricsAt[name] + "\n"
	}
	// capture's password from the environment, the others' from files.
	t.Setenv("MOCDC_TEST_LEAK_KAFKA_PASSWORD", sec.password["capture"])
	capKafka := strings.Replace(sec.kafkaSection(t, e.dir, e.prefix, "capture", "SCRAM-SHA-512"),
		"password_file: "+filepath.Join(e.dir, "capture.password"), "password: ${MOCDC_TEST_LEAK_KAFKA_PASSWORD}", 1)
	capCfg := write("capture", capKafka, metrics("capture"))
	ledCfg := write("ledger", sec.kafkaSection(t, e.dir, e.prefix, "ledger", "SCRAM-SHA-256"), metrics("ledger"))
	mirKafka := sec.kafkaSection(t, e.dir, e.prefix, "mirror", "SCRAM-SHA-512")
	mirPG := write("mirror-pg", mirKafka, mirrors(myUserDSN)+metrics("mirror-pg"))
	mirMy := write("mirror-my", mirKafka, mirrors(myUserDSN)+metrics("mirror-my"))

	e.spawn("capture", "--config", capCfg)
	e.spawnAs("ledger", "sink", "ledger", "--config", ledCfg)
	e.spawnAs("mirror-pg", "sink", "mirror", "--config", mirPG, "--target", "pg")
	e.spawnAs("mirror-my", "sink", "mirror", "--config", mirMy, "--target", "my")
	e.waitSnapshot()
	if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 5, Rate: 50, MaxChanges: 30, Workers: 1}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaptured()

	// Poison: a record no sink can decode, so each dead-letters it.
	plain, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.ProduceSync(ctx, &kgo.Record{Topic: p + "person", Key: []byte("not-a-uuid"), Value: []byte("{not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var want int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM actual_state.bruger`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	pgm, err := pgxpool.New(ctx, pgMirror)
	if err != nil {
		t.Fatal(err)
	}
	defer pgm.Close()
	for deadline := time.Now().Add(3 * time.Minute); ; {
		var n int
		if err := pgm.QueryRow(ctx, `SELECT count(DISTINCT uuid) FROM brugere`).Scan(&n); err == nil && n == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the PostgreSQL mirror did not catch up; log: %s", e.tail("mirror-pg"))
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Dead letters: read the whole topic once three sinks wrote theirs
	// (the MariaDB mirror may still be making its tables on a loaded
	// machine).
	var deadLetters []string
	for deadline := time.Now().Add(4 * time.Minute); ; {
		deadLetters = readTopic(t, ctx, e.brokers, p+"deadletter")
		if len(deadLetters) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(deadLetters) < 3 {
		t.Errorf("%d dead letters after the poison record, want one per sink (ledger and two mirrors): %q\nledger log: %s\nPostgreSQL mirror log: %s\nMariaDB mirror log: %s",
			len(deadLetters), deadLetters, e.tail("ledger"), e.tail("mirror-pg"), e.tail("mirror-my"))
	}

	var outputs []string
	run := func(args ...string) {
		start := time.Now()
		limit := 45 * time.Second
		if args[0] == "capture" {
			limit = 10 * time.Second // a capture that retries (correctly, or not yet failing fast) is stopped
		}
		out, _ := runMocdcTimeout(limit, e.bin, args...)
		t.Logf("mocdc %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		outputs = append(outputs, "$ mocdc "+strings.Join(args, " ")+"\n"+out)
	}
	for name, addr := range metricsAt {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Errorf("metrics of %s: %v", name, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		outputs = append(outputs, "metrics of "+name+"\n"+string(b))
	}
	run("status", "--config", mirPG)
	run("status", "--config", mirPG, "--json")
	for _, c := range []string{capCfg, ledCfg, mirPG, mirMy} {
		run("config", "check", "--config", c)
	}
	run("ledger", "verify", "--config", ledCfg)
	run("ledger", "query", "--config", ledCfg, "--json")

	// Connections that fail, with the secret in the failing place.
	badKafka := write("bad-kafka", strings.Replace(capKafka, "${MOCDC_TEST_LEAK_KAFKA_PASSWORD}", wrongKafka, 1), "")
	run("capture", "--config", badKafka)
	run("status", "--config", badKafka)
	run("ledger", "verify", "--config", badKafka)
	badMy := write("bad-mysql", mirKafka, mirrors(strings.Replace(myUserDSN, myPassword, wrongMy, 1)))
	run("sink", "mirror", "--config", badMy, "--target", "my")
	unreachableStore := write("unreachable", capKafka, "")
	os.WriteFile(unreachableStore, []byte(strings.Replace(string(mustRead(t, unreachableStore)), storeDSN,
		"postgres://mocdc:"+unreachable+"@127.0.0.1:1/mox?connect_timeout=2", 1)), 0o600)
	run("status", "--config", unreachableStore)
	run("capture", "--config", unreachableStore)

	// Everything the processes logged.
	logs, _ := filepath.Glob(filepath.Join(e.dir, "*.log"))
	for _, l := range logs {
		outputs = append(outputs, "log "+filepath.Base(l)+"\n"+string(mustRead(t, l)))
	}
	all := strings.Join(append(outputs, deadLetters...), "\n")
	if !strings.Contains(all, "SASL_AUTHENTICATION_FAILED") && !strings.Contains(strings.ToLower(all), "authentication") {
		t.Errorf("the wrong Kafka password left no authentication error in the output:\n%s", all)
	}
	for what, v := range secrets {
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if i := strings.Index(all, form); i >= 0 {
				lo, hi := max(0, i-200), min(len(all), i+len(form)+100)
				t.Errorf("the %s leaked: …%s…", what, all[lo:hi])
				break
			}
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readTopic reads every record of topic (committed ones) as text: headers,
// key and value.
func readTopic(t *testing.T, ctx context.Context, brokers []string, topic string) []string {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// Transaction markers take offsets too, so the end offset is no
		// count: read until a poll brings nothing new.
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			var b strings.Builder
			for _, h := range r.Headers {
				fmt.Fprintf(&b, "%s=%s ", h.Key, h.Value)
			}
			fmt.Fprintf(&b, "key=%s value=%s", r.Key, r.Value)
			out = append(out, b.String())
		})
		if n == 0 && len(out) > 0 {
			break
		}
	}
	return out
}

// runMocdcTimeout runs the binary for at most d (a command that would
// retry for ever is stopped then) and returns its combined output.
func runMocdcTimeout(d time.Duration, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
