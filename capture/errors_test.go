package capture

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

// logBuffer collects a capture's log lines for a test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log holds a line with every one of parts.
func (l *logBuffer) waitLog(t *testing.T, within time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s; log:\n%s", parts, within, l.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// captureWith builds a capture on e with store DSN dsn and Kafka options
// kopts, logging into the returned buffer.
func (e *env) captureWith(dsn string, kopts []kgo.Opt) (*Capture, *logBuffer) {
	e.t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	replCfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	logs := &logBuffer{}
	c, err := New(Config{Slot: e.slot, Publication: "mocdc", RetryMin: 100 * time.Millisecond, RetryMax: time.Second}, Deps{
		Pool: pool, ReplicationConfig: replCfg, KafkaOpts: kopts, Topics: e.topics,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, logs
}

// runUntilError runs c and returns what Run returned, failing the test if
// it keeps running for longer than within.
func runUntilError(t *testing.T, c *Capture, logs *logBuffer, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		cancel()
		<-done
		t.Fatalf("capture still retries after %s; log:\n%s", within, logs.String())
		return nil
	}
}

func withUser(t *testing.T, dsn, user, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		u.User = url.User(user)
	}
	if db != "" {
		u.Path = "/" + db
	}
	return u.String()
}

// TestCaptureFailsFastOnPermanentStoreErrors: a role that does not exist,
// a database that does not exist, a role without the rights capture needs:
// Run returns at once (no retry loop) with an error that says what to do.
func TestCaptureFailsFastOnPermanentStoreErrors(t *testing.T) {
	e := newEnv(t)
	kopts := []kgo.Opt{kgo.SeedBrokers(e.brokers...)}

	admin, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	role := "norights_" + e.slot[2:]
	if _, err := admin.Exec(context.Background(), "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), testenv.PostgresAdminDSN(t))
		if err == nil {
			defer conn.Close(context.Background())
			_, err = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
		}
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})

	for _, tc := range []struct {
		name, dsn string
		want      []string
	}{
		{"missing role", withUser(t, e.dsn, "no_such_role_"+e.slot[2:], ""), []string{"does not exist", "create the role or fix the user in store.dsn"}},
		{"missing database", withUser(t, e.dsn, "", "no_such_db_"+e.slot[2:]), []string{"does not exist", "fix store.dsn or create the MO store database"}},
		{"role without rights", withUser(t, e.dsn, role, ""), []string{"42501", "lacks a privilege capture needs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, logs := e.captureWith(tc.dsn, kopts)
			err := runUntilError(t, c, logs, time.Minute)
			if err == nil {
				t.Fatalf("Run returned nil; log:\n%s", logs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Logf("error: %v", err)
			if n := counter(c.metrics.restarts); n != 0 {
				t.Errorf("%v restarts before giving up, want 0", n)
			}
		})
	}
}

// TestCaptureFailsFastOnKafkaLoginAndRights: against a Kafka cluster with
// SASL and ACLs (franz-go's kfake), a wrong password and a principal
// without ACLs end Run at once with what to do.
func TestCaptureFailsFastOnKafkaLoginAndRights(t *testing.T) {
	e := newEnv(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "secret"), kfake.User("PLAIN", "mocdc", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	// kfake drops the connection on a wrong password; a real broker
	// answers SASL_AUTHENTICATION_FAILED first, as this does.
	cluster.ControlKey(kmsg.SASLAuthenticate.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		r := req.(*kmsg.SASLAuthenticateRequest)
		if !bytes.Contains(r.SASLAuthBytes, []byte("\x00wrong")) {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	login := func(user, pass string) []kgo.Opt {
		return []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism())}
	}
	for _, tc := range []struct {
		name string
		opts []kgo.Opt
		want string
	}{
		{"wrong password", login("admin", "wrong"), "check kafka.sasl"},
		{"no ACLs", login("mocdc", "pw"), "Kafka refused an operation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, logs := e.captureWith(e.dsn, tc.opts)
			err := runUntilError(t, c, logs, time.Minute)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run returned %v, want an error saying %q; log:\n%s", err, tc.want, logs.String())
			}
			t.Logf("error: %v", err)
		})
	}
}

// TestCaptureSaysKafkaIsUnreachable: with no broker listening, capture
// keeps retrying (the broker may come back) and says that Kafka is
// unreachable; a standby behind an active capture says whom it waits for
// and that it could not take over because Kafka is unreachable.
func TestCaptureSaysKafkaIsUnreachable(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	down := []kgo.Opt{kgo.SeedBrokers(dead)}

	c, logs := e.captureWith(e.dsn, down)
	stop := e.start(c)
	logs.waitLog(t, time.Minute, "level=WARN", "capture failed; retrying", `reason="Kafka is unreachable"`, dead)
	stop()

	active, _ := e.captureWith(e.dsn, []kgo.Opt{kgo.SeedBrokers(e.brokers...)})
	e.start(active)
	e.waitSlot(90 * time.Second)
	standby, logs := e.captureWith(e.dsn, down)
	e.start(standby)
	logs.waitLog(t, time.Minute, "waiting as standby", "active=\"pid ")
	logs.waitLog(t, time.Minute, "level=WARN", "standby: Kafka is unreachable", dead)
	if strings.Contains(logs.String(), "taking over") {
		t.Fatalf("the standby took over while the active capture runs; log:\n%s", logs.String())
	}
}

// TestClassify names the permanent failures that cannot be provoked on the
// shared test server (it trusts every local login and runs wal_level=logical).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err       error
		permanent bool
		hint      string
	}{
		{&pgconn.PgError{Code: "28P01", Message: "password authentication failed for user \"mocdc\""}, true, "password in store.dsn"},
		{&pgconn.PgError{Code: "55000", Message: "logical decoding requires \"wal_level\" >= \"logical\""}, true, "wal_level = logical"},
		{&pgconn.PgError{Code: "53400", Message: "all replication slots are in use"}, true, "max_replication_slots"},
		{fmt.Errorf("create slot: %w", &pgconn.PgError{Code: "42501", Message: "permission denied to create replication slot"}), true, "REPLICATION"},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, false, ""},
		{fmt.Errorf("kafka: %w", fmt.Errorf("unable to dial: %w", &net.OpError{Op: "dial", Err: fmt.Errorf("connection refused")})), false, "Kafka is unreachable"},
	} {
		perm, hint := classify(tc.err)
		if perm != tc.permanent || !strings.Contains(hint, tc.hint) {
			t.Errorf("classify(%v) = %v, %q; want %v, containing %q", tc.err, perm, hint, tc.permanent, tc.hint)
		}
	}
}
