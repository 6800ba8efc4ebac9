package mirror

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	gomysql "github.com/go-sql-driver/mysql"
)

// mysql is the MySQL/MariaDB dialect (go-sql-driver/mysql, utf8mb4): LOAD
// DATA LOCAL INFILE from an in-memory reader into a temporary staging
// table (or multi-row INSERT when the server has local_infile off), then
// UPDATE … JOIN / INSERT … SELECT … LEFT JOIN (tables with a surrogate id)
// or INSERT … SELECT … ON DUPLICATE KEY UPDATE (the rest).
type mysql struct {
	// insertOnly loads staging with multi-row INSERT instead of LOAD DATA.
	insertOnly bool
}

var _ Dialect = (*mysql)(nil)

const mysqlCharset = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

func (*mysql) Name() string   { return "mysql" }
func (*mysql) Driver() string { return "mysql" }

func (*mysql) Quote(ident string) string {
	return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
}

func (*mysql) Param(int) string { return "?" }

func (d *mysql) InList(col string, first, n int) string { return inList(d, col, first, n) }
func (*mysql) ListArgs(vals []string) []any             { return listArgs(vals) }

func (d *mysql) colType(c Column) string {
	switch c.Kind {
	case String:
		return fmt.Sprintf("VARCHAR(%d)", c.Len)
	case Text:
		return "LONGTEXT"
	case Int:
		return "INT"
	case BigInt:
		return "BIGINT"
	case Bool:
		return "BOOLEAN"
	case Time:
		return "DATETIME(6)"
	}
	panic("unknown column kind")
}

func (d *mysql) columnDefs(t *Table, keys bool) []string {
	var defs []string
	if t.ID && keys {
		defs = append(defs, d.Quote("id")+" INT NOT NULL AUTO_INCREMENT PRIMARY KEY")
	}
	for _, c := range t.Columns {
		def := d.Quote(c.Name) + " " + d.colType(c)
		if c.NotNull && keys {
			def += " NOT NULL"
		}
		defs = append(defs, def)
	}
	return defs
}

func (d *mysql) CreateTable(t *Table) []string {
	defs := d.columnDefs(t, true)
	switch {
	case len(t.Key) > 0 && t.ID:
		defs = append(defs, fmt.Sprintf("UNIQUE KEY %s (%s)", d.Quote("mocdc_key"), list(d, "", t.Key)))
	case len(t.Key) > 0:
		defs = append(defs, fmt.Sprintf("PRIMARY KEY (%s)", list(d, "", t.Key)))
	}
	for _, ix := range t.Indexes {
		defs = append(defs, fmt.Sprintf("KEY %s (%s)", d.Quote("mocdc_"+strings.Join(ix, "_")), list(d, "", ix)))
	}
	return []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n) %s", d.Quote(t.Name), strings.Join(defs, ",\n  "), mysqlCharset)}
}

func (d *mysql) DropTable(t *Table) string { return "DROP TABLE IF EXISTS " + d.Quote(t.Name) }

func (*mysql) Introspect() string {
	return `SELECT column_name, data_type, character_maximum_length, column_type FROM information_schema.columns
 WHERE table_schema = DATABASE() AND table_name = ?`
}

func (*mysql) Canonical(dataType string, length sql.NullInt64, columnType string) string {
	switch strings.ToLower(dataType) {
	case "varchar", "char":
		return fmt.Sprintf("string(%d)", length.Int64)
	case "text", "mediumtext", "longtext", "tinytext":
		return "text"
	case "int", "integer":
		return "int"
	case "bigint":
		return "bigint"
	case "tinyint":
		if strings.HasPrefix(strings.ToLower(columnType), "tinyint(1)") {
			return "bool"
		}
		return "tinyint"
	case "datetime", "timestamp":
		return "time"
	}
	return dataType
}

// SessionSetup makes sure a value that does not fit is an error, never
// silently truncated.
func (*mysql) SessionSetup() []string {
	return []string{"SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_TRANS_TABLES')"}
}

func (d *mysql) Staging(t *Table) string { return d.Quote("mocdc_stg_" + t.Name) }

