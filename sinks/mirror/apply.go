package mirror

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// change is the last event of one object in a batch.
type change struct {
	obj *mo.Object // nil: deleted
	raw string     // obj as JSON
	rec runner.Record
}

// Apply writes one batch in one serializable transaction of the target:
//
//  1. lock the batch's rows in mocdc_offsets and skip records below them;
//  2. when the date changed since the last batch (actual mode), take the
//     objects whose day's version changed (mocdc_objects.next_change);
//  3. write the new object states and their references (mocdc_objects,
//     mocdc_refs);
//  4. find every object whose rows depend on what changed (cascade.go),
//     compute their rows from the state tables (export.go) and check them
//     against the columns;
//  5. replace the rows of those objects in the export tables (bulk load
//     into staging, delete vanished rows, upsert);
//  6. store the offsets and a kvittering row; commit.
//
// A record that cannot be decoded, or whose rows the target would reject,
// makes Apply return a *runner.BatchError naming it, with nothing written.
func (m *Mirror) Apply(ctx context.Context, b *runner.Batch) error {
	err := m.apply(ctx, b)
	if err == nil {
		return nil
	}
	var be *runner.BatchError
	if errors.As(err, &be) {
		return err
	}
	m.dropSession()
	err = fmt.Errorf("mirror %s: apply %d records: %w", m.cfg.Name, len(b.Records), err)
	if m.d.Classify(err) == Data {
		return runner.Permanent(err)
	}
	return err
}

func (m *Mirror) apply(ctx context.Context, b *runner.Batch) error {
	start := m.now()
	today := mo.DateOf(start)
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = s.tx.Rollback()
		}
	}()

	stored, err := m.lockOffsets(ctx, s, b.End)
	if err != nil {
		return err
	}
	var recs []runner.Record
	for _, r := range b.Records {
		if n, ok := stored.Get(r.Topic, r.Partition); ok && r.Offset < n {
			continue // applied before
		}
		recs = append(recs, r)
	}
	changes, newest, failed := m.decode(recs)
	if len(failed) > 0 {
		return &runner.BatchError{Failed: failed}
	}
	due, err := m.rollDay(ctx, s, today)
	if err != nil {
		return err
	}

	written := map[string]int{}
	recomputed := 0
	if len(changes) > 0 || len(due) > 0 {
		st := newState(s, m.d)
		keys := make([]objKey, 0, len(changes)+len(due))
		for k := range changes {
			keys = append(keys, k)
		}
		keys = append(keys, due...)
		if err := st.load(ctx, keys); err != nil {
			return err
		}
		prev := map[objKey]*mo.Object{}
		next := map[objKey]*mo.Object{}
		for k, c := range changes {
			prev[k] = st.get(k)
			next[k] = c.obj
			st.set(k, c.obj)
		}
		if err := m.writeState(ctx, s, st, changes, due, today, written); err != nil {
			return err
		}
		set, err := affected(ctx, st, m.sc.mode, next, prev, due)
		if err != nil {
			return err
		}
		recomputed = len(set)
		writes, err := m.derive(ctx, st, set, today)
		if err != nil {
			return err
		}
		if err := m.check(writes, changes); err != nil {
			return err
		}
		if err := m.flush(ctx, s, writes, written); err != nil {
			return err
		}
	}
	if err := m.storeOffsets(ctx, s, stored, b.End); err != nil {
		return err
	}
	if len(changes) > 0 {
		var query any
		if !newest.IsZero() {
			query = localTime(newest)
		}
		if _, err := s.exec(ctx, sqlKvittering(m.d), query, localTime(start), localTime(m.now())); err != nil {
			return fmt.Errorf("write kvittering: %w", err)
		}
	}
	if err := s.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	for t, n := range written {
		m.m.rows.WithLabelValues(t).Add(float64(n))
	}
	m.m.recomputed.Add(float64(recomputed))
	if !newest.IsZero() {
		m.m.freshness.Set(float64(newest.Unix()))
	}
	if len(due) > 0 {
		m.log.Info("day rolled over: recomputed objects whose validity started or ended", slog.String("day", string(today)), slog.Int("objects", len(due)))
	}
	return nil
}

