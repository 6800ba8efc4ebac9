package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// StartError is an error at start that retrying cannot fix: the operator
// must change the configuration or the target. Its message says what.
type StartError struct{ msg string }

func (e *StartError) Error() string { return e.msg }

// Prepare connects to the target and makes its tables ready: missing
// tables are created; an existing table whose columns differ from the
// export's is an error naming the table and the columns (the mirror never
// alters a table). With rebuild, every table of the mirror — the export
// tables, kvittering, the offsets and the state — is dropped first, so the
// runner reads the compacted topics from the start.
//
// A *StartError means the configuration or the target must change (wrong
// credentials, a missing permission or database, a statement the server
// rejects, differing tables, mode switched); any other error is the
// target being unreachable or busy, and Prepare may be retried.
func (m *Mirror) Prepare(ctx context.Context, rebuild bool) error {
	if err := m.db.PingContext(ctx); err != nil {
		return m.startError(err)
	}
	warnings, err := m.d.Check(ctx, m.db)
	if err != nil {
		return m.startError(err)
	}
	for _, w := range warnings {
		m.log.Warn(w)
	}
	if rebuild {
		m.inv.reset()
		for i := len(m.sc.tables) - 1; i >= 0; i-- {
			t := m.sc.tables[i]
			if _, err := m.db.ExecContext(ctx, m.d.DropTable(t)); err != nil {
				return m.startError(fmt.Errorf("drop %s: %w", t.Name, err))
			}
		}
		m.log.Info("rebuild: dropped the mirror's tables, offsets and state")
	}
	var drift []string
	created := 0
	for _, t := range m.sc.tables {
		have, err := m.columns(ctx, t.Name)
		if err != nil {
			return m.startError(err)
		}
		if len(have) == 0 {
			for _, q := range m.d.CreateTable(t) {
				if _, err := m.db.ExecContext(ctx, q); err != nil {
					return m.startError(fmt.Errorf("create table %s: %w", t.Name, err))
				}
			}
			created++
			continue
		}
		if msg := diffColumns(t, have); msg != "" {
			drift = append(drift, msg)
		}
	}
	if len(drift) > 0 {
		return &StartError{fmt.Sprintf("mirror %s: tables in the target differ from the OS2mo export tables this mirror writes "+
			"(it never alters a table: fix or drop them, or start once with --rebuild):\n  %s", m.cfg.Name, strings.Join(drift, "\n  "))}
	}
	if created > 0 {
		m.log.Info("created missing tables", slog.Int("tables", created))
	}
	if err := m.prepareMeta(ctx); err != nil {
		return m.startError(err)
	}
	return nil
}

// prepareMeta records the mode the tables were built in (refusing to mix
// modes) and the day the actual-state rows are for.
func (m *Mirror) prepareMeta(ctx context.Context) error {
	d := m.d
	read := func(name string) (string, bool, error) {
		var v sql.NullString
		err := m.db.QueryRowContext(ctx, sqlReadMeta(d), name).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return "", false, nil
		}
		return v.String, err == nil, err
	}
	insert := func(name, value string) error {
		_, err := m.db.ExecContext(ctx, sqlInsertMeta(d), name, value)
		return err
	}
	mode, ok, err := read("mode")
	if err != nil {
		return fmt.Errorf("read %s: %w", tMeta, err)
	}
	switch {
	case !ok:
		if err := insert("mode", string(m.sc.mode)); err != nil {
			return fmt.Errorf("write %s: %w", tMeta, err)
		}
	case mode != string(m.sc.mode):
		return &StartError{fmt.Sprintf("mirror %s: the target's tables were built in %s mode, the configuration says %s: "+
			"start once with --rebuild to rebuild them in %s mode", m.cfg.Name, mode, m.sc.mode, m.sc.mode)}
	}
	if _, ok, err := read("day"); err != nil {
		return fmt.Errorf("read %s: %w", tMeta, err)
	} else if !ok {
		if err := insert("day", string(mo.DateOf(m.now()))); err != nil {
			return fmt.Errorf("write %s: %w", tMeta, err)
		}
	}
	return m.prepareMapping(ctx)
}

// MappingVersion names the rules by which the mirror computes rows from MO
// objects. When a release changes them, rows already in a mirror were
// computed by the old rules: at start the mirror compares the version in
// mocdc_meta with this one and, when it differs, makes every object's rows
// due for a recompute (from the object states it keeps in mocdc_objects)
// in the first transaction after start. Bump it with every change of what
// a row holds.
//
// History: "" (none) before 2026-12-03; "2": actual-state dates as OS2mo's
// `current` read, primær_boolean per engagement (scope >= 3000), fraction
// 0 as NULL.
const MappingVersion = "2"

