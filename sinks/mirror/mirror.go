package mirror

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// Mirror is the runner.Sink of one SQL mirror target: it turns MO object
// events into the rows of the OS2mo SQL export tables, with the offsets in
// the same transaction. Use Prepare once before the runner starts.
type Mirror struct {
	db     *sql.DB
	d      Dialect
	cfg    Config
	sc     *schema
	topics event.Topics
	types  map[string]mo.Type // topic → MO type
	now    func() time.Time
	log    *slog.Logger
	m      *metrics

	// conn is the session Apply and Tick use (one at a time); its
	// staging tables exist. Offsets uses the pool.
	conn *sql.Conn
	// staged, once set, makes every write go through staging: a direct
	// load met a key that should not have existed.
	stagedOnly bool
	// staged counts, per staging table of the session, the rows loaded
	// into it since it was last truncated (emptyStaging).
	stagedRows map[string]int
	// inv knows which objects of the partitions this instance loaded
	// from their start exist (inventory.go).
	inv *inventory
	// scope filters the export rows (sinks/scope); nil: everything.
	scope *scope.Rules
	// trace receives statement durations (benchmarks).
	trace func(q string, d time.Duration)
	// instance names this process in health reports: host/pid.
	instance string
}

var (
	_ runner.Sink           = (*Mirror)(nil)
	_ runner.Ticker         = (*Mirror)(nil)
	_ runner.HealthReporter = (*Mirror)(nil)
)

// Option sets an optional dependency of a Mirror.
type Option func(*Mirror)

// WithClock replaces time.Now: it decides which day the actual-state rows
// are for and stamps kvittering.
func WithClock(now func() time.Time) Option { return func(m *Mirror) { m.now = now } }

// withTrace hands every statement's duration to f (benchmarks).
func withTrace(f func(q string, d time.Duration)) Option { return func(m *Mirror) { m.trace = f } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(m *Mirror) { m.log = l } }

// WithRegistry registers the mirror's metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(m *Mirror) { m.m = newMetrics(reg, "mirror-"+m.cfg.Name) }
}

// Mirrored lists the MO types a mirror consumes (the export has no tables
// for rolebinding, owner and organisation).
var Mirrored = []mo.Type{
	mo.Facet, mo.Class, mo.ITSystem, mo.Person, mo.OrgUnit, mo.Engagement, mo.Association,
	mo.ITUser, mo.Address, mo.Manager, mo.Leave, mo.KLE, mo.RelatedUnit,
}

// New makes the mirror of cfg over db (opened with the dialect's driver,
// see Open). topics names the topics it consumes.
func New(db *sql.DB, cfg Config, topics event.Topics, opts ...Option) (*Mirror, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := dialectFor(cfg)
	if err != nil {
		return nil, err
	}
	m := &Mirror{db: db, d: d, cfg: cfg, sc: newSchema(cfg.Mode), topics: topics, types: map[string]mo.Type{}, now: time.Now, inv: newInventory(),
		scope: scope.New(cfg.Scope)}
	for _, t := range Mirrored {
		m.types[topics.Object(t)] = t
	}
	host, _ := os.Hostname()
	m.instance = fmt.Sprintf("%s/%d", host, os.Getpid())
	for _, o := range opts {
		o(m)
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.m == nil {
		m.m = newMetrics(prometheus.NewRegistry(), "mirror-"+cfg.Name)
	}
	return m, nil
}

// Open opens the target database of cfg with its dialect's driver and the
// pool settings the mirror needs. It does not connect; Prepare does.
func Open(cfg Config) (*sql.DB, error) {
	cfg.Defaults()
	d, err := dialectFor(cfg)
	if err != nil {
		return nil, err
	}
	dsn := cfg.DSN
	if d.Name() == "mysql" {
		if dsn, err = mysqlDSN(dsn, cfg); err != nil {
			return nil, fmt.Errorf("mirror %s: %w", cfg.Name, err)
		}
	} else if cfg.TLSCAFile != "" {
		return nil, fmt.Errorf("mirror %s: tls_ca_file is for MySQL/MariaDB targets; give %s its CA in the DSN (PostgreSQL: sslmode=verify-full&sslrootcert=FILE, SQL Server: encrypt=true&certificate=FILE)", cfg.Name, d.Name())
	}
	db, err := sql.Open(d.Driver(), dsn)
	if err != nil {
		return nil, fmt.Errorf("mirror %s: dsn: %w", cfg.Name, err)
	}
	db.SetMaxOpenConns(cfg.MaxConnections)
	db.SetMaxIdleConns(cfg.MaxConnections)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Topics lists the topics the mirror consumes.
func (m *Mirror) Topics() []string {
	out := make([]string, len(Mirrored))
	for i, t := range Mirrored {
		out[i] = m.topics.Object(t)
	}
	return out
}

// Dialect returns the target's dialect name.
func (m *Mirror) Dialect() string { return m.d.Name() }

// Offsets returns the offsets stored in the target (mocdc_offsets).
func (m *Mirror) Offsets(ctx context.Context) (runner.Offsets, error) {
	rows, err := m.db.QueryContext(ctx, sqlReadOffsets(m.d, 0))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tOffsets, err)
	}
	defer rows.Close()
	out := runner.Offsets{}
	for rows.Next() {
		var topic string
		var p int32
		var n int64
		if err := rows.Scan(&topic, &p, &n); err != nil {
			return nil, fmt.Errorf("read %s: %w", tOffsets, err)
		}
		out.Set(topic, p, n)
	}
	return out, rows.Err()
}

