package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// The error classes, provoked on the real servers (SQL Server with
// MOCDC_TEST_MSSQL_DSN): each error a server really sends lands in the
// class that decides between retrying, dead-lettering and stopping.
func TestErrorClassesFromRealServers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cfg := newTarget(t, dialect, Actual)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)
		// One session, set up like the mirror's (strict mode in MySQL).
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		exec := func(q string) error { _, err := conn.ExecContext(ctx, q); return err }
		str := map[string]string{"postgres": "varchar", "mysql": "varchar", "mssql": "nvarchar"}[dialect]
		for _, q := range append(d.SessionSetup(), "CREATE TABLE cls (k "+str+"(4) PRIMARY KEY, v "+str+"(2))", "INSERT INTO cls VALUES ('a', 'x')") {
			if err := exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		expect := func(what string, err error, want ErrorClass) {
			t.Helper()
			if err == nil {
				t.Fatalf("%s: no error", what)
			}
			if got := d.Classify(fmt.Errorf("write cls: %w", err)); got != want {
				t.Errorf("%s: %v is %s, want %s", what, err, got, want)
			}
		}
		expect("syntax error", exec("SELECT FROM WHERE"), Invalid)
		expect("unknown table", exec("SELECT * FROM no_such_table"), Invalid)
		expect("duplicate key", exec("INSERT INTO cls VALUES ('a', 'y')"), Retryable)
		expect("value too long", exec("INSERT INTO cls VALUES ('b', 'too long')"), Data)
		expect("lock timeout", lockTimeout(ctx, t, db, dialect), Retryable)

		refused := cfg
		switch dialect {
		case "postgres", "mssql":
			u, _ := url.Parse(cfg.DSN)
			u.Host = "127.0.0.1:1"
			refused.DSN = u.String()
		case "mysql":
			mc, _ := gomysql.ParseDSN(cfg.DSN)
			mc.Addr = "127.0.0.1:1"
			refused.DSN = mc.FormatDSN()
		}
		rdb, err := Open(refused)
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		expect("connection refused", rdb.PingContext(ctx), Unavailable)
	})
}

// lockTimeout makes one session wait for a row another holds, with a short
// lock timeout, and returns the error the server sends.
func lockTimeout(ctx context.Context, t *testing.T, db *sql.DB, dialect string) error {
	t.Helper()
	holder, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(ctx, "UPDATE cls SET v = 'h' WHERE k = 'a'"); err != nil {
		t.Fatal(err)
	}
	waiter, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	set := map[string]string{"postgres": "SET lock_timeout = '100ms'", "mysql": "SET SESSION innodb_lock_wait_timeout = 1", "mssql": "SET LOCK_TIMEOUT 100"}[dialect]
	if _, err := waiter.ExecContext(ctx, set); err != nil {
		t.Fatal(err)
	}
	_, err = waiter.ExecContext(ctx, "UPDATE cls SET v = 'w' WHERE k = 'a'")
	return err
}

// A user that may connect but not create tables: the start fails at once
// (no retries) with the server's message and what the statement was for,
// never as "not reachable".
func TestRefusedStatementAtStartSaysWhichAndWhy(t *testing.T) {
	for _, dialect := range localDialects() {
		t.Run(dialect, func(t *testing.T) {
			cfg := newTarget(t, dialect, Actual)
			cfg.DSN = restrictedUser(t, dialect, cfg.DSN)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			err := Run(ctx, cfg, RunDeps{Topics: event.Topics{Prefix: "unused"}})
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a StartError", err)
			}
			if time.Since(start) > 15*time.Second {
				t.Errorf("took %s: retried?", time.Since(start))
			}
			msg := err.Error()
			for _, want := range []string{"create table facetter: ", "refused the login or a permission", "denied"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not say %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, "not reachable") {
				t.Errorf("a refused statement reported as an unreachable target: %s", msg)
			}
		})
	}
}