// decode turns records into the last change per object and the newest
// source commit time among them; records that are not valid events for
// their topic are returned as failed.
func (m *Mirror) decode(recs []runner.Record) (map[objKey]*change, time.Time, []runner.RecordError) {
	out := map[objKey]*change{}
	var newest time.Time
	var failed []runner.RecordError
	fail := func(r runner.Record, format string, args ...any) {
		failed = append(failed, runner.RecordError{Record: r, Err: fmt.Errorf(format, args...)})
	}
	for _, r := range recs {
		typ, ok := m.types[r.Topic]
		if !ok {
			fail(r, "topic %s is not an MO object topic this mirror consumes", r.Topic)
			continue
		}
		uuid := string(r.Key)
		if uuid == "" || len(uuid) > 36 {
			fail(r, "record key %q is not an object uuid", uuid)
			continue
		}
		k := objKey{typ, uuid}
		if r.Value == nil { // tombstone: all that is left of a deleted object after compaction
			out[k] = &change{rec: r}
			continue
		}
		env, err := event.Decode(r.Value)
		if err != nil {
			fail(r, "%v", err)
			continue
		}
		if env.Type != typ || env.UUID != uuid {
			fail(r, "event %s is for %s %s, but arrived on %s with key %s", env.ID, env.Type, env.UUID, r.Topic, uuid)
			continue
		}
		c := &change{rec: r}
		if env.Op != event.Delete {
			if env.Object == nil || env.Object.UUID != uuid || env.Object.Type != typ {
				fail(r, "event %s (%s) carries no object for %s %s", env.ID, env.Op, typ, uuid)
				continue
			}
			raw, err := json.Marshal(env.Object)
			if err != nil {
				fail(r, "event %s: encode object: %v", env.ID, err)
				continue
			}
			c.obj, c.raw = env.Object, string(raw)
		}
		if env.Source.CommitTime.After(newest) {
			newest = env.Source.CommitTime
		}
		out[k] = c
	}
	return out, newest, failed
}