// prepareMapping records MappingVersion and, when the rows were computed by
// another version, schedules the recompute: every object is made due
// (next_change) and the day is moved back, so the next batch's day check
// (rollDay) recomputes them all in its transaction. One instance does it:
// the others find the version already changed.
func (m *Mirror) prepareMapping(ctx context.Context) error {
	d := m.d
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var v sql.NullString
	err = tx.QueryRowContext(ctx, sqlReadMeta(d), "mapping").Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, sqlInsertMeta(d), "mapping", MappingVersion)
	case err == nil && v.String == MappingVersion:
		return nil
	case err == nil:
		var res sql.Result
		res, err = tx.ExecContext(ctx, sqlSetMeta(d), MappingVersion, "mapping", v.String)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // another instance did it
			}
		}
	}
	if err != nil {
		return fmt.Errorf("mapping version in %s: %w", tMeta, err)
	}
	res, err := tx.ExecContext(ctx, sqlAllDue(d), openStart)
	if err != nil {
		return fmt.Errorf("schedule the recompute: %w", err)
	}
	objects, _ := res.RowsAffected()
	if objects > 0 { // a new target has nothing to recompute
		var day string
		if err := tx.QueryRowContext(ctx, sqlReadMeta(d), "day").Scan(&day); err != nil {
			return fmt.Errorf("read %s: %w", tMeta, err)
		}
		if _, err := tx.ExecContext(ctx, sqlSetMeta(d), openStart, "day", day); err != nil {
			return fmt.Errorf("schedule the recompute: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if objects > 0 {
		m.log.Info("the rules the rows are computed by changed since they were written: every object's rows are recomputed in the first transaction",
			slog.String("target", m.cfg.Name), slog.String("from_version", v.String), slog.String("to_version", MappingVersion), slog.Int64("objects", objects))
	}
	return nil
}

// columns returns the canonical type of each column of the table, empty
// when it does not exist.
func (m *Mirror) columns(ctx context.Context, table string) (map[string]string, error) {
	rows, err := m.db.QueryContext(ctx, m.d.Introspect(), table)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, dataType string
		var length sql.NullInt64
		var extra sql.NullString
		if err := rows.Scan(&name, &dataType, &length, &extra); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", table, err)
		}
		out[name] = m.d.Canonical(dataType, length, extra.String)
	}
	return out, rows.Err()
}

// diffColumns describes how the columns a table has differ from t's, or "".
func diffColumns(t *Table, have map[string]string) string {
	want := map[string]string{}
	if t.ID {
		want["id"] = "int"
	}
	for _, c := range t.Columns {
		want[c.Name] = canonicalOf(c)
	}
	var missing, extra, wrong []string
	for name, typ := range want {
		got, ok := have[name]
		switch {
		case !ok:
			missing = append(missing, name+" "+typ)
		case got != typ:
			wrong = append(wrong, fmt.Sprintf("%s is %s, want %s", name, got, typ))
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(missing)+len(extra)+len(wrong) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(wrong)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing columns: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected columns: "+strings.Join(extra, ", "))
	}
	if len(wrong) > 0 {
		parts = append(parts, "columns of another type: "+strings.Join(wrong, "; "))
	}
	return fmt.Sprintf("table %s: %s", t.Name, strings.Join(parts, "; "))
}

// startError turns an error at start into what the operator should do:
// a *StartError (stop, with what to fix) for a refused login or
// permission, a missing database and a rejected statement, each with the
// server's message and what the statement was for ("create table
// mocdc_objects: …"); errors that may pass (target down, a lost race)
// stay retryable.
func (m *Mirror) startError(err error) error {
	var se *StartError
	if errors.As(err, &se) {
		return se
	}
	switch m.d.Classify(err) {
	case Auth:
		return &StartError{fmt.Sprintf("mirror %s: the %s target refused the login or a permission: %v\n"+
			"Check the user and password in the target's dsn (or dsn_file), and that the user may connect to the database, create tables in it and read and write them.",
			m.cfg.Name, m.d.Name(), err)}
	case NoDatabase:
		return &StartError{fmt.Sprintf("mirror %s: the database named in the %s target's dsn does not exist: %v\n"+
			"Create it (e.g. CREATE DATABASE mirror) or fix the dsn.", m.cfg.Name, m.d.Name(), err)}
	case Invalid, Data:
		return &StartError{fmt.Sprintf("mirror %s: the %s target rejected a statement the mirror needs: %v\n"+
			"Retrying cannot help: the server does not support the statement or a setting refuses it (see docs/mirror.md, When things go wrong; for SQL Server and Babelfish the section SQL Server).",
			m.cfg.Name, m.d.Name(), err)}
	case Retryable:
		return fmt.Errorf("mirror %s: the %s target is busy (a lost race with another session): %w", m.cfg.Name, m.d.Name(), err)
	}
	return fmt.Errorf("mirror %s: the %s target is not reachable or not ready (is it running, and are host and port in the dsn right?): %w",
		m.cfg.Name, m.d.Name(), err)
}