// restrictedUser creates a login that may connect to the database of dsn
// but not create tables in it, and returns dsn with it.
func restrictedUser(t *testing.T, dialect, dsn string) string {
	t.Helper()
	name := fmt.Sprintf("mocdc_ro_%d", time.Now().UnixNano()%1_000_000_000)
	switch dialect {
	case "postgres":
		admin, err := sql.Open("pgx", testenv.PostgresAdminDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE ROLE " + name + " LOGIN PASSWORD 'ro'"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// The role owns nothing; its sessions are gone once the
			// mirror returned. Separate statements: one failing must not
			// leave the other undone.
			a, err := sql.Open("pgx", testenv.PostgresAdminDSN(t))
			if err != nil {
				return
			}
			defer a.Close()
			_, _ = a.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", name)
			if _, err := a.Exec("DROP ROLE IF EXISTS " + name); err != nil {
				t.Logf("drop role %s: %v", name, err)
			}
		})
		u, _ := url.Parse(dsn)
		u.User = url.UserPassword(name, "ro")
		return u.String()
	case "mysql":
		admin, err := sql.Open("mysql", testenv.MySQLAdminDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		mc, _ := gomysql.ParseDSN(dsn)
		for _, q := range []string{
			"CREATE USER '" + name + "'@'%' IDENTIFIED BY 'ro'",
			"CREATE USER '" + name + "'@'localhost' IDENTIFIED BY 'ro'",
			"GRANT SELECT ON `" + mc.DBName + "`.* TO '" + name + "'@'%'",
			"GRANT SELECT ON `" + mc.DBName + "`.* TO '" + name + "'@'localhost'",
		} {
			if _, err := admin.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Cleanup(func() {
			a, err := sql.Open("mysql", testenv.MySQLAdminDSN(t))
			if err != nil {
				return
			}
			defer a.Close()
			for _, host := range []string{"%", "localhost"} {
				if _, err := a.Exec("DROP USER IF EXISTS '" + name + "'@'" + host + "'"); err != nil {
					t.Logf("drop user %s@%s: %v", name, host, err)
				}
			}
		})
		mc.User, mc.Passwd = name, "ro"
		return mc.FormatDSN()
	}
	t.Fatalf("no restricted user for %s", dialect)
	return ""
}

// A statement the target rejects while the mirror runs (here: a table
// dropped under it) stops the mirror with the server's message; nothing
// is dead-lettered, and the failure is in the target for `mocdc status`.
func TestRejectedStatementStopsTheMirror(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		{
			k := newKafkaEnv(t)
			cfg := newTarget(t, dialect, Actual)
			db, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d, _ := dialectFor(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
			go func() {
				done <- Run(ctx, cfg, RunDeps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(k.brokers...)}, Topics: k.topics, Logger: log, Clock: fixedClock})
			}()
			unit := func(n int, name string) msg {
				return put(event.Update, obj(mo.OrgUnit, id(3, n), ver("2020-01-01", "", map[string]any{"user_key": fmt.Sprint(n), "name": name})))
			}
			k.send(t, unit(1, "Skole"))
			k.waitCaughtUp(t, db, d, time.Minute)
			if _, err := db.Exec("DROP TABLE " + d.Quote(tEnheder)); err != nil {
				t.Fatal(err)
			}
			k.send(t, unit(1, "Skolen"), unit(2, "Børnehave"))
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the mirror kept going with a table missing")
			}
			if err == nil || !runner.IsFatal(err) || !strings.Contains(err.Error(), tEnheder) || !strings.Contains(err.Error(), "rejected the statement itself") {
				t.Fatalf("Run: %v", err)
			}
			p, perr := ReadProgress(context.Background(), db, cfg)
			if perr != nil {
				t.Fatal(perr)
			}
			if p.Health == nil || p.Health.Failures != 1 || !strings.Contains(p.Health.LastError, tEnheder) || p.Health.Instance == "" {
				t.Fatalf("health in the target: %+v", p.Health)
			}
			dc, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumeTopics(k.topics.DeadLetter()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer dc.Close()
			pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer pcancel()
			if recs := dc.PollFetches(pctx).Records(); len(recs) != 0 {
				t.Fatalf("%d records dead-lettered for a rejected statement", len(recs))
			}
		}
	})
}

