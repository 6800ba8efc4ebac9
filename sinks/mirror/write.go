package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// Writing rows: the state tables first, then the export rows, each table
// through staging (or straight in when its owners are new).

// writeState writes the batch's objects and references, and the new
// next_change of the objects due today. Objects new to the mirror (no
// previous state) own no rows yet, so they are not listed as owners.
func (m *Mirror) writeState(ctx context.Context, s *session, st *state, changes map[objKey]*change, prev map[objKey]*mo.Object, due []objKey, today mo.Date, written map[string]int) error {
	objs, refs := newTableWrite(m.sc.table(tObjects)), newTableWrite(m.sc.table(tRefs))
	for k, c := range changes {
		if prev[k] != nil {
			objs.owner(string(k.typ), k.uuid)
			refs.owner(string(k.typ), k.uuid)
		}
		if c.obj == nil {
			continue
		}
		objs.add(k, row{"type": string(k.typ), "uuid": k.uuid, "json": c.raw, "next_change": m.nextChange(c.obj, today)})
		for _, r := range m.refsOf(c.obj) {
			refs.add(k, row{"ref": r, "type": string(k.typ), "uuid": k.uuid})
		}
	}
	for _, k := range due {
		if _, ok := changes[k]; ok {
			continue
		}
		if o := st.get(k); o != nil {
			objs.owner(string(k.typ), k.uuid)
			objs.add(k, row{"type": string(k.typ), "uuid": k.uuid, "json": st.raw[k], "next_change": m.nextChange(o, today)})
		}
	}
	return m.flush(ctx, s, []*tableWrite{objs, refs}, written)
}

// check validates the rows; rows of an object changed in the batch fail
// the record that changed it, others (which only a computed value could
// break) fail the batch.
func (m *Mirror) check(writes []*tableWrite, changes map[objKey]*change) error {
	var failed []runner.RecordError
	var other []string
	seen := map[objKey]bool{}
	for _, w := range writes {
		for _, p := range w.validate() {
			msg := fmt.Sprintf("%s %s: %s.%s %s", p.owner.typ, p.owner.uuid, p.table, p.column, p.reason)
			c, ok := changes[p.owner]
			switch {
			case ok && !seen[p.owner]:
				seen[p.owner] = true
				failed = append(failed, runner.RecordError{Record: c.rec, Err: errors.New(msg)})
			case !ok:
				other = append(other, msg)
			}
		}
	}
	if len(failed) > 0 {
		return &runner.BatchError{Failed: failed}
	}
	if len(other) > 0 {
		return runner.Permanent(fmt.Errorf("computed rows the target would reject: %v", other))
	}
	return nil
}

// flush replaces the rows of the writes' owners: owner keys and rows go to
// staging, then per table the vanished rows are deleted and the rest
// upserted. Owners that had no rows before (objects new to the mirror)
// are not listed: nothing of theirs can vanish or be updated.
//
// A small batch is mostly round trips, and each waits for a CPU on a busy
// machine: a dialect that can (PostgreSQL's pipeline, MySQL's
// multi-statement) sends the whole flush, loads included, in one round
// trip (pipeliner); big flushes, and SQL Server, send the statements
// without parameters (clearing staging, delete, merge) together, one round
// trip between two bulk loads.
func (m *Mirror) flush(ctx context.Context, s *session, writes []*tableWrite, written map[string]int) error {
	ops := m.flushOps(writes, written)
	if len(ops) == 0 {
		return nil
	}
	if p, ok := m.d.(pipeliner); ok {
		if done, err := p.Pipeline(ctx, s, ops); done {
			return err
		}
	}
	var pending []string
	var tables []string
	send := func() error {
		if len(pending) == 0 {
			return nil
		}
		q, names := strings.Join(pending, ";\n"), strings.Join(sortedUnique(append([]string(nil), tables...)), ", ")
		pending, tables = pending[:0], tables[:0]
		if _, err := s.exec(ctx, q); err != nil {
			return fmt.Errorf("write %s: %w", names, err)
		}
		return nil
	}
	for _, o := range ops {
		if o.load == nil {
			pending = append(pending, o.sql)
			tables = append(tables, o.table)
			continue
		}
		if err := send(); err != nil {
			return err
		}
		var err error
		if o.into {
			err = m.loadInto(ctx, s, o.load, o.rows)
		} else {
			err = m.load(ctx, s, o.load, o.rows)
		}
		if err != nil {
			return err
		}
	}
	return send()
}

