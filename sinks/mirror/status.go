package mirror

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// Progress is what a target's own tables say about how far the mirror has
// come: what `mocdc status` reports. The mirror writes both in the
// transaction of every batch, so they always agree with the rows.
type Progress struct {
	// Offsets is mocdc_offsets: per topic and partition, the next offset
	// the mirror will apply. This is the mirror's true position — it never
	// commits offsets to Kafka. A partition it has never applied anything
	// of is missing (the mirror reads it from its start).
	Offsets runner.Offsets
	// NewestChange is MAX(kvittering.query_tid): when the newest change the
	// mirror holds was committed in MO. Zero before the first batch with
	// a commit time (the initial snapshot has none).
	NewestChange time.Time
	// Applied is when the mirror committed the batch that brought
	// NewestChange (its kvittering.slut_levering_tid).
	Applied time.Time
	// LastWrite is MAX(kvittering.slut_levering_tid): the last batch that
	// changed rows, whatever its MO commit time.
	LastWrite time.Time
	// Health is the last report of failing (or recovered) batches; nil
	// when no instance ever failed.
	Health *Health
}

// ReadProgress reads the Progress of the target of cfg from db, opened
// with Open(cfg). It only reads. A target that cannot be reached, or that
// has no mirror tables yet (the mirror never ran against it), is an error
// that says what to check.
func ReadProgress(ctx context.Context, db *sql.DB, cfg Config) (Progress, error) {
	m, err := New(db, cfg, event.Topics{})
	if err != nil {
		return Progress{}, err
	}
	if err := db.PingContext(ctx); err != nil {
		return Progress{}, m.startError(err)
	}
	cols, err := m.columns(ctx, tOffsets)
	if err != nil {
		return Progress{}, fmt.Errorf("mirror %s: %w", cfg.Name, err)
	}
	if len(cols) == 0 {
		return Progress{}, fmt.Errorf("mirror %s: the target has no mirror tables (no %s): the mirror has never run against it; start it with `mocdc sink mirror --target %s`",
			cfg.Name, tOffsets, cfg.Name)
	}
	var p Progress
	if p.Offsets, err = m.Offsets(ctx); err != nil {
		return Progress{}, fmt.Errorf("mirror %s: %w", cfg.Name, err)
	}
	var newest, applied, last any
	if err := db.QueryRowContext(ctx, sqlFreshness(m.d)).Scan(&newest, &last, &applied); err != nil {
		return Progress{}, fmt.Errorf("mirror %s: read %s: %w", cfg.Name, tKvittering, err)
	}
	for _, f := range []struct {
		v   any
		out *time.Time
	}{{newest, &p.NewestChange}, {applied, &p.Applied}, {last, &p.LastWrite}} {
		if *f.out, err = kvitteringTime(f.v); err != nil {
			return Progress{}, fmt.Errorf("mirror %s: read %s: %w", cfg.Name, tKvittering, err)
		}
	}
	if p.Health, err = m.readHealth(ctx, db); err != nil {
		return Progress{}, fmt.Errorf("mirror %s: %w", cfg.Name, err)
	}
	return p, nil
}

// sqlFreshness reads MAX(query_tid), MAX(slut_levering_tid) and the
// slut_levering_tid of the row with the newest query_tid, portably (no
// LIMIT / TOP).
func sqlFreshness(d Dialect) string {
	k, q, s := d.Quote(tKvittering), d.Quote("query_tid"), d.Quote("slut_levering_tid")
	return fmt.Sprintf("SELECT MAX(%[2]s), MAX(%[3]s), (SELECT MAX(%[3]s) FROM %[1]s WHERE %[2]s = (SELECT MAX(%[2]s) FROM %[1]s)) FROM %[1]s", k, q, s)
}

// kvitteringTime reads a kvittering timestamp: a wall-clock time in
// Europe/Copenhagen without zone (localTime), which the drivers return as
// a time.Time in UTC (pgx, go-mssqldb) or as text (go-sql-driver/mysql
// without parseTime). NULL is the zero time.
func kvitteringTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), mo.Location), nil
	case []byte:
		return parseWallClock(string(t))
	case string:
		return parseWallClock(t)
	}
	return time.Time{}, fmt.Errorf("unexpected timestamp %T %v", v, v)
}

func parseWallClock(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, mo.Location); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unexpected timestamp %q", s)
}

// Health is the runner's last report of how this target's batches apply,
// as an instance wrote it to mocdc_meta (row "health"; ReportHealth). With
// several instances it is the last report of any of them.
type Health struct {
	// Failures is how many attempts in a row had failed; 0: the instance
	// applied again after failures.
	Failures int `json:"failures"`
	// LastError is the last failure's error, cut to fit the row.
	LastError string `json:"error,omitempty"`
	// Since is when the failures began; At when the report was written.
	Since time.Time `json:"since,omitzero"`
	At    time.Time `json:"at"`
	// Instance is the host and process id of the instance that wrote it.
	Instance string `json:"instance"`
}

const healthRow = "health"

// encodeHealth is h as JSON of at most max runes (the meta value's
// length): the error is cut to fit.
func encodeHealth(h Health, max int) string {
	for {
		b, _ := json.Marshal(h)
		if utf8.RuneCount(b) <= max || h.LastError == "" {
			return string(b)
		}
		r := []rune(h.LastError)
		h.LastError = string(r[:len(r)*3/4])
	}
}

// ReportHealth keeps the runner's report in the target's mocdc_meta (row
// "health"), outside any batch's transaction, where `mocdc status` reads
// it (runner.HealthReporter).
func (m *Mirror) ReportHealth(ctx context.Context, h runner.Health) error {
	v := encodeHealth(Health{Failures: h.Failures, LastError: strings.Join(strings.Fields(h.LastError), " "),
		Since: h.Since.UTC(), At: h.At.UTC(), Instance: m.instance}, m.sc.table(tMeta).Column("value").Len)
	res, err := m.db.ExecContext(ctx, sqlPutMeta(m.d), v, healthRow)
	if err != nil {
		return fmt.Errorf("report health: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		return nil
	}
	if _, err := m.db.ExecContext(ctx, sqlInsertMeta(m.d), healthRow, v); err != nil && !m.d.Unique(err) {
		return fmt.Errorf("report health: %w", err)
	}
	return nil
}

// readHealth reads the last health report; nil when none was written.
func (m *Mirror) readHealth(ctx context.Context, db *sql.DB) (*Health, error) {
	var v sql.NullString
	err := db.QueryRowContext(ctx, sqlReadMeta(m.d), healthRow).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !v.Valid) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tMeta, err)
	}
	var h Health
	if err := json.Unmarshal([]byte(v.String), &h); err != nil {
		return nil, fmt.Errorf("read %s: health %q: %w", tMeta, v.String, err)
	}
	return &h, nil
}
