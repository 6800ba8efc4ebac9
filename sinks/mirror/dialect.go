package mirror

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// Dialect is what differs between the target databases; everything else
// in the mirror is shared. Implementations are stateless apart from their
// settings and safe for concurrent use; the statements they return are
// pure functions of the table definitions (golden-tested in testdata/).
type Dialect interface {
	// Name is the config name: postgres, mysql or mssql.
	Name() string
	// Driver is the database/sql driver name.
	Driver() string
	// Quote quotes an identifier (names with æ and ø are quoted as-is;
	// the connection is UTF-8 or UTF-16).
	Quote(ident string) string
	// Param is the n-th (1-based) bind parameter.
	Param(n int) string
	// InList is the condition "col is one of n values" with its
	// parameters numbered from first; ListArgs binds the values.
	// PostgreSQL takes one array (its planner is slow with long lists of
	// parameters), the others one parameter per value.
	InList(col string, first, n int) string
	ListArgs(vals []string) []any

	// CreateTable returns the DDL that creates t with its keys and
	// indexes, idempotent (nothing happens when t exists).
	CreateTable(t *Table) []string
	// DropTable drops t if it exists.
	DropTable(t *Table) string
	// Introspect returns a query listing (name, canonical type) of the
	// columns of the table named by bind parameter 1, in the current
	// schema; see canonical.
	Introspect() string
	// Canonical turns one row of the Introspect query into a canonical
	// type: string(N), text, int, bigint, bool or time.
	Canonical(dataType string, length sql.NullInt64, columnType string) string

	// SessionSetup returns the statements run once on every new session
	// of the mirror, before its staging tables are created.
	SessionSetup() []string

	// Staging: a session-private table per mirrored table, with the same
	// columns and a non-unique index on the key (so that joins with the
	// target never scan it once per row, whatever the planner guesses).
	// CreateStaging is idempotent and runs once per session; ClearStaging
	// (none when not needed) runs before a load inside the transaction.
	Staging(t *Table) string
	CreateStaging(t *Table) []string
	ClearStaging(t *Table) []string
	// Load bulk-loads rows (values in t.Columns order: string, int64,
	// bool, string timestamps or nil) into t's staging table, inside the
	// session's transaction.
	Load(ctx context.Context, s *session, t *Table, rows [][]any) error
	// LoadInto bulk-loads rows straight into t, for rows whose owners had
	// no rows before (nothing to delete, update or collide with). A key
	// that exists all the same fails (PostgreSQL, SQL Server) or is
	// skipped (MySQL's LOAD DATA LOCAL).
	LoadInto(ctx context.Context, s *session, t *Table, rows [][]any) error
	// Unique reports whether err is a unique-key violation.
	Unique(err error) bool

	// DeleteVanished deletes the rows of t whose owner is listed in the
	// keys staging table for t and whose key is not in t's staging.
	DeleteVanished(t *Table) string
	// Upsert writes t's staging into t: update (may be empty) changes the
	// rows whose key exists where a value differs; insert adds the rows
	// whose key does not exist (for tables without a surrogate id it is
	// one upsert statement doing both). When no staged owner had rows
	// before, only insert runs.
	Upsert(t *Table) (update, insert string)

	// Classify says what an error from the target means.
	Classify(err error) ErrorClass
	// Check runs dialect-specific checks after connecting (e.g. MySQL's
	// local_infile) before any Load; it may adjust the dialect's settings
	// and returns warnings for the operator.
	Check(ctx context.Context, db *sql.DB) (warnings []string, err error)
}

// pipeliner is a Dialect that can send a flush's steps — statements and
// loads — in one round trip. Pipeline returns done false, having sent
// nothing, when it leaves these steps to the plain path (e.g. loads too big
// for anything but the bulk protocol).
type pipeliner interface {
	Pipeline(ctx context.Context, s *session, ops []op) (done bool, err error)
}

// ErrorClass is what an error from the target means for delivery.
type ErrorClass int

// Error classes. Each dialect maps its server's error codes to them and
// lists the codes it knows; an error code a dialect does not know is
// Invalid, never retried blindly.
const (
	// Retryable: the transaction lost a race with another one (deadlock,
	// serialization failure, lock timeout, a duplicate key two instances
	// raced for). The batch is tried again; nothing is skipped. A batch
	// that fails the same way again and again is split by the runner and
	// finally stops it (runner.Config.StuckAfter).
	Retryable ErrorClass = iota
	// Data: the target rejects a value (too long, out of range, NULL in
	// a NOT NULL column). The record that carries it is dead-lettered.
	Data
	// Auth: wrong user or password, or no permission. Fatal.
	Auth
	// NoDatabase: the database in the DSN does not exist. Fatal.
	NoDatabase
	// Unavailable: the target cannot be reached or is not ready (refused
	// or lost connection, login timeout, shutdown, failover). Retried for
	// as long as it takes.
	Unavailable
	// Invalid: the target rejects the statement itself (syntax, an
	// unsupported feature, a missing object), or fails with an error code
	// the dialect does not know. Fatal: retrying the same statement cannot
	// help and dead-lettering would throw good records away.
	Invalid
)