func (d *mysql) CreateStaging(t *Table) []string {
	defs := append(d.columnDefs(t, false), fmt.Sprintf("KEY %s (%s)", d.Quote("mocdc_key"), list(d, "", t.Key)))
	return []string{fmt.Sprintf("CREATE TEMPORARY TABLE IF NOT EXISTS %s (%s) %s", d.Staging(t), strings.Join(defs, ", "), mysqlCharset)}
}

// ClearStaging drops and recreates the temporary table: neither commits
// (TRUNCATE would), and both are far faster than DELETE of its rows.
func (d *mysql) ClearStaging(t *Table) []string {
	return append([]string{"DROP TEMPORARY TABLE IF EXISTS " + d.Staging(t)}, d.CreateStaging(t)...)
}

var readerSeq atomic.Uint64

// Load uses LOAD DATA LOCAL INFILE with a registered reader (tab
// separated, backslash escaped, \N for NULL), or multi-row INSERT.
func (d *mysql) Load(ctx context.Context, s *session, t *Table, rows [][]any) error {
	if d.insertOnly {
		return insertRows(ctx, s, d, "mocdc_stg_"+t.Name, t.Columns, rows, 1000)
	}
	return d.loadInto(ctx, s, d.Staging(t), t, rows)
}

// LoadInto loads rows straight into t.
func (d *mysql) LoadInto(ctx context.Context, s *session, t *Table, rows [][]any) error {
	if d.insertOnly {
		return insertRows(ctx, s, d, t.Name, t.Columns, rows, 1000)
	}
	return d.loadInto(ctx, s, d.Quote(t.Name), t, rows)
}

// mysqlPipelineBytes bounds the statement a Pipeline sends: below the
// smallest default max_allowed_packet (MariaDB's 16 MiB), with room for
// escaping.
const mysqlPipelineBytes = 4 << 20

var _ pipeliner = (*mysql)(nil)

// Pipeline sends a small flush as one multi-statement, its loads as
// multi-row INSERTs, in one round trip: a batch of a few changes touches
// a dozen tables, and LOAD DATA costs two round trips per table. Flushes
// of more than pipelineRows rows or mysqlPipelineBytes go through LOAD
// DATA, faster per row.
func (d *mysql) Pipeline(ctx context.Context, s *session, ops []op) (bool, error) {
	rows, size := 0, 0
	for _, o := range ops {
		rows += len(o.rows)
		size += len(o.sql) + approxBytes(o.rows)
	}
	if rows > pipelineRows || size > mysqlPipelineBytes/2 {
		return false, nil
	}
	qs := make([]string, 0, len(ops))
	var args []any
	var tables []string
	for _, o := range ops {
		tables = append(tables, o.table)
		if o.load == nil {
			qs = append(qs, o.sql)
			continue
		}
		table := "mocdc_stg_" + o.load.Name
		if o.into {
			table = o.load.Name
		}
		qs = append(qs, sqlInsertRows(d, table, o.load.ColumnNames(), len(o.rows)))
		args = rowArgs(o.load.Columns, o.rows, args)
	}
	if _, err := s.exec(ctx, strings.Join(qs, ";\n"), args...); err != nil {
		return true, fmt.Errorf("write %s: %w", strings.Join(sortedUnique(tables), ", "), err)
	}
	return true, nil
}

// approxBytes is about how long rows are as SQL literals.
func approxBytes(rows [][]any) int {
	n := 0
	for _, r := range rows {
		for _, v := range r {
			switch x := v.(type) {
			case string:
				n += len(x) + 3
			case []byte:
				n += 2*len(x) + 3
			default:
				n += 24
			}
		}
	}
	return n
}