// rollDay moves mocdc_meta's day to today when it is behind, and returns
// the objects whose version of the day changed in between. One instance
// does it: the others' conditional UPDATE finds the day already moved (or
// their transaction loses the race and is retried).
func (m *Mirror) rollDay(ctx context.Context, s *session, today mo.Date) ([]objKey, error) {
	d := m.d
	var day string
	err := s.tx.QueryRowContext(ctx, sqlReadMeta(d), "day").Scan(&day)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && day >= string(today)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read day: %w", err)
	}
	res, err := s.exec(ctx, sqlMoveDay(d), string(today), "day", day)
	if err != nil {
		return nil, fmt.Errorf("move day: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, err
	}
	m.m.rollovers.Inc()
	var due []objKey
	st := newState(s, d)
	if err := st.query(ctx, sqlDue(d), []any{string(today)}, func(scan func(...any) error) error {
		var t, u string
		if err := scan(&t, &u); err != nil {
			return err
		}
		due = append(due, objKey{mo.Type(t), u})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("find objects due: %w", err)
	}
	sort.Slice(due, func(i, j int) bool { return due[i].String() < due[j].String() })
	// Keep kvittering short: rows older than the retention go, the
	// newest row always stays.
	var newest sql.NullInt64
	if err := s.tx.QueryRowContext(ctx, sqlNewestKvittering(d)).Scan(&newest); err != nil {
		return nil, fmt.Errorf("prune kvittering: %w", err)
	}
	if newest.Valid {
		cutoff := localTime(m.now().Add(-m.cfg.KvitteringRetention))
		if _, err := s.exec(ctx, sqlPruneKvittering(d), cutoff, newest.Int64); err != nil {
			return nil, fmt.Errorf("prune kvittering: %w", err)
		}
	}
	return due, nil
}

// writeState writes the batch's objects and references, and the new
// next_change of the objects due today.
func (m *Mirror) writeState(ctx context.Context, s *session, st *state, changes map[objKey]*change, due []objKey, today mo.Date, written map[string]int) error {
	objs, refs := newTableWrite(m.sc.table(tObjects)), newTableWrite(m.sc.table(tRefs))
	for k, c := range changes {
		objs.owner(string(k.typ), k.uuid)
		refs.owner(string(k.typ), k.uuid)
		if c.obj == nil {
			continue
		}
		objs.add(k, row{"type": string(k.typ), "uuid": k.uuid, "json": c.raw, "next_change": m.nextChange(c.obj, today)})
		for _, r := range refsOf(c.obj) {
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

// nextChange is when the object's rows next change by themselves: every
// object in actual mode; in historic mode only the classes, facets and IT
// systems whose names the export shows as of today.
func (m *Mirror) nextChange(o *mo.Object, today mo.Date) any {
	if m.sc.mode == Historic && o.Type != mo.Class && o.Type != mo.Facet && o.Type != mo.ITSystem {
		return nil
	}
	return nextChange(o, today)
}

// derive computes the rows of every object in set.
func (m *Mirror) derive(ctx context.Context, st *state, set map[objKey]bool, today mo.Date) ([]*tableWrite, error) {
	var keys []objKey
	for _, k := range sortedKeys(set) {
		if _, ok := tablesOf[k.typ]; ok {
			keys = append(keys, k)
		}
	}
	d := newDeriver(st, m.sc, today)
	if err := d.prefetch(ctx, keys); err != nil {
		return nil, err
	}
	byName := map[string]*tableWrite{}
	ws := func(name string) *tableWrite {
		w := byName[name]
		if w == nil {
			w = newTableWrite(m.sc.table(name))
			byName[name] = w
		}
		return w
	}
	for _, k := range keys {
		d.export(k, ws)
	}
	var out []*tableWrite
	for _, t := range m.sc.tables {
		if w := byName[t.Name]; w != nil {
			out = append(out, w)
		}
	}
	return out, nil
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
// upserted.
func (m *Mirror) flush(ctx context.Context, s *session, writes []*tableWrite, written map[string]int) error {
	var keys [][]any
	for _, w := range writes {
		for o := range w.owners {
			keys = append(keys, []any{w.t.Name, o[0], o[1]})
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if q := m.d.ClearStaging(keysTable); q != "" {
		if _, err := s.exec(ctx, q); err != nil {
			return err
		}
	}
	if err := m.load(ctx, s, keysTable, keys); err != nil {
		return err
	}
	for _, w := range writes {
		if q := m.d.ClearStaging(w.t); q != "" {
			if _, err := s.exec(ctx, q); err != nil {
				return err
			}
		}
		if len(w.rows) > 0 {
			if err := m.load(ctx, s, w.t, w.rows); err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, m.d.DeleteVanished(w.t)); err != nil {
			return fmt.Errorf("delete from %s: %w", w.t.Name, err)
		}
		if len(w.rows) == 0 {
			continue
		}
		for _, q := range m.d.Upsert(w.t) {
			if _, err := s.exec(ctx, q); err != nil {
				return fmt.Errorf("upsert %s: %w", w.t.Name, err)
			}
		}
		written[w.t.Name] += len(w.rows)
	}
	return nil
}

func (m *Mirror) load(ctx context.Context, s *session, t *Table, rows [][]any) error {
	if traceSQL != nil {
		defer func(start time.Time) { traceSQL("LOAD "+t.Name, time.Since(start)) }(time.Now())
	}
	return m.d.Load(ctx, s, t, rows)
}
