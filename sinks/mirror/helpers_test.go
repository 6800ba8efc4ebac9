package mirror

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// EnvMSSQL names a SQL Server for the integration tests (a login that may
// create databases), e.g. sqlserver://sa:pw@127.0.0.1:1433. No SQL Server
// can run where mocdc is developed; without it the SQL Server subtests are
// reported as not run.
const EnvMSSQL = "MOCDC_TEST_MSSQL_DSN"

// fixedNow is "today" in the tests: 2026-06-15 in Copenhagen.
var fixedNow = time.Date(2026, 6, 15, 12, 0, 0, 0, mo.Location)

func fixedClock() time.Time { return fixedNow }

// EnvDialects restricts the dialects the integration tests run against:
// a comma-separated list (make test-mssql sets it to mssql). Unset: all.
const EnvDialects = "MOCDC_TEST_DIALECTS"

// selected reports whether EnvDialects lets the tests use dialect.
func selected(dialect string) bool {
	v := os.Getenv(EnvDialects)
	if v == "" {
		return true
	}
	for _, d := range strings.Split(v, ",") {
		if strings.TrimSpace(d) == dialect {
			return true
		}
	}
	return false
}

// localDialects are the dialects of the local services (postgres, mysql)
// that EnvDialects selects.
func localDialects() []string {
	var out []string
	for _, d := range []string{"postgres", "mysql"} {
		if selected(d) {
			out = append(out, d)
		}
	}
	return out
}

// dialects lists the dialects to test: postgres and mysql (the local
// services), and mssql with MOCDC_TEST_MSSQL_DSN; EnvDialects narrows it.
func dialects() []string {
	out := localDialects()
	if os.Getenv(EnvMSSQL) != "" && selected("mssql") {
		out = append(out, "mssql")
	}
	return out
}

// forEachDialect runs f as a subtest per dialect, and reports the SQL
// Server subtest as not run (with the reason) when there is no server.
func forEachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range dialects() {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
	if os.Getenv(EnvMSSQL) == "" && selected("mssql") {
		t.Run("mssql", func(t *testing.T) {
			t.Skip("NOT RUN: no SQL Server (set " + EnvMSSQL + " to run it); the T-SQL is covered by the golden files in testdata/")
		})
	}
}

// newTarget creates an empty database for dialect and returns a mirror
// config for it.
func newTarget(t testing.TB, dialect string, mode Mode) Config {
	t.Helper()
	var dsn string
	switch dialect {
	case "postgres":
		dsn = testenv.NewPostgresDB(t, "mirror")
	case "mysql":
		dsn = testenv.NewMySQLDB(t, "mirror")
	case "mssql":
		dsn = newMSSQLDB(t)
	default:
		t.Fatalf("unknown dialect %s", dialect)
	}
	cfg := Config{Name: "test", Dialect: dialect, DSN: dsn, Mode: mode,
		Batch: BatchConfig{MaxWait: 20 * time.Millisecond}}
	cfg.Retry.Min, cfg.Retry.Max = 10*time.Millisecond, 500*time.Millisecond
	cfg.SessionTimeout = 6 * time.Second // the broker's minimum: killed instances are noticed fast
	cfg.Defaults()
	return cfg
}

func newMSSQLDB(t testing.TB) string {
	admin := os.Getenv(EnvMSSQL)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "mirror_" + hex.EncodeToString(b)
	db, err := sql.Open("sqlserver", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE [" + name + "]"); err != nil {
		t.Fatalf("create SQL Server database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("sqlserver", admin)
		if err != nil {
			t.Errorf("drop SQL Server database %s: %v", name, err)
			return
		}
		defer db.Close()
		// Separate statements: a server that refuses SINGLE_USER
		// (Babelfish) or a session that holds on must not keep the DROP
		// from running.
		if _, err := db.Exec("ALTER DATABASE [" + name + "] SET SINGLE_USER WITH ROLLBACK IMMEDIATE"); err != nil {
			t.Logf("SQL Server database %s: SET SINGLE_USER: %v (dropping it all the same)", name, err)
		}
		if _, err := db.Exec("DROP DATABASE [" + name + "]"); err != nil {
			t.Errorf("drop SQL Server database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// openMirror opens, prepares and returns a Mirror over cfg's target, with
// the fixed clock.
func openMirror(t *testing.T, cfg Config, topics event.Topics, opts ...Option) (*Mirror, *sql.DB) {
	t.Helper()
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := New(db, cfg, topics, append([]Option{WithClock(fixedClock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if err := m.Prepare(context.Background(), false); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return m, db
}

// ---------------------------------------------------------------- objects

func day(s string) *mo.Date {
	if s == "" {
		return nil
	}
	d := mo.Date(s)
	return &d
}

// ver is one validity period [from, to] (inclusive, "" = open) with fields.
func ver(from, to string, fields map[string]any) mo.Version {
	v := mo.Validity{From: day(from), To: day(to)}
	return mo.Version{Validity: v, Period: v.Period(), Fields: fields}
}

func obj(typ mo.Type, uuid string, vs ...mo.Version) *mo.Object {
	return &mo.Object{Type: typ, UUID: uuid, Validities: vs}
}

var eventSeq atomic.Int64

// envelope encodes o as an event (op update unless given).
func envelope(op event.Op, o *mo.Object) []byte {
	n := eventSeq.Add(1)
	e := &event.Envelope{Version: event.Version, ID: fmt.Sprintf("test/%d", n), Op: op, Type: o.Type, UUID: o.UUID,
		Source:  event.Source{LSN: fmt.Sprintf("0/%X", n), Xid: uint32(n), CommitTime: time.Now().Truncate(time.Millisecond)},
		Changed: []string{}, Object: o}
	b, err := e.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// deleteEnvelope encodes the delete event of an object.
func deleteEnvelope(typ mo.Type, uuid string) []byte {
	n := eventSeq.Add(1)
	e := &event.Envelope{Version: event.Version, ID: fmt.Sprintf("test/%d", n), Op: event.Delete, Type: typ, UUID: uuid,
		Source: event.Source{CommitTime: time.Now()}, Changed: []string{}}
	b, _ := e.Marshal()
	return b
}

// id makes a readable uuid: id(7, 3) = "00000007-0000-4000-8000-000000000003".
func id(kind, n int) string {
	return fmt.Sprintf("%08d-0000-4000-8000-%012d", kind, n)
}

// ------------------------------------------------------------- reading

// query returns the rows of q as strings (NULL as "∅"), each row joined
// with " | ".
func query(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = "∅"
			if v.Valid {
				parts[i] = normBool(v.String)
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// normBool makes booleans read the same in every dialect.
func normBool(s string) string {
	switch s {
	case "true", "t":
		return "1"
	case "false", "f":
		return "0"
	}
	return s
}

// selectSQL is "SELECT cols FROM table ORDER BY order" with quoting.
func selectSQL(d Dialect, table string, cols []string, order ...string) string {
	return fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", list(d, "", cols), d.Quote(table), list(d, "", order))
}