// multiQuery runs the reads qs as one multi-statement, one round trip, and
// hands each result set to its query's row.
func multiQuery(ctx context.Context, s *session, qs []stateQuery) error {
	parts := make([]string, len(qs))
	var args []any
	for i, q := range qs {
		parts[i] = q.q
		args = append(args, q.args...)
	}
	q := strings.Join(parts, ";\n")
	defer s.timed(q)()
	rows, err := s.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w\n\tin: %s", qs[0].what, err, abbreviate(q))
	}
	defer rows.Close()
	for i, sq := range qs {
		if i > 0 && !rows.NextResultSet() {
			if err := rows.Err(); err != nil {
				return fmt.Errorf("%s: %w", sq.what, err)
			}
			return fmt.Errorf("%s: the server returned %d result sets for %d reads", sq.what, i, len(qs))
		}
		for rows.Next() {
			if err := sq.row(rows.Scan); err != nil {
				return fmt.Errorf("%s: %w", sq.what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", sq.what, err)
		}
	}
	return nil
}

// Unique is error 1062 (duplicate entry).
func (*mysql) Unique(err error) bool {
	me, ok := errorAs[*gomysql.MySQLError](err)
	return ok && me.Number == 1062
}

// loadInto streams rows (t's columns) into the quoted table with LOAD DATA.
func (d *mysql) loadInto(ctx context.Context, s *session, table string, t *Table, rows [][]any) error {
	var buf bytes.Buffer
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				buf.WriteByte('\t')
			}
			writeTSV(&buf, v)
		}
		buf.WriteByte('\n')
	}
	name := "mocdc_" + strconv.FormatUint(readerSeq.Add(1), 10)
	gomysql.RegisterReaderHandler(name, func() io.Reader { return bytes.NewReader(buf.Bytes()) })
	defer gomysql.DeregisterReaderHandler(name)
	if _, err := s.exec(ctx, d.loadSQL(name, table, t)); err != nil {
		return fmt.Errorf("LOAD DATA into %s: %w", table, err)
	}
	return nil
}

// loadSQL loads the reader registered as name into the quoted table.
func (d *mysql) loadSQL(name, table string, t *Table) string {
	return fmt.Sprintf(`LOAD DATA LOCAL INFILE 'Reader::%s' INTO TABLE %s CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' (%s)`,
		name, table, list(d, "", t.ColumnNames()))
}

func writeTSV(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		buf.WriteString(`\N`)
	case string:
		for i := 0; i < len(x); i++ {
			switch c := x[i]; c {
			case '\\':
				buf.WriteString(`\\`)
			case '\t':
				buf.WriteString(`\t`)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case 0:
				buf.WriteString(`\0`)
			default:
				buf.WriteByte(c)
			}
		}
	case bool:
		if x {
			buf.WriteByte('1')
		} else {
			buf.WriteByte('0')
		}
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case int:
		buf.WriteString(strconv.Itoa(x))
	default:
		fmt.Fprint(buf, x)
	}
}

func (d *mysql) DeleteVanished(t *Table) string {
	return deleteVanished(d, t, "t FROM "+d.Quote(t.Name)+" AS t")
}

func (d *mysql) Upsert(t *Table) (string, string) {
	cols, nonKey := t.ColumnNames(), t.NonKey()
	tbl, stg := d.Quote(t.Name), d.Staging(t)
	if !t.ID {
		set := nonKey
		if len(set) == 0 {
			set = t.Key[:1] // no-op update: keep the row
		}
		sets := make([]string, len(set))
		for i, c := range set {
			sets[i] = d.Quote(c) + " = VALUES(" + d.Quote(c) + ")"
		}
		return "", fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s ON DUPLICATE KEY UPDATE %s",
			tbl, list(d, "", cols), list(d, "", cols), stg, strings.Join(sets, ", "))
	}
	// With a surrogate id, ON DUPLICATE KEY would burn an AUTO_INCREMENT
	// value per updated row; UPDATE then INSERT uses ids for new rows only.
	var update string
	if len(nonKey) > 0 {
		sets := make([]string, len(nonKey))
		for i, c := range nonKey {
			sets[i] = "t." + d.Quote(c) + " = s." + d.Quote(c)
		}
		update = fmt.Sprintf("UPDATE %s AS t JOIN %s AS s ON %s SET %s", tbl, stg, match(d, "t", "s", t.Key), strings.Join(sets, ", "))
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s AS s LEFT JOIN %s AS t ON %s WHERE t.%s IS NULL",
		tbl, list(d, "", cols), list(d, "s.", cols), stg, tbl, match(d, "t", "s", t.Key), d.Quote("id"))
	return update, insert
}

