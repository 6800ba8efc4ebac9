package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	mssqldb "github.com/microsoft/go-mssqldb"
)

// mssql is the SQL Server dialect (microsoft/go-mssqldb), for SQL Server
// 2016 or later and for Babelfish for PostgreSQL (its T-SQL endpoint).
// Staging is a #temporary table per mirrored table, loaded with TDS bulk
// copy (mssql.CopyIn) or, with bulk_copy: false, multi-row INSERT; it is
// written into the target with UPDATE … FROM then INSERT … WHERE NOT
// EXISTS, never MERGE (Babelfish refuses MERGE, and SQL Server's has a
// long record of defects). Strings are nvarchar, so æ, ø and å need no
// code page; staging string columns use COLLATE DATABASE_DEFAULT so joins
// with the target never hit a collation conflict with tempdb. Every index
// is its own CREATE INDEX (Babelfish refuses INDEX inside CREATE TABLE).
//
// Concurrency. Every transaction runs at SERIALIZABLE (Mirror.begin): the
// computed columns are derived from what the transaction reads of the
// shared state tables, and only serializable reads keep another
// instance's concurrent change to one of them from leaving a stale value
// (the transaction that loses is a deadlock victim, 1205, and retried).
// The upsert's statements also carry WITH (UPDLOCK, HOLDLOCK) on the
// target: HOLDLOCK (the SERIALIZABLE table hint) keeps the key range of
// every staged key locked from the UPDATE to the commit, so another
// instance cannot insert a key between this one's UPDATE and INSERT;
// UPDLOCK takes those range locks as update locks, so two instances
// upserting the same keys queue instead of both taking shared range locks
// and then deadlocking when each tries to insert into the range the other
// holds (the classic update-then-insert conversion deadlock). Lock hints
// alone would not do instead of SERIALIZABLE: the reads that feed the
// computed columns need it too. sp_getapplock would serialize whole
// batches and with them the instances.
//
// Babelfish ignores table hints (escape_hatch_table_hints) and runs
// SERIALIZABLE as PostgreSQL's serializable snapshot isolation, which
// gives the same guarantee by aborting one of two conflicting
// transactions; it allows SERIALIZABLE only with
// babelfishpg_tsql.isolation_level_serializable = pg_isolation, which
// SessionSetup sets for the mirror's own sessions and Check verifies.
//
// No SQL Server or Babelfish runs where mocdc is developed: the statements
// are golden-tested (testdata/mssql_*.sql) and the integration tests run
// only when MOCDC_TEST_MSSQL_DSN is set (make test-mssql).
type mssql struct {
	// bulkCopy is the configured bulk_copy (nil: bulk copy unless the
	// server is Babelfish).
	bulkCopy *bool
	// babelfish is set by Check when the server is Babelfish.
	babelfish bool
}

var _ Dialect = (*mssql)(nil)

func (*mssql) Name() string   { return "mssql" }
func (*mssql) Driver() string { return "sqlserver" }

func (*mssql) Quote(ident string) string {
	return "[" + strings.ReplaceAll(ident, "]", "]]") + "]"
}

