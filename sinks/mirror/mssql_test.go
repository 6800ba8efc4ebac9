package mirror

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	mssqldb "github.com/microsoft/go-mssqldb"
)

// What can be checked of the T-SQL without a server (there is none here;
// make test-mssql runs the integration tests against one).

var (
	mergeRE       = regexp.MustCompile(`(?i)\bMERGE\b`)
	createTableRE = regexp.MustCompile(`(?is)CREATE TABLE (\S+) \((.*)\)`)
	inlineIndexRE = regexp.MustCompile(`(?i)\bINDEX\b`)
)

// Babelfish refuses MERGE and INDEX inside CREATE TABLE; no dialect
// generates either (every index is its own CREATE INDEX).
func TestNoMergeAndNoInlineIndex(t *testing.T) {
	for _, d := range []Dialect{&postgres{}, &mysql{}, &mssql{}, &mssql{babelfish: true}} {
		for _, mode := range []Mode{Actual, Historic} {
			all := statementsOf(d, mode)
			if m := mergeRE.FindString(all); m != "" {
				t.Errorf("%s %s: a statement uses MERGE", d.Name(), mode)
			}
			if d.Name() != "mssql" {
				continue
			}
			var stmts []string
			sc := newSchema(mode)
			for _, tb := range append(sc.tables, keysTable) {
				stmts = append(stmts, d.CreateTable(tb)...)
				stmts = append(stmts, d.CreateStaging(tb)...)
			}
			creates, indexes := 0, 0
			for _, q := range stmts {
				for _, part := range strings.Split(q, ";") {
					if m := createTableRE.FindStringSubmatch(part); m != nil {
						creates++
						if inlineIndexRE.MatchString(m[2]) {
							t.Errorf("%s: CREATE TABLE %s declares an index inline: %s", mode, m[1], m[2])
						}
					}
					if strings.Contains(part, "CREATE INDEX ") {
						indexes++
					}
				}
			}
			// Every staging table has its key index, every extra index of
			// the tables (mocdc_objects, mocdc_refs) is created.
			want := len(sc.tables) + 1 + 2
			if creates != 2*(len(sc.tables)+1) || indexes != want {
				t.Errorf("%s: %d CREATE TABLE and %d CREATE INDEX statements, want %d and %d", mode, creates, indexes, 2*(len(sc.tables)+1), want)
			}
		}
	}
}

// The upsert's update-then-insert is correct under concurrent instances
// only if both statements read the target with UPDLOCK (update locks:
// two instances queue instead of deadlocking) and HOLDLOCK (the key range
// stays locked until commit, so no other instance inserts a key between
// this one's UPDATE and INSERT). Every reference to the target in either
// statement carries both hints; the update runs first.
func TestMSSQLUpsertLockHints(t *testing.T) {
	d := &mssql{}
	for _, mode := range []Mode{Actual, Historic} {
		for _, tb := range newSchema(mode).tables {
			if tb.Direct {
				continue
			}
			update, insert := d.Upsert(tb)
			target := d.Quote(tb.Name) + " AS t"
			hinted := target + " WITH (UPDLOCK, HOLDLOCK)"
			if len(tb.NonKey()) > 0 {
				if !strings.HasPrefix(update, "UPDATE t SET ") || !strings.Contains(update, "FROM "+hinted+"\nJOIN "+d.Staging(tb)+" AS s ON ") {
					t.Errorf("%s %s: update does not read the target WITH (UPDLOCK, HOLDLOCK):\n%s", mode, tb.Name, update)
				}
				if !strings.Contains(update, " EXCEPT SELECT ") {
					t.Errorf("%s %s: update does not skip rows that are equal (NULLs too):\n%s", mode, tb.Name, update)
				}
			} else if update != "" {
				t.Errorf("%s %s: an update although every column is in the key: %s", mode, tb.Name, update)
			}
			if !strings.HasPrefix(insert, "INSERT INTO "+d.Quote(tb.Name)+" (") ||
				!strings.Contains(insert, "WHERE NOT EXISTS (SELECT 1 FROM "+hinted+" WHERE "+match(d, "t", "s", tb.Key)+")") {
				t.Errorf("%s %s: insert does not check the key WITH (UPDLOCK, HOLDLOCK):\n%s", mode, tb.Name, insert)
			}
			for _, q := range []string{update, insert} {
				if n, h := strings.Count(q, target), strings.Count(q, hinted); n != h {
					t.Errorf("%s %s: %d references to the target, %d of them with the lock hints:\n%s", mode, tb.Name, n, h, q)
				}
			}
		}
	}
}