// MySQL/MariaDB error numbers the dialect knows, by class. A number not
// listed is Invalid.
var mysqlClasses = map[uint16]ErrorClass{
	// Too long (1406), out of range (1264), wrong value (1366, 1292, 1265,
	// 1416), NULL in NOT NULL (1048), CHECK constraint (3819).
	1406: Data, 1264: Data, 1366: Data, 1048: Data, 1292: Data, 1265: Data, 3819: Data, 1416: Data,
	// Access denied: login (1045, 1698), database (1044), table or column
	// (1142, 1143), privilege (1227).
	1045: Auth, 1044: Auth, 1142: Auth, 1143: Auth, 1227: Auth, 1698: Auth,
	// Unknown database.
	1049: NoDatabase,
	// Lost races: lock wait timeout (1205), deadlock (1213), duplicate key
	// (1062: two instances inserting the same new offset row, or a direct
	// load retried through staging), record changed (1020, MariaDB), a
	// table another instance created first (1050).
	1205: Retryable, 1213: Retryable, 1062: Retryable, 1020: Retryable, 1050: Retryable,
	// Not available now: too many connections (1040, 1203), shutdown in
	// progress (1053), connection killed (1927), query interrupted (1317),
	// network errors the server reports (1152, 1158–1161, 1081), a session
	// closed for inactivity (4031, MySQL 8).
	1040: Unavailable, 1203: Unavailable, 1053: Unavailable, 1927: Unavailable, 1317: Unavailable,
	1152: Unavailable, 1158: Unavailable, 1159: Unavailable, 1160: Unavailable, 1161: Unavailable, 1081: Unavailable, 4031: Unavailable,
}

// Classify maps MySQL/MariaDB error numbers (mysqlClasses); a lost or
// refused connection is Unavailable; any other server error — syntax
// (1064), unknown table or column (1146, 1054), LOAD DATA LOCAL refused
// (1148, 3948), read-only server (1290, 1836) — is Invalid.
func (*mysql) Classify(err error) ErrorClass {
	if errors.Is(err, gomysql.ErrInvalidConn) {
		return Unavailable
	}
	me, ok := errorAs[*gomysql.MySQLError](err)
	if !ok {
		if c, ok := classifyNetwork(err); ok {
			return c
		}
		return Retryable // not the server's: bounded by the runner
	}
	if c, ok := mysqlClasses[me.Number]; ok {
		return c
	}
	return Invalid
}

// Check falls back to multi-row INSERT when the server refuses LOAD DATA
// LOCAL (local_infile=0).
func (d *mysql) Check(ctx context.Context, db *sql.DB) ([]string, error) {
	if d.insertOnly {
		return nil, nil
	}
	var on int
	if err := db.QueryRowContext(ctx, "SELECT @@local_infile").Scan(&on); err != nil {
		return nil, fmt.Errorf("read @@local_infile: %w", err)
	}
	if on == 0 {
		d.insertOnly = true
		return []string{"mysql: the server has local_infile=0, so LOAD DATA LOCAL is refused; loading with multi-row INSERT instead (slower). Set local-infile=1 in the server's my.cnf for the fast path."}, nil
	}
	return nil, nil
}

// mysqlDSN makes every connection speak utf8mb4 (æ, ø, å and beyond) and,
// with tls_ca_file, use TLS verified against that CA.
func mysqlDSN(dsn string, c Config) (string, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return dsn, nil // sql.Open reports it
	}
	if err := cfg.Apply(gomysql.Charset("utf8mb4", "")); err != nil {
		return dsn, nil
	}
	// A flush's statements and a step's state reads go together in one
	// round trip (Pipeline, multiQuery). The driver interpolates the
	// parameters client-side, escaped for the connection's utf8mb4 (one
	// round trip per statement instead of prepare, execute and close);
	// mocdc never builds SQL from data itself.
	cfg.MultiStatements = true
	cfg.InterpolateParams = true
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return "", fmt.Errorf("tls_ca_file: %w: mount the CA certificate there or fix the path", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return "", fmt.Errorf("tls_ca_file %s holds no PEM certificate", c.TLSCAFile)
		}
		host := c.TLSServerName
		if host == "" {
			host, _, _ = net.SplitHostPort(cfg.Addr)
		}
		// Registered under a name of its own per target: the driver looks
		// TLS configurations up by the DSN's tls= name.
		name := "mocdc-" + c.Name
		if err := gomysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return "", fmt.Errorf("tls_ca_file: %w", err)
		}
		cfg.TLSConfig = name
	}
	return cfg.FormatDSN(), nil
}
