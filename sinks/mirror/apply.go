package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// change is the last event of one object in a batch.
type change struct {
	obj *mo.Object // nil: deleted
	raw string     // the event, as stored in mocdc_objects
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
	var behind *runner.BehindError
	if errors.As(err, &be) || errors.As(err, &behind) {
		return err
	}
	m.dropSession()
	if !m.stagedOnly && m.d.Unique(err) {
		// A row that should not exist does (edited by hand?): from now on
		// every write goes through staging, which tolerates it.
		m.stagedOnly = true
		m.log.Warn("a direct load met an existing key; writing through staging from now on", slog.Any("err", err))
	}
	class := m.d.Classify(err)
	err = fmt.Errorf("mirror %s: apply %d records: %w", m.cfg.Name, len(b.Records), err)
	switch class {
	case Auth:
		err = fmt.Errorf("%w\nThe target refused a permission the mirror needs (read and write its tables, create #temporary tables): grant it and start the mirror again", err)
	case NoDatabase:
		err = fmt.Errorf("%w\nThe target database is gone: create it again (the mirror rebuilds its tables) or fix the dsn", err)
	case Invalid:
		err = fmt.Errorf("%w\nThe target rejected the statement itself (error code unknown to the mirror, unsupported, or a table changed under it): the mirror stops rather than retry it or dead-letter good records; see docs/mirror.md, When things go wrong", err)
	}
	return deliveryError(class, err)
}

func (m *Mirror) apply(ctx context.Context, b *runner.Batch) error {
	start := m.now()
	today := mo.DateOf(start)
	began := time.Now()
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
	if err := runner.CheckStart(stored, b); err != nil {
		return err // the target lost commits: the runner reads them again
	}
	var recs []runner.Record
	for _, r := range b.Records {
		if n, ok := stored.Get(r.Topic, r.Partition); ok && r.Offset < n {
			continue // applied before
		}
		recs = append(recs, r)
	}
	type took struct {
		name string
		d    time.Duration
	}
	var phases []took
	phase := func(name string, start time.Time) {
		d := time.Since(start)
		phases = append(phases, took{name, d})
		if s.trace != nil {
			s.trace("phase "+name, d)
		}
	}
	phase("begin", began)
	t0 := time.Now()
	changes, commits, failed := m.decode(recs)
	phase("decode", t0)
	if len(failed) > 0 {
		return &runner.BatchError{Failed: failed}
	}
	t0 = time.Now()
	due, err := m.rollDay(ctx, s, today)
	if err != nil {
		return err
	}
	phase("day", t0)

	absent := m.inv.absent(stored, b.End, changes)
	written := map[string]int{}
	recomputed := 0
	if len(changes) > 0 || len(due) > 0 {
		st := newState(s, m.d)
		for k := range absent {
			st.set(k, nil) // new to the mirror: nothing to look up
		}
		keys := make([]objKey, 0, len(changes)+len(due))
		for k := range changes {
			keys = append(keys, k)
		}
		keys = append(keys, due...)
		t0 = time.Now()
		if err := st.load(ctx, keys); err != nil {
			return err
		}
		phase("load previous", t0)
		prev := map[objKey]*mo.Object{}
		next := map[objKey]*mo.Object{}
		for k, c := range changes {
			prev[k] = st.get(k)
			next[k] = c.obj
			st.set(k, c.obj)
		}
		t0 = time.Now()
		if err := m.writeState(ctx, s, st, changes, prev, due, today, written); err != nil {
			return err
		}
		phase("write state", t0)
		t0 = time.Now()
		set, err := affected(ctx, st, m.sc.mode, next, prev, due)
		if err != nil {
			return err
		}
		if err := scopeAffected(ctx, st, m.scope, set, next, prev, due); err != nil {
			return err
		}
		phase("cascade", t0)
		recomputed = len(set)
		t0 = time.Now()
		writes, err := m.derive(ctx, st, set, prev, changes, today)
		if err != nil {
			return err
		}
		phase("derive", t0)
		if err := m.check(writes, changes); err != nil {
			return err
		}
		t0 = time.Now()
		if err := m.flush(ctx, s, writes, written); err != nil {
			return err
		}
		phase("write rows", t0)
	}
	t0 = time.Now()
	if err := m.storeOffsets(ctx, s, stored, b.End); err != nil {
		return err
	}
	var newest time.Time
	for _, c := range commits {
		if c.After(newest) {
			newest = c
		}
	}
	if len(changes) > 0 {
		query := sql.NullString{} // a batch of snapshot or tick events only: no MO commit time
		if !newest.IsZero() {
			query = nullableString(localTime(newest))
		}
		if _, err := s.exec(ctx, sqlKvittering(m.d), query, localTime(start), localTime(m.now())); err != nil {
			return fmt.Errorf("write kvittering: %w", err)
		}
	}
	phase("offsets", t0)
	t0 = time.Now()
	s.statements++
	if err := s.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	phase("commit", t0)
	committed = true
	m.inv.committed(stored, b.End, changes)
	for t, n := range written {
		m.m.rows.WithLabelValues(t).Add(float64(n))
	}
	m.m.recomputed.Add(float64(recomputed))
	for _, p := range phases {
		m.m.phase.WithLabelValues(p.name).Add(p.d.Seconds())
	}
	m.m.statements.Add(float64(s.statements))
	visible := m.now()
	for _, c := range commits {
		m.m.visible.Observe(max(0, visible.Sub(c).Seconds()))
	}
	if !newest.IsZero() {
		m.m.freshness.Set(float64(newest.Unix()))
	}
	if len(due) > 0 {
		m.log.Info("day rolled over: recomputed objects whose validity started or ended", slog.String("day", string(today)), slog.Int("objects", len(due)))
	}
	return nil
}