// literal is a Unicode string literal.
func (*mssql) literal(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (*mssql) Param(n int) string { return fmt.Sprintf("@p%d", n) }

func (d *mssql) InList(col string, first, n int) string { return inList(d, col, first, n) }
func (*mssql) ListArgs(vals []string) []any             { return listArgs(vals) }

func (d *mssql) colType(c Column) string {
	switch c.Kind {
	case String:
		return fmt.Sprintf("nvarchar(%d)", c.Len)
	case Text:
		return "nvarchar(max)"
	case Int:
		return "int"
	case BigInt:
		return "bigint"
	case Bool:
		return "bit"
	case Time:
		return "datetime2"
	}
	panic("unknown column kind")
}

func (d *mssql) columnDefs(t *Table, keys bool) []string {
	var defs []string
	if t.ID && keys {
		defs = append(defs, d.Quote("id")+" int IDENTITY(1,1) NOT NULL PRIMARY KEY")
	}
	for _, c := range t.Columns {
		def := d.Quote(c.Name) + " " + d.colType(c)
		if !keys && (c.Kind == String || c.Kind == Text) {
			def += " COLLATE DATABASE_DEFAULT"
		}
		if c.NotNull && keys {
			def += " NOT NULL"
		}
		defs = append(defs, def)
	}
	return defs
}

// CreateTable is the table with its key constraint, then one CREATE INDEX
// per extra index, each guarded so that it runs once.
func (d *mssql) CreateTable(t *Table) []string {
	defs := d.columnDefs(t, true)
	switch {
	case len(t.Key) > 0 && t.ID:
		defs = append(defs, fmt.Sprintf("CONSTRAINT %s UNIQUE (%s)", d.Quote(t.Name+"_mocdc_key"), list(d, "", t.Key)))
	case len(t.Key) > 0:
		defs = append(defs, fmt.Sprintf("CONSTRAINT %s PRIMARY KEY (%s)", d.Quote(t.Name+"_mocdc_pkey"), list(d, "", t.Key)))
	}
	out := []string{fmt.Sprintf("IF OBJECT_ID(%s, N'U') IS NULL\nCREATE TABLE %s (\n  %s\n)", d.literal(t.Name), d.Quote(t.Name), strings.Join(defs, ",\n  "))}
	for _, ix := range t.Indexes {
		name := t.Name + "_" + strings.Join(ix, "_") + "_idx"
		out = append(out, fmt.Sprintf("IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(%s, N'U') AND name = %s)\nCREATE INDEX %s ON %s (%s)",
			d.literal(t.Name), d.literal(name), d.Quote(name), d.Quote(t.Name), list(d, "", ix)))
	}
	return out
}

func (d *mssql) DropTable(t *Table) string { return "DROP TABLE IF EXISTS " + d.Quote(t.Name) }

func (*mssql) Introspect() string {
	return `SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS
 WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = @p1`
}

func (*mssql) Canonical(dataType string, length sql.NullInt64, _ string) string {
	switch strings.ToLower(dataType) {
	case "nvarchar", "varchar", "nchar", "char":
		if length.Int64 < 0 {
			return "text"
		}
		return fmt.Sprintf("string(%d)", length.Int64)
	case "ntext", "text":
		return "text"
	case "int":
		return "int"
	case "bigint":
		return "bigint"
	case "bit":
		return "bool"
	case "datetime", "datetime2", "smalldatetime":
		return "time"
	}
	return dataType
}

// SessionSetup makes any error abort the whole transaction. On Babelfish
// it also allows SERIALIZABLE for the session (without it Babelfish does
// not run a transaction at SERIALIZABLE) and has table hints ignored
// rather than refused (they are SQL Server's locking; PostgreSQL's
// serializable isolation gives the guarantee there). Both settings are
// the session's own: nothing changes for other users of the server.
func (d *mssql) SessionSetup() []string {
	out := []string{"SET XACT_ABORT ON"}
	if d.babelfish {
		out = append(out,
			"EXECUTE sp_babelfish_configure 'isolation_level_serializable', 'pg_isolation'",
			"EXECUTE sp_babelfish_configure 'escape_hatch_table_hints', 'ignore'")
	}
	return out
}

func (d *mssql) Staging(t *Table) string { return d.Quote("#mocdc_stg_" + t.Name) }

// CreateStaging creates the #temporary table and its key index once per
// session.
func (d *mssql) CreateStaging(t *Table) []string {
	return []string{fmt.Sprintf("IF OBJECT_ID(%s) IS NULL\nBEGIN\n  CREATE TABLE %s (%s);\n  CREATE INDEX %s ON %s (%s);\nEND",
		d.literal("tempdb..#mocdc_stg_"+t.Name), d.Staging(t), strings.Join(d.columnDefs(t, false), ", "),
		d.Quote("mocdc_key"), d.Staging(t), list(d, "", t.Key))}
}

func (d *mssql) ClearStaging(t *Table) []string { return []string{"TRUNCATE TABLE " + d.Staging(t)} }

// useBulkCopy says whether rows are loaded with TDS bulk copy.
func (d *mssql) useBulkCopy() bool {
	if d.bulkCopy != nil {
		return *d.bulkCopy
	}
	return !d.babelfish
}

// Load loads rows into the staging table inside the transaction.
func (d *mssql) Load(ctx context.Context, s *session, t *Table, rows [][]any) error {
	return d.loadInto(ctx, s, "#mocdc_stg_"+t.Name, t, rows)
}

// LoadInto loads rows straight into t.
func (d *mssql) LoadInto(ctx context.Context, s *session, t *Table, rows [][]any) error {
	return d.loadInto(ctx, s, t.Name, t, rows)
}

func (d *mssql) loadInto(ctx context.Context, s *session, table string, t *Table, rows [][]any) error {
	if d.useBulkCopy() {
		return d.copyInto(ctx, s, table, t, rows)
	}
	if err := insertRows(ctx, s, d, table, t.Columns, rows, mssqlRowsPerInsert(len(t.Columns))); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// mssqlRowsPerInsert is how many rows of n columns one INSERT … VALUES
// takes: at most 1000 row constructors and 2100 parameters per request.
func mssqlRowsPerInsert(n int) int { return max(1, min(1000, 2099/max(n, 1))) }

// Unique is error 2627 (unique constraint) or 2601 (unique index).
func (d *mssql) Unique(err error) bool {
	n, ok := mssqlNumber(err)
	return ok && (n == 2627 || n == 2601)
}

// copyInto bulk-copies rows (t's columns) into the table named table.
func (d *mssql) copyInto(ctx context.Context, s *session, table string, t *Table, rows [][]any) error {
	stmt, err := s.tx.PrepareContext(ctx, mssqldb.CopyIn(table, mssqldb.BulkOptions{KeepNulls: true}, t.ColumnNames()...))
	if err != nil {
		return fmt.Errorf("bulk copy into %s: %w", table, err)
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return fmt.Errorf("bulk copy into %s: %w", table, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("bulk copy into %s: %w", table, err)
	}
	return nil
}

func (d *mssql) DeleteVanished(t *Table) string {
	return deleteVanished(d, t, "t FROM "+d.Quote(t.Name)+" AS t")
}

// lockHints are the table hints of the upsert's reads of the target; see
// the type's comment for why.
const mssqlLockHints = "WITH (UPDLOCK, HOLDLOCK)"

// Upsert is UPDATE … FROM of the staged rows whose key exists and whose
// values differ (EXCEPT compares NULLs as equal), then INSERT … WHERE NOT
// EXISTS of the rest, both under UPDLOCK, HOLDLOCK on the target.
func (d *mssql) Upsert(t *Table) (string, string) {
	cols, nonKey := t.ColumnNames(), t.NonKey()
	tbl, stg := d.Quote(t.Name), d.Staging(t)
	var update string
	if len(nonKey) > 0 {
		sets := make([]string, len(nonKey))
		for i, c := range nonKey {
			sets[i] = "t." + d.Quote(c) + " = s." + d.Quote(c)
		}
		update = fmt.Sprintf("UPDATE t SET %s\nFROM %s AS t %s\nJOIN %s AS s ON %s\nWHERE EXISTS (SELECT %s EXCEPT SELECT %s)",
			strings.Join(sets, ", "), tbl, mssqlLockHints, stg, match(d, "t", "s", t.Key), list(d, "s.", nonKey), list(d, "t.", nonKey))
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s)\nSELECT %s FROM %s AS s\nWHERE NOT EXISTS (SELECT 1 FROM %s AS t %s WHERE %s)",
		tbl, list(d, "", cols), list(d, "s.", cols), stg, tbl, mssqlLockHints, match(d, "t", "s", t.Key))
	return update, insert
}

// SQL Server error numbers the dialect knows, by class. A number not
// listed is Invalid: the mirror stops with the server's message rather
// than retry an error it cannot tell from a rejected statement.
var mssqlClasses = map[int32]ErrorClass{
	// A value the column cannot take: truncation (8152, 2628), conversion
	// (245, 8114, 241, 242), NULL in NOT NULL (515), overflow (8115, 220,
	// 248), constraint (547).
	8152: Data, 2628: Data, 245: Data, 8114: Data, 241: Data, 242: Data, 515: Data, 8115: Data, 220: Data, 248: Data, 547: Data,
	// Login failed (18456), disabled, locked or expired logins
	// (18470, 18486, 18487, 18488); permission denied on an object, a
	// column, in the database or for the action (229, 230, 262, 297,
	// 15247); no access to the database (916).
	18456: Auth, 18470: Auth, 18486: Auth, 18487: Auth, 18488: Auth,
	229: Auth, 230: Auth, 262: Auth, 297: Auth, 15247: Auth, 916: Auth,
	// Cannot open the database the login requests (4060), no such
	// database (911).
	4060: NoDatabase, 911: NoDatabase,
	// Lost races: deadlock victim (1205), lock request timeout (1222),
	// snapshot update conflict (3960), duplicate key (2627, 2601: two
	// instances inserting the same new offset row, or a direct load that
	// met a row and is retried through staging), an object or index that
	// another instance starting at the same time created first (2714,
	// 1913).
	1205: Retryable, 1222: Retryable, 3960: Retryable, 2627: Retryable, 2601: Retryable, 2714: Retryable, 1913: Retryable,
	// The server or database is not available now: shutting down (6005),
	// paused (17142), in upgrade mode (18401), out of memory or lock
	// resources (701, 8645, 1204), and the transient errors Azure SQL
	// documents (40613, 40501, 40197, 49918, 49919, 49920, 10928, 10929,
	// 4221); transport-level failures reported as server errors (233,
	// 10053, 10054, 10060).
	6005: Unavailable, 17142: Unavailable, 18401: Unavailable, 701: Unavailable, 8645: Unavailable, 1204: Unavailable,
	40613: Unavailable, 40501: Unavailable, 40197: Unavailable, 49918: Unavailable, 49919: Unavailable, 49920: Unavailable,
	10928: Unavailable, 10929: Unavailable, 4221: Unavailable, 233: Unavailable, 10053: Unavailable, 10054: Unavailable, 10060: Unavailable,
}

// mssqlConsequences are errors that only report the effect of an earlier
// one in the same reply ("The statement has been terminated.", an
// uncommittable transaction, a transaction count mismatch): the earlier
// error is the one to classify.
var mssqlConsequences = map[int32]bool{3621: true, 3998: true, 266: true, 3902: true, 3903: true}

// mssqlError returns the error of a reply that says what went wrong: the
// first that is not a consequence of another.
func mssqlError(err error) (mssqldb.Error, bool) {
	var me mssqldb.Error
	if !errors.As(err, &me) {
		var pme *mssqldb.Error
		if !errors.As(err, &pme) || pme == nil {
			return me, false
		}
		me = *pme
	}
	for _, e := range me.All {
		if !mssqlConsequences[e.Number] {
			return e, true
		}
	}
	return me, true
}

func mssqlNumber(err error) (int32, bool) {
	me, ok := mssqlError(err)
	return me.Number, ok
}

// Classify maps SQL Server error numbers (mssqlClasses). Connection
// failures — refused, reset, timed out (the login timeout too) — and a
// connection the driver marks bad are Unavailable; errors of severity 20
// and above end the connection and are Unavailable too. Babelfish reports
// PostgreSQL errors it has no T-SQL number for under a generic number:
// its serialization failure and deadlock are recognised by their
// messages. Any other number is Invalid.
func (*mssql) Classify(err error) ErrorClass {
	me, ok := mssqlError(err)
	if !ok {
		if c, ok := classifyNetwork(err); ok {
			return c
		}
		var se mssqldb.StreamError
		if errors.As(err, &se) {
			return Unavailable
		}
		return Retryable // not the server's: bounded by the runner
	}
	if c, ok := mssqlClasses[me.Number]; ok {
		return c
	}
	msg := strings.ToLower(me.Message)
	switch {
	case strings.Contains(msg, "could not serialize access"), strings.Contains(msg, "deadlock detected"):
		return Retryable
	case me.Class >= 20:
		return Unavailable
	}
	return Invalid
}

// sqlIsBabelfish is 1 on Babelfish for PostgreSQL, 0 on SQL Server.
const sqlIsBabelfish = `SELECT CASE WHEN SERVERPROPERTY('babelfish') IS NOT NULL OR @@VERSION LIKE '%Babelfish%' THEN 1 ELSE 0 END`

// sqlIsolationLevel is the isolation level of the session's transaction
// (4 is SERIALIZABLE).
const sqlIsolationLevel = `SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID`

// Check finds out whether the server is Babelfish and verifies, on a
// session set up like the mirror's own, that a transaction begun at
// SERIALIZABLE really runs at SERIALIZABLE.
func (d *mssql) Check(ctx context.Context, db *sql.DB) ([]string, error) {
	var bf int
	if err := db.QueryRowContext(ctx, sqlIsBabelfish).Scan(&bf); err != nil {
		return nil, fmt.Errorf("find out whether the server is SQL Server or Babelfish: %w", err)
	}
	d.babelfish = bf == 1
	var warnings []string
	if d.babelfish {
		if d.useBulkCopy() {
			warnings = append(warnings, "mssql: the target is Babelfish for PostgreSQL and bulk_copy is true: Babelfish has a known defect when a bulk-load message ends on a TDS packet boundary; set bulk_copy: false (multi-row INSERT) if loads fail")
		} else if d.bulkCopy == nil {
			warnings = append(warnings, "mssql: the target is Babelfish for PostgreSQL: loading staging with multi-row INSERT instead of bulk copy (set bulk_copy: true to force bulk copy)")
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	for _, q := range d.SessionSetup() {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("prepare session (%s): %w", q, err)
		}
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return nil, fmt.Errorf("begin a serializable transaction: %w", err)
	}
	defer tx.Rollback()
	var level int
	if err := tx.QueryRowContext(ctx, sqlIsolationLevel).Scan(&level); err != nil {
		return nil, fmt.Errorf("read the transaction's isolation level: %w", err)
	}
	if level != 4 {
		what := "SQL Server"
		if d.babelfish {
			what = "Babelfish (is babelfishpg_tsql.isolation_level_serializable = pg_isolation allowed for this login?)"
		}
		return nil, &StartError{fmt.Sprintf("mssql: a transaction begun at SERIALIZABLE runs at isolation level %d on this %s: the mirror needs SERIALIZABLE (4) "+
			"to keep its computed columns right with several instances; on Babelfish run EXECUTE sp_babelfish_configure 'isolation_level_serializable', 'pg_isolation', 'server'", level, what)}
	}
	return warnings, nil
}