func (c ErrorClass) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Data:
		return "data"
	case Auth:
		return "auth"
	case NoDatabase:
		return "no database"
	case Unavailable:
		return "unavailable"
	case Invalid:
		return "invalid"
	}
	return "?"
}

// classifyNetwork classifies the errors every driver shares: a lost or
// refused connection, a timeout, a connection the pool gave up on. ok is
// false for anything else.
func classifyNetwork(err error) (ErrorClass, bool) {
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return Unavailable, true
	}
	return 0, false
}

// deliveryError marks err for the runner by its class.
func deliveryError(class ErrorClass, err error) error {
	switch class {
	case Data:
		return runner.Permanent(err)
	case Unavailable:
		return runner.Unavailable(err)
	case Auth, NoDatabase, Invalid:
		return runner.Fatal(err)
	}
	return err
}

// session is one target connection with its open transaction.
type session struct {
	conn *sql.Conn
	tx   *sql.Tx
	// trace, when set (benchmarks), receives each statement's duration.
	trace func(q string, d time.Duration)
	// statements counts the round trips of the transaction (statements
	// and bulk loads), for mocdc_sink_mirror_statements_total.
	statements int
}

// timed counts a round trip and, when tracing, times it.
func (s *session) timed(q string) func() {
	s.statements++
	if s.trace == nil {
		return func() {}
	}
	start := time.Now()
	return func() { s.trace(q, time.Since(start)) }
}

func (s *session) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	for i, a := range args {
		if a == nil {
			// A bug, caught in every dialect's tests: see typedNull.
			return nil, fmt.Errorf("parameter %d is an untyped nil (bind a typed NULL, e.g. sql.NullString{})\n\tin: %s", i+1, abbreviate(q))
		}
	}
	defer s.timed(q)()
	res, err := s.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%w\n\tin: %s", err, abbreviate(q))
	}
	return res, nil
}

func abbreviate(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 200 {
		return q[:200] + "…"
	}
	return q
}

// list joins quoted identifiers with prefix (e.g. "s.").
func list(d Dialect, prefix string, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = prefix + d.Quote(n)
	}
	return strings.Join(parts, ", ")
}

// match is "a.k1 = b.k1 AND a.k2 = b.k2".
func match(d Dialect, a, b string, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = a + "." + d.Quote(n) + " = " + b + "." + d.Quote(n)
	}
	return strings.Join(parts, " AND ")
}

// ownerMatch is "k.tbl = 'name' AND k.k1 = t.o1 [AND k.k2 = t.o2]" where
// the owner columns are compared as strings.
func ownerMatch(d Dialect, t *Table, keys, target string) string {
	parts := []string{keys + "." + d.Quote("tbl") + " = '" + t.Name + "'"}
	for i, o := range t.Owner {
		parts = append(parts, fmt.Sprintf("%s.%s = %s.%s", keys, d.Quote("k"+itoa(i+1)), target, d.Quote(o)))
	}
	return strings.Join(parts, " AND ")
}

// deleteVanished is the portable form: DELETE … WHERE EXISTS owner AND NOT
// EXISTS staged key. from is "tbl t" or "t FROM tbl t" as the dialect wants.
func deleteVanished(d Dialect, t *Table, from string) string {
	return fmt.Sprintf("DELETE %s WHERE EXISTS (SELECT 1 FROM %s k WHERE %s) AND NOT EXISTS (SELECT 1 FROM %s s WHERE %s)",
		from, d.Staging(keysTable), ownerMatch(d, t, "k", "t"), d.Staging(t), match(d, "s", "t", t.Key))
}

// canonicalOf is the canonical type a column is expected to have.
func canonicalOf(c Column) string {
	switch c.Kind {
	case String:
		return fmt.Sprintf("string(%d)", c.Len)
	case Text:
		return "text"
	case Int:
		return "int"
	case BigInt:
		return "bigint"
	case Bool:
		return "bool"
	case Time:
		return "time"
	}
	return "?"
}

// dialectFor returns the dialect called name.
func dialectFor(cfg Config) (Dialect, error) {
	switch cfg.Dialect {
	case "postgres":
		return &postgres{}, nil
	case "mysql":
		return &mysql{insertOnly: cfg.MySQLLoad == MySQLInsert}, nil
	case "mssql":
		return &mssql{bulkCopy: cfg.BulkCopy}, nil
	}
	return nil, fmt.Errorf("dialect %q: use postgres, mysql or mssql", cfg.Dialect)
}

// errorIs reports whether err or any error it joins or wraps satisfies f.
func errorAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