// The runner's health reports reach the target's mocdc_meta and come back
// through ReadProgress (what `mocdc status` shows), cut to fit the row.
func TestHealthReportsAreKeptInTheTarget(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		cfg := newTarget(t, dialect, Actual)
		m, db := openMirror(t, cfg, event.Topics{Prefix: "health"})
		since := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
		long := "write enheder: the server refused it: " + strings.Repeat("æøå ", 200)
		if err := m.ReportHealth(ctx, runner.Health{Failures: 3, LastError: long, Since: since, At: since.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		p, err := ReadProgress(ctx, db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := p.Health
		if h == nil || h.Failures != 3 || !strings.HasPrefix(h.LastError, "write enheder: the server refused it: æøå") || !h.Since.Equal(since) || h.Instance != m.instance {
			t.Fatalf("health: %+v", h)
		}
		if err := m.ReportHealth(ctx, runner.Health{At: since.Add(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if p, err = ReadProgress(ctx, db, cfg); err != nil || p.Health == nil || p.Health.Failures != 0 || p.Health.LastError != "" {
			t.Fatalf("health after recovery: %+v, %v", p.Health, err)
		}
	})
}

// A batch of tombstones only has no MO commit time: its kvittering row has
// query_tid NULL, bound as a typed NULL (session.exec refuses an untyped
// nil, which Babelfish would reject).
func TestDeleteOnlyBatchWritesKvitteringWithTypedNull(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		topics := event.Topics{Prefix: "tomb"}
		cfg := newTarget(t, dialect, Actual)
		m, db := openMirror(t, cfg, topics)
		d := m.d
		p := id(40, 1)
		tp := topics.Object(mo.Person)
		put := runner.Record{Topic: tp, Offset: 0, Key: []byte(p), Value: envelope(event.Update, obj(mo.Person, p, ver("1980-01-01", "", map[string]any{"user_key": "p", "given_name": "Åse", "surname": "Ærø"})))}
		if err := m.Apply(ctx, runner.NewBatch([]runner.Record{put})); err != nil {
			t.Fatal(err)
		}
		tomb := runner.Record{Topic: tp, Offset: 1, Key: []byte(p)}
		if err := m.Apply(ctx, runner.NewBatch([]runner.Record{tomb})); err != nil {
			t.Fatalf("delete-only batch: %v", err)
		}
		got := query(t, db, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", d.Quote("query_tid"), d.Quote(tKvittering), d.Quote("id")))
		if len(got) != 2 || got[0] == "∅" || got[1] != "∅" {
			t.Fatalf("kvittering query_tid: %v, want a time then NULL", got)
		}
		if n := query(t, db, fmt.Sprintf("SELECT COUNT(*) FROM %s", d.Quote(tBrugere))); n[0] != "0" {
			t.Fatalf("the person was not deleted: %v", n)
		}
	})
}

// SIGTERM while the mirror is still starting (reading the target's
// tables) is a clean stop, not an error: Run returns nil. (The CI run of
// TestKillNineMidBatch met this: its last helper was stopped before it
// had finished reading the columns of klasser, and exited 1.)
func TestStopWhileStartingIsClean(t *testing.T) {
	for _, dialect := range localDialects() {
		t.Run(dialect, func(t *testing.T) {
			cfg := newTarget(t, dialect, Actual)
			for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
				ctx, cancel := context.WithTimeout(context.Background(), after)
				err := Run(ctx, cfg, RunDeps{Topics: event.Topics{Prefix: "unused"}, KafkaOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
				cancel()
				if err != nil {
					t.Errorf("stopped %s after the start: got %v, want nil (a clean stop)", after, err)
				}
			}
		})
	}
}
