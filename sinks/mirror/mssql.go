package mirror

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	mssqldb "github.com/microsoft/go-mssqldb"
)

// mssql is the SQL Server dialect (microsoft/go-mssqldb): bulk copy
// (mssql.CopyIn) into a #temporary staging table, then MERGE. Strings are
// nvarchar, so æ, ø and å need no code page; staging string columns use
// COLLATE DATABASE_DEFAULT so joins with the target never hit a collation
// conflict with tempdb.
//
// No SQL Server runs where mocdc is developed: the statements are
// golden-tested (testdata/mssql_*.sql) and the integration tests run only
// when MOCDC_TEST_MSSQL_DSN is set.
type mssql struct{}

var _ Dialect = (*mssql)(nil)

func (*mssql) Name() string   { return "mssql" }
func (*mssql) Driver() string { return "sqlserver" }

func (*mssql) Quote(ident string) string {
	return "[" + strings.ReplaceAll(ident, "]", "]]") + "]"
}

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

func (d *mssql) CreateTable(t *Table) []string {
	defs := d.columnDefs(t, true)
	switch {
	case len(t.Key) > 0 && t.ID:
		defs = append(defs, fmt.Sprintf("CONSTRAINT %s UNIQUE (%s)", d.Quote(t.Name+"_mocdc_key"), list(d, "", t.Key)))
	case len(t.Key) > 0:
		defs = append(defs, fmt.Sprintf("CONSTRAINT %s PRIMARY KEY (%s)", d.Quote(t.Name+"_mocdc_pkey"), list(d, "", t.Key)))
	}
	for _, ix := range t.Indexes {
		defs = append(defs, fmt.Sprintf("INDEX %s NONCLUSTERED (%s)", d.Quote(t.Name+"_"+strings.Join(ix, "_")+"_idx"), list(d, "", ix)))
	}
	return []string{fmt.Sprintf("IF OBJECT_ID(N'%s', N'U') IS NULL\nCREATE TABLE %s (\n  %s\n)", t.Name, d.Quote(t.Name), strings.Join(defs, ",\n  "))}
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

// SessionSetup makes any error abort the whole transaction.
func (*mssql) SessionSetup() []string { return []string{"SET XACT_ABORT ON"} }

func (d *mssql) Staging(t *Table) string { return d.Quote("#mocdc_stg_" + t.Name) }

func (d *mssql) CreateStaging(t *Table) []string {
	defs := append(d.columnDefs(t, false), fmt.Sprintf("INDEX %s NONCLUSTERED (%s)", d.Quote("mocdc_key"), list(d, "", t.Key)))
	return []string{fmt.Sprintf("IF OBJECT_ID(N'tempdb..#mocdc_stg_%s') IS NULL CREATE TABLE %s (%s)",
		t.Name, d.Staging(t), strings.Join(defs, ", "))}
}

func (d *mssql) ClearStaging(t *Table) []string { return []string{"TRUNCATE TABLE " + d.Staging(t)} }

// Load bulk-copies rows into the staging table inside the transaction.
func (d *mssql) Load(ctx context.Context, s *session, t *Table, rows [][]any) error {
	return d.copyInto(ctx, s, "#mocdc_stg_"+t.Name, t, rows)
}

// LoadInto bulk-copies rows straight into t.
func (d *mssql) LoadInto(ctx context.Context, s *session, t *Table, rows [][]any) error {
	return d.copyInto(ctx, s, t.Name, t, rows)
}

// Unique is error 2627 (unique constraint) or 2601 (unique index).
func (*mssql) Unique(err error) bool {
	var me mssqldb.Error
	return errors.As(err, &me) && (me.Number == 2627 || me.Number == 2601)
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

func (d *mssql) Upsert(t *Table) (string, string) {
	cols, nonKey := t.ColumnNames(), t.NonKey()
	q := fmt.Sprintf("MERGE INTO %s WITH (HOLDLOCK) AS t\nUSING %s AS s ON %s\n", d.Quote(t.Name), d.Staging(t), match(d, "t", "s", t.Key))
	if len(nonKey) > 0 {
		sets := make([]string, len(nonKey))
		for i, c := range nonKey {
			sets[i] = "t." + d.Quote(c) + " = s." + d.Quote(c)
		}
		// EXCEPT compares NULLs as equal: only rows that differ are updated.
		q += fmt.Sprintf("WHEN MATCHED AND EXISTS (SELECT %s EXCEPT SELECT %s) THEN UPDATE SET %s\n",
			list(d, "s.", nonKey), list(d, "t.", nonKey), strings.Join(sets, ", "))
	}
	q += fmt.Sprintf("WHEN NOT MATCHED BY TARGET THEN INSERT (%s) VALUES (%s);", list(d, "", cols), list(d, "s.", cols))
	return "", q
}

// Classify maps SQL Server error numbers: truncation, conversion, NULL and
// constraint errors are data errors; login failures and permission denials
// are auth; an unopenable database is NoDatabase; deadlocks (1205), lock
// timeouts, duplicate-key races and lost connections are retryable.
func (*mssql) Classify(err error) ErrorClass {
	if errors.Is(err, driver.ErrBadConn) {
		return Retryable
	}
	var me mssqldb.Error
	if !errors.As(err, &me) {
		return Retryable
	}
	switch me.Number {
	case 8152, 2628, 245, 515, 8115, 547, 241, 242:
		return Data
	case 18456, 229, 230, 262, 916:
		return Auth
	case 4060:
		return NoDatabase
	}
	return Retryable
}

func (*mssql) Check(context.Context, *sql.DB) ([]string, error) { return nil, nil }