// decode turns records into the last change per object and the source
// commit times of the records (tombstones have none); records that are not valid events for
// their topic are returned as failed. Records are parsed in parallel (JSON
// decoding is most of the mirror's own CPU) and folded in order.
func (m *Mirror) decode(recs []runner.Record) (map[objKey]*change, []time.Time, []runner.RecordError) {
	type parsed struct {
		k      objKey
		c      *change
		commit time.Time
		err    error
	}
	out := make([]parsed, len(recs))
	workers := min(runtime.GOMAXPROCS(0), 1+len(recs)/500)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(recs); i += workers {
				k, c, commit, err := m.parse(recs[i])
				out[i] = parsed{k, c, commit, err}
			}
		}()
	}
	wg.Wait()
	changes := map[objKey]*change{}
	var commits []time.Time
	var failed []runner.RecordError
	for i, p := range out {
		if p.err != nil {
			failed = append(failed, runner.RecordError{Record: recs[i], Err: p.err})
			continue
		}
		if !p.commit.IsZero() {
			commits = append(commits, p.commit)
		}
		changes[p.k] = p.c
	}
	return changes, commits, failed
}

// parse reads one record: a tombstone or delete event deletes the object,
// any other event puts its object.
func (m *Mirror) parse(r runner.Record) (objKey, *change, time.Time, error) {
	typ, ok := m.types[r.Topic]
	if !ok {
		return objKey{}, nil, time.Time{}, fmt.Errorf("topic %s is not an MO object topic this mirror consumes", r.Topic)
	}
	uuid := string(r.Key)
	if uuid == "" || len(uuid) > 36 {
		return objKey{}, nil, time.Time{}, fmt.Errorf("record key %q is not an object uuid", uuid)
	}
	k := objKey{typ, uuid}
	if r.Value == nil { // tombstone: all that is left of a deleted object after compaction
		return k, &change{rec: r}, time.Time{}, nil
	}
	env, err := event.Decode(r.Value)
	if err != nil {
		return k, nil, time.Time{}, err
	}
	if env.Type != typ || env.UUID != uuid {
		return k, nil, time.Time{}, fmt.Errorf("event %s is for %s %s, but arrived on %s with key %s", env.ID, env.Type, env.UUID, r.Topic, uuid)
	}
	c := &change{rec: r}
	if env.Op != event.Delete {
		if env.Object == nil || env.Object.UUID != uuid || env.Object.Type != typ {
			return k, nil, time.Time{}, fmt.Errorf("event %s (%s) carries no object for %s %s", env.ID, env.Op, typ, uuid)
		}
		if c.raw, err = encodeState(env.Object); err != nil {
			return k, nil, time.Time{}, err
		}
		c.obj = env.Object
	}
	return k, c, env.Source.CommitTime, nil
}

// rollDay moves mocdc_meta's day to today when it is behind, and returns
// the objects whose version of the day changed in between. One instance
// does it: the others' conditional UPDATE finds the day already moved (or
// their transaction loses the race and is retried).
func (m *Mirror) rollDay(ctx context.Context, s *session, today mo.Date) ([]objKey, error) {
	d := m.d
	var day string
	s.statements++
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

// nextChange is when the object's rows next change by themselves: every
// object in actual mode; in historic mode only the classes, facets and IT
// systems whose names the export shows as of today.
func (m *Mirror) nextChange(o *mo.Object, today mo.Date) any {
	// A scoped mirror judges units (labels, parents) and, with persons,
	// engagements as of today in both modes: they change at midnight.
	scoped := m.scope.Enabled() && (o.Type == mo.OrgUnit || o.Type == mo.Engagement)
	if m.sc.mode == Historic && o.Type != mo.Class && o.Type != mo.Facet && o.Type != mo.ITSystem && !scoped {
		return nil
	}
	return nextChange(o, today)
}

// derive computes the rows of every object in set. Objects the batch
// created (no previous state) have no rows to replace.
func (m *Mirror) derive(ctx context.Context, st *state, set map[objKey]bool, prev map[objKey]*mo.Object, changes map[objKey]*change, today mo.Date) ([]*tableWrite, error) {
	var keys []objKey
	for _, k := range sortedKeys(set) {
		if _, ok := tablesOf[k.typ]; ok {
			keys = append(keys, k)
		}
	}
	d := newDeriver(st, m.sc, today)
	d.rules = m.scope
	for k := range changes {
		if prev[k] == nil {
			d.fresh[k] = true
		}
	}
	if err := d.prefetch(ctx, keys); err != nil {
		return nil, err
	}
	if err := d.scopePrefetch(ctx, keys); err != nil {
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
