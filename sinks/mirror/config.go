package mirror

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// Mode says which rows a mirror keeps.
type Mode string

// Mirror modes, as OS2mo's SQL export has them.
const (
	// Actual keeps today's rows only: one row per object (per element for
	// leder_ansvar, kle and it_forbindelse_engagementer), with startdato
	// and slutdato of its current validity, and the computed columns
	// filled. Rows change at midnight when validities start or end.
	Actual Mode = "actual"
	// Historic keeps one row per validity period; id is a surrogate key
	// and uuid repeats. Like OS2mo's historic export, the computed
	// columns organisatorisk_sti, leder_uuid, fungerende_leder_uuid and
	// engagementer.primær_boolean are NULL.
	Historic Mode = "historic"
)

// MySQL load methods.
const (
	MySQLLoadData = "load_data"
	MySQLInsert   = "insert"
)

// Config is one mirror target (one entry of `mirrors:` in the mocdc YAML).
// One process runs one target; several processes with the same target
// share its partitions.
type Config struct {
	// Name identifies the target: --target NAME, the default consumer
	// group, metrics and logs. Letters, digits, - and _.
	Name string `yaml:"name"`
	// Dialect of the target database: postgres, mysql or mssql; mariadb is
	// accepted for mysql (see CanonicalDialect).
	Dialect string `yaml:"dialect"`
	// DSN of the target database, in the driver's format:
	//   postgres: postgres://user:pass@host:5432/db?sslmode=…
	//   mysql:    user:pass@tcp(host:3306)/db (charset=utf8mb4 is added)
	//   mssql:    sqlserver://user:pass@host:1433?database=db
	DSN string `yaml:"dsn"`
	// DSNFile is read instead of DSN when set (a mounted secret).
	DSNFile string `yaml:"dsn_file"`
	// Mode is actual (default) or historic.
	Mode Mode `yaml:"mode"`
	// Group is the Kafka consumer group. Default "mocdc-mirror-<name>".
	Group string `yaml:"group"`
	// Batch bounds a batch; see runner.Config.
	Batch BatchConfig `yaml:"batch"`
	// Retry is the backoff while the target fails.
	Retry runner.Backoff `yaml:"retry"`
	// StuckAfter is how many times in a row a batch may fail the same way
	// before the runner splits it to find the record, and finally
	// dead-letters that record or stops (runner.Config.StuckAfter).
	// Default 10.
	StuckAfter int `yaml:"stuck_after"`
	// TickInterval is how often an idle mirror checks whether the date
	// changed (actual-state rows change at midnight). Default 30s.
	TickInterval time.Duration `yaml:"tick_interval"`
	// SessionTimeout is how soon the partitions of an instance that died
	// move to the others. Default 10s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// KvitteringRetention keeps kvittering rows this long (the newest row
	// is always kept). Default 168h (a week).
	KvitteringRetention time.Duration `yaml:"kvittering_retention"`
	// MySQLLoad is how MySQL staging is loaded: load_data (default; LOAD
	// DATA LOCAL INFILE, falls back to insert when the server has
	// local_infile=0) or insert (multi-row INSERT).
	MySQLLoad string `yaml:"mysql_load"`
	// BulkCopy (SQL Server only) loads the staging tables with TDS bulk
	// copy, the fast path. false loads them with multi-row INSERT, for
	// servers whose bulk load is unreliable (Babelfish for PostgreSQL has
	// a known defect when a bulk-load message ends on a TDS packet
	// boundary). Unset: bulk copy on SQL Server, INSERT on Babelfish.
	BulkCopy *bool `yaml:"bulk_copy"`
	// MaxConnections caps the connections to the target. Default 4.
	MaxConnections int `yaml:"max_connections"`
	// TLSCAFile is the CA certificate (PEM) a MySQL/MariaDB target's
	// certificate is verified against; setting it turns TLS on with full
	// verification. PostgreSQL and SQL Server take theirs in the DSN
	// (sslmode=verify-full&sslrootcert=FILE; encrypt=true&certificate=FILE).
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSServerName is the name the MySQL target's certificate must carry,
	// when it differs from the DSN's host.
	TLSServerName string `yaml:"tls_server_name"`
	// Scope limits the export tables to the units whose organisation
	// label passes and what hangs on them (sinks/scope). Changing it
	// takes a --rebuild.
	Scope scope.Config `yaml:"scope"`
}