func TestMSSQLErrorClasses(t *testing.T) {
	d := &mssql{}
	server := func(nums ...int32) error {
		var all []mssqldb.Error
		for _, n := range nums {
			all = append(all, mssqldb.Error{Number: n, Class: 16, Message: fmt.Sprintf("error %d", n)})
		}
		e := all[len(all)-1]
		e.All = all
		return fmt.Errorf("write enheder: %w", e)
	}
	cases := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"deadlock victim", server(1205), Retryable},
		{"lock request timeout", server(1222), Retryable},
		{"duplicate key race", server(2627, 3621), Retryable},
		{"object created by another instance", server(2714), Retryable},
		{"truncation, then 'statement has been terminated'", server(8152, 3621), Data},
		{"NULL into NOT NULL", server(515, 3621), Data},
		{"login failed", server(18456), Auth},
		{"CREATE TABLE permission denied", server(262), Auth},
		{"cannot open database", server(4060), NoDatabase},
		{"Azure: database not available", server(40613), Unavailable},
		{"shutdown in progress", server(6005), Unavailable},
		{"syntax error", server(102), Invalid},
		{"incorrect syntax near a keyword", server(156), Invalid},
		{"invalid object name", server(208), Invalid},
		{"unknown number", server(50123), Invalid},
		{"Babelfish: serialization failure under a generic number", fmt.Errorf("x: %w", mssqldb.Error{Number: 33557097, Class: 16,
			Message: "could not serialize access due to read/write dependencies among transactions"}), Retryable},
		{"severity 20: connection ended", fmt.Errorf("x: %w", mssqldb.Error{Number: 50999, Class: 20}), Unavailable},
		{"connection refused", fmt.Errorf("connect: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), Unavailable},
		{"bad TDS stream", mssqldb.StreamError{InnerError: errors.New("EOF")}, Unavailable},
		{"not the server's", errors.New("stored state cannot be read"), Retryable},
	}
	for _, c := range cases {
		if got := d.Classify(c.err); got != c.want {
			t.Errorf("%s: %v is %s, want %s", c.name, c.err, got, c.want)
		}
	}
	if !d.Unique(server(2627, 3621)) || d.Unique(server(8152, 3621)) {
		t.Error("Unique misreads the error chain")
	}
}

// Without bulk copy, staging is loaded with INSERT … VALUES within SQL
// Server's limits (1000 rows, 2100 parameters), NULLs typed.
func TestMSSQLInsertLimitsAndTypedNulls(t *testing.T) {
	for _, tb := range newSchema(Actual).tables {
		n := mssqlRowsPerInsert(len(tb.Columns))
		if n < 1 || n > 1000 || n*len(tb.Columns) > 2099 {
			t.Errorf("%s: %d rows of %d columns per INSERT", tb.Name, n, len(tb.Columns))
		}
	}
	for k, want := range map[Kind]any{String: sql.NullString{}, Text: sql.NullString{}, Time: sql.NullString{},
		Int: sql.NullInt32{}, BigInt: sql.NullInt64{}, Bool: sql.NullBool{}} {
		if got := typedNull(k); got != want {
			t.Errorf("typedNull(%v) = %#v, want %#v", k, got, want)
		}
	}
	on := true
	for cfg, want := range map[*mssql]bool{{}: true, {babelfish: true}: false, {babelfish: true, bulkCopy: &on}: true} {
		if got := cfg.useBulkCopy(); got != want {
			t.Errorf("bulk copy with %+v: %v, want %v", cfg, got, want)
		}
	}
}