// op is one step of a flush: a statement without parameters, or a bulk
// load of rows into a table's staging (into: the table itself).
type op struct {
	table string // for errors
	sql   string
	load  *Table
	into  bool
	rows  [][]any
}

// flushOps lists the steps of a flush, in order, and counts the rows it
// writes.
func (m *Mirror) flushOps(writes []*tableWrite, written map[string]int) []op {
	var ops []op
	stmt := func(table string, qs ...string) {
		for _, q := range qs {
			ops = append(ops, op{table: table, sql: q})
		}
	}
	var keys [][]any
	for _, w := range writes {
		for o := range w.owners {
			keys = append(keys, []any{w.t.Name, o[0], o[1]})
		}
	}
	if len(keys) > 0 {
		stmt(keysTable.Name, m.emptyStaging(keysTable, len(keys))...)
		ops = append(ops, op{table: keysTable.Name, load: keysTable, rows: keys})
	}
	for _, w := range writes {
		if len(w.owners) == 0 && len(w.rows) == 0 {
			continue
		}
		if len(w.owners) == 0 && !m.stagedOnly {
			// Only new owners: their rows go straight in.
			ops = append(ops, op{table: w.t.Name, load: w.t, into: true, rows: w.rows})
			written[w.t.Name] += len(w.rows)
			continue
		}
		stmt(w.t.Name, m.emptyStaging(w.t, len(w.rows))...)
		if len(w.rows) > 0 {
			ops = append(ops, op{table: w.t.Name, load: w.t, rows: w.rows})
		}
		if len(w.owners) > 0 {
			stmt(w.t.Name, m.d.DeleteVanished(w.t))
		}
		if len(w.rows) == 0 {
			continue
		}
		update, insert := m.d.Upsert(w.t)
		// The update also runs for new owners once a direct load met a
		// row that should not exist (stagedOnly): the staged row wins.
		if update != "" && (len(w.owners) > 0 || m.stagedOnly) {
			stmt(w.t.Name, update)
		}
		stmt(w.t.Name, insert)
		written[w.t.Name] += len(w.rows)
	}
	return ops
}

// stagingDeleteRows is how many rows a PostgreSQL staging table takes
// through DELETE before it is truncated again.
const stagingDeleteRows = 20000

// emptyStaging returns the statements that empty t's staging before rows
// more are loaded. PostgreSQL's TRUNCATE gives the table a new file and
// makes the next statement on it rebuild its cached metadata and plan (ms
// each, most of a small batch's write time on a loaded machine), so
// there a DELETE empties it for small batches while the dead rows it
// leaves (a temporary table is never vacuumed) stay few: after
// stagingDeleteRows rows, or for a big load, it is truncated.
func (m *Mirror) emptyStaging(t *Table, rows int) []string {
	pg, ok := m.d.(*postgres)
	if !ok {
		return m.d.ClearStaging(t)
	}
	if m.stagedRows == nil {
		m.stagedRows = map[string]int{}
	}
	n := m.stagedRows[t.Name]
	if n > 0 && rows <= stagingDeleteRows/20 && n+rows <= stagingDeleteRows {
		m.stagedRows[t.Name] = n + rows
		return []string{pg.deleteStaging(t)}
	}
	m.stagedRows[t.Name] = max(rows, 1)
	return m.d.ClearStaging(t)
}

func (m *Mirror) execAll(ctx context.Context, s *session, qs []string) error {
	for _, q := range qs {
		if _, err := s.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mirror) loadInto(ctx context.Context, s *session, t *Table, rows [][]any) error {
	defer s.timed("LOAD INTO " + t.Name)()
	return m.d.LoadInto(ctx, s, t, rows)
}

func (m *Mirror) load(ctx context.Context, s *session, t *Table, rows [][]any) error {
	defer s.timed("LOAD " + t.Name)()
	return m.d.Load(ctx, s, t, rows)
}