// BatchConfig bounds the batches, each applied in one target transaction.
type BatchConfig struct {
	// MaxRecords per batch. Default 5000.
	MaxRecords int `yaml:"max_records"`
	// MaxWait for more records after the first was written to Kafka;
	// records that already waited that long are applied at once.
	// Default 100ms.
	MaxWait time.Duration `yaml:"max_wait"`
}

// CanonicalDialect is the dialect name the mirror uses for name: mariadb
// is mysql (one dialect serves both), postgresql is postgres, sqlserver
// is mssql; case does not matter. Other names come back lower-cased, for
// Validate to refuse.
func CanonicalDialect(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "mariadb":
		return "mysql"
	case "postgresql", "pg":
		return "postgres"
	case "sqlserver":
		return "mssql"
	}
	return name
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	c.Dialect = CanonicalDialect(c.Dialect)
	if c.Mode == "" {
		c.Mode = Actual
	}
	if c.Group == "" && c.Name != "" {
		c.Group = "mocdc-mirror-" + c.Name
	}
	if c.KvitteringRetention == 0 {
		c.KvitteringRetention = 7 * 24 * time.Hour
	}
	if c.MySQLLoad == "" {
		c.MySQLLoad = MySQLLoadData
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 4
	}
	rc := c.Runner()
	rc.Defaults()
	c.Batch.MaxRecords, c.Batch.MaxWait, c.Retry, c.TickInterval, c.SessionTimeout, c.StuckAfter = rc.MaxRecords, rc.MaxWait, rc.Retry, rc.TickInterval, rc.SessionTimeout, rc.StuckAfter
}

// Runner returns the consumer settings of the target.
func (c Config) Runner() runner.Config {
	return runner.Config{Group: c.Group, MaxRecords: c.Batch.MaxRecords, MaxWait: c.Batch.MaxWait, Retry: c.Retry,
		TickInterval: c.TickInterval, SessionTimeout: c.SessionTimeout, StuckAfter: c.StuckAfter}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Validate names every wrong value, prefixed with the target's name.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(c.Name) {
		add("name %q: use letters, digits, - and _", c.Name)
	}
	switch c.Dialect {
	case "postgres", "mysql", "mssql":
	default:
		add("dialect %q: use postgres, mysql (also for MariaDB) or mssql", c.Dialect)
	}
	if c.DSN == "" && c.DSNFile == "" {
		add("dsn is empty: set dsn (e.g. ${MOCDC_MIRROR_PG_DSN}) or dsn_file")
	}
	switch c.Mode {
	case Actual, Historic:
	default:
		add("mode %q: use actual or historic", c.Mode)
	}
	switch c.MySQLLoad {
	case MySQLLoadData, MySQLInsert:
	default:
		add("mysql_load %q: use load_data or insert", c.MySQLLoad)
	}
	if c.BulkCopy != nil && c.Dialect != "mssql" {
		add("bulk_copy applies to the mssql dialect only (for mysql see mysql_load)")
	}
	if c.KvitteringRetention < 0 {
		add("kvittering_retention must not be negative")
	}
	if err := c.Scope.Validate("scope"); err != nil {
		errs = append(errs, err)
	}
	if c.MaxConnections < 2 {
		add("max_connections must be at least 2 (one applies, one answers offset reads), got %d", c.MaxConnections)
	}
	if err := c.Runner().Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mirror %q: %w", c.Name, err)
	}
	return nil
}
