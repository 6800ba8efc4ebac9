package mirror

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