// begin opens a serializable transaction on the mirror's session,
// connecting (and creating the session's staging tables) when needed.
// Serializable isolation is what keeps the computed columns right when
// several instances apply at once: each reads the objects its rows depend
// on, and a concurrent change to one of them aborts one of the two
// transactions (retried) instead of leaving a stale path or manager.
func (m *Mirror) begin(ctx context.Context) (*session, error) {
	if m.conn == nil {
		conn, err := m.db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		setup := m.d.SessionSetup()
		for _, t := range append(m.staged(), keysTable) {
			setup = append(setup, m.d.CreateStaging(t)...)
		}
		for _, q := range setup {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				conn.Close()
				return nil, fmt.Errorf("prepare session: %w", err)
			}
		}
		m.conn = conn
	}
	tx, err := m.conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &session{conn: m.conn, tx: tx, trace: m.trace, statements: 1}, nil
}

// dropSession gives the session back after a failure; the next Apply
// takes a fresh one (a broken connection is discarded by the pool).
func (m *Mirror) dropSession() {
	if m.conn != nil {
		_ = m.conn.Close()
		m.conn = nil
	}
	m.stagedRows = nil
}

// staged lists the tables written through staging.
func (m *Mirror) staged() []*Table {
	var out []*Table
	for _, t := range m.sc.tables {
		if !t.Direct {
			out = append(out, t)
		}
	}
	return out
}

// lockOffsets locks the offset rows of the batch's partitions for the
// transaction and returns what they hold (one round trip where the
// dialect has SELECT … FOR UPDATE). Rows that do not exist yet are
// inserted by storeOffsets; two instances racing to insert one fail on the
// key and retry.
func (m *Mirror) lockOffsets(ctx context.Context, s *session, end runner.Offsets) (runner.Offsets, error) {
	stored := runner.Offsets{}
	parts := end.Partitions()
	if len(parts) == 0 {
		return stored, nil
	}
	args := make([]any, 0, 2*len(parts))
	for _, tp := range parts {
		args = append(args, tp.Topic, tp.Partition)
	}
	q := sqlLockReadOffsets(m.d, len(parts))
	if q == "" {
		if _, err := s.exec(ctx, sqlLockOffsets(m.d, len(parts)), args...); err != nil {
			return nil, fmt.Errorf("lock offsets: %w", err)
		}
		q = sqlReadOffsets(m.d, len(parts))
	}
	s.statements++
	rows, err := s.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read offsets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var topic string
		var p int32
		var n int64
		if err := rows.Scan(&topic, &p, &n); err != nil {
			return nil, fmt.Errorf("read offsets: %w", err)
		}
		stored.Set(topic, p, n)
	}
	return stored, rows.Err()
}

// storeOffsets writes end for every partition where it is past stored.
func (m *Mirror) storeOffsets(ctx context.Context, s *session, stored, end runner.Offsets) error {
	var update, insert []runner.TopicPartition
	for _, tp := range end.Partitions() {
		n, _ := end.Get(tp.Topic, tp.Partition)
		cur, ok := stored.Get(tp.Topic, tp.Partition)
		switch {
		case !ok:
			insert = append(insert, tp)
		case n > cur:
			update = append(update, tp)
		}
	}
	if q := sqlStoreOffsets(m.d, len(update)); q != "" && len(update) > 0 {
		topics, ps, next := make([]string, len(update)), make([]int32, len(update)), make([]int64, len(update))
		for i, tp := range update {
			topics[i], ps[i] = tp.Topic, tp.Partition
			next[i], _ = end.Get(tp.Topic, tp.Partition)
		}
		if _, err := s.exec(ctx, q, storeOffsetsArgs(m.d, topics, ps, next)...); err != nil {
			return fmt.Errorf("store offsets: %w", err)
		}
		update = nil
	}
	for _, tp := range update {
		n, _ := end.Get(tp.Topic, tp.Partition)
		if _, err := s.exec(ctx, sqlStoreOffset(m.d), n, tp.Topic, tp.Partition); err != nil {
			return fmt.Errorf("store offsets: %w", err)
		}
	}
	if len(insert) > 0 {
		rows := make([][]any, len(insert))
		for i, tp := range insert {
			n, _ := end.Get(tp.Topic, tp.Partition)
			rows[i] = []any{tp.Topic, tp.Partition, n}
		}
		if err := insertRows(ctx, s, m.d, tOffsets, m.sc.table(tOffsets).Columns, rows, 500); err != nil {
			return fmt.Errorf("store offsets: %w", err)
		}
	}
	return nil
}

// Tick recomputes the actual-state rows whose validity started or ended
// since the last day the mirror computed, when the date has changed; it
// is an empty Apply. The runner calls it between batches.
func (m *Mirror) Tick(ctx context.Context) error {
	return m.Apply(ctx, &runner.Batch{End: runner.Offsets{}})
}

// Close releases the session. The *sql.DB belongs to the caller.
func (m *Mirror) Close(context.Context) error {
	m.dropSession()
	return nil
}

// localTime formats t as the naive Europe/Copenhagen wall clock the export
// stores in its DateTime columns.
func localTime(t time.Time) string {
	return t.In(mo.Location).Format("2006-01-02 15:04:05.000000")
}
