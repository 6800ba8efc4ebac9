package mirror

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// BenchmarkApply measures the mirror's apply rate — an initial load of
// persons, units and engagements, in batches as the runner cuts them —
// beside the database's raw bulk-load rate (COPY / LOAD DATA) of the same
// rows into the same table definitions, in the same run.
//
//	source .mocdc/env; go test ./sinks/mirror -run '^$' -bench Apply -benchtime 1x
//
// Reported per dialect: mirror_rows/s (export rows written per second of
// Apply, the state tables and offsets included in the time), raw_rows/s
// (bulk load of those export rows alone) and ratio (mirror / raw; the
// design target is ≥ 0.5), and ratio_all_rows: the raw bulk load of every
// row the mirror's transactions wrote — export rows and the state rows
// (mocdc_objects, mocdc_refs) — over the mirror's time.
func BenchmarkApply(b *testing.B) {
	for _, dialect := range dialects() {
		b.Run(dialect, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchOnce(b, dialect, scope.Config{})
			}
		})
	}
}

// BenchmarkApplyScoped is BenchmarkApply on PostgreSQL with a scope that
// every unit passes (a subtree root at the top, persons filtered): the
// cost of judging every row and of the extra references.
func BenchmarkApplyScoped(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchOnce(b, "postgres", scope.Config{Roots: []string{id(30, 0)}, Persons: true})
	}
}

const (
	benchPersons = 20000
	benchBatch   = 5000
)

func benchRecords(topics event.Topics) []runner.Record {
	var recs []runner.Record
	offsets := map[string]int64{}
	add := func(o *mo.Object) {
		topic := topics.Object(o.Type)
		recs = append(recs, runner.Record{Topic: topic, Partition: 0, Offset: offsets[topic], Key: []byte(o.UUID), Value: captureLike(o)})
		offsets[topic]++
	}
	for _, c := range classDefs {
		add(classObj(c))
	}
	units := []string{}
	for i := 0; i < 100; i++ {
		u := id(30, i)
		f := map[string]any{"user_key": fmt.Sprint(i), "name": fmt.Sprintf("Enhed %d Øst", i), "unit_type": cAfd}
		if i > 0 {
			f["parent"] = id(30, (i-1)/4)
		}
		add(obj(mo.OrgUnit, u, ver("2010-01-01", "", f)))
		units = append(units, u)
	}
	for i := 0; i < benchPersons; i++ {
		p := id(40, i)
		add(obj(mo.Person, p, ver("1980-01-01", "", map[string]any{"user_key": fmt.Sprint(i), "given_name": "Åse", "surname": fmt.Sprintf("Ærø %d", i), "cpr_number": "0101801234"})))
		add(engagementObj(id(50, i), p, units[i%len(units)], cLaerer, cPrim, "2015-01-01", "", map[string]any{"fraction": int64(37)}))
	}
	return recs
}

// captureLike encodes o as capture publishes it: every field of the type
// in every period (null when unset), with the registration and the
// changed fields — the size the mirror reads and stores in practice.
func captureLike(o *mo.Object) []byte {
	spec := mo.SpecOf(o.Type)
	var changed []string
	for i := range o.Validities {
		for _, f := range spec.Fields {
			if _, ok := o.Validities[i].Fields[f.Name]; !ok {
				o.Validities[i].Fields[f.Name] = nil
			} else if i == 0 {
				changed = append(changed, f.Name)
			}
		}
	}
	n := eventSeq.Add(1)
	e := &event.Envelope{Version: event.Version, ID: fmt.Sprintf("reg/bench/%d", n), Op: event.Create, Type: o.Type, UUID: o.UUID,
		Registration: &event.Registration{ID: n, Time: time.Now(), Lifecycle: "Opstaaet", Actor: "de7e104e-baad-c0de-6465-76656c6f7065", Note: "Oprettet i MO"},
		Source:       event.Source{LSN: fmt.Sprintf("0/%X", n), Xid: uint32(n), CommitTime: time.Now().Truncate(time.Millisecond)},
		Changed:      append(changed, "validity"), Object: o}
	b, err := e.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func benchOnce(b *testing.B, dialect string, scoped scope.Config) {
	ctx := context.Background()
	topics := event.Topics{Prefix: "bench"}
	recs := benchRecords(topics)

	// The mirror.
	cfg := newTarget(b, dialect, Actual)
	cfg.Scope = scoped
	db, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var traceMu sync.Mutex
	trace := map[string]time.Duration{}
	statements := 0
	tracer := func(q string, d time.Duration) {
		traceMu.Lock()
		defer traceMu.Unlock()
		key := q
		if len(key) > 90 {
			key = key[:90]
		}
		trace[key] += d
		statements++
	}
	m, err := New(db, cfg, topics, WithClock(fixedClock), withTrace(tracer))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(ctx)
	if err := m.Prepare(ctx, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(recs); i += benchBatch {
		batch := runner.NewBatch(recs[i:min(i+benchBatch, len(recs))])
		if err := m.Apply(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	mirrorTime := time.Since(start)
	b.StopTimer()
	type kv struct {
		q string
		d time.Duration
	}
	var top []kv
	for q, d := range trace {
		top = append(top, kv{q, d})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].d > top[j].d })
	for i := 0; i < len(top) && i < 8; i++ {
		b.Logf("time in %-90s %8s", top[i].q, top[i].d.Round(time.Millisecond))
	}
	// Steady state: small batches of changes (a rename moves a unit and
	// with it the paths below it; persons and engagements change) into
	// the loaded target, as they arrive a few at a time.
	const small, batches = 10, 100
	offsets := map[string]int64{}
	for _, r := range recs {
		offsets[r.Topic] = max(offsets[r.Topic], r.Offset+1)
	}
	traceMu.Lock()
	statements = 0
	smallTrace := map[string]int{}
	traceMu.Unlock()
	start = time.Now()
	for i := 0; i < batches; i++ {
		var batch []runner.Record
		for j := 0; j < small; j++ {
			n := (i*small + j) % benchPersons
			var o *mo.Object
			if j%2 == 0 {
				o = obj(mo.Person, id(40, n), ver("1980-01-01", "", map[string]any{"user_key": fmt.Sprint(n), "given_name": "Åse", "surname": fmt.Sprintf("Ærø %d-%d", n, i), "cpr_number": "0101801234"}))
			} else {
				o = engagementObj(id(50, n), id(40, n), id(30, (n+i)%100), cPaed, cPrim, "2015-01-01", "", nil)
			}
			topic := topics.Object(o.Type)
			batch = append(batch, runner.Record{Topic: topic, Offset: offsets[topic], Key: []byte(o.UUID), Value: envelope(event.Update, o)})
			offsets[topic]++
		}
		if err := m.Apply(ctx, runner.NewBatch(batch)); err != nil {
			b.Fatal(err)
		}
	}
	perBatch := time.Since(start) / batches
	traceMu.Lock()
	perBatchStatements := float64(statements) / batches
	traceMu.Unlock()
	_ = smallTrace
	b.ReportMetric(perBatchStatements, "statements/small_batch")
	b.ReportMetric(float64(perBatch.Microseconds())/1000, "ms/small_batch")

	// An upgrade to a new MappingVersion: every object's rows recomputed
	// in the first transaction after start (here an idle tick).
	if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET %s = 'old' WHERE %s = 'mapping'", m.d.Quote(tMeta), m.d.Quote("value"), m.d.Quote("name"))); err != nil {
		b.Fatal(err)
	}
	up, err := New(db, cfg, topics, WithClock(fixedClock))
	if err != nil {
		b.Fatal(err)
	}
	if err := up.Prepare(ctx, false); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if err := up.Apply(ctx, runner.NewBatch(nil)); err != nil {
		b.Fatal(err)
	}
	recompute := time.Since(start)
	up.Close(ctx)
	b.ReportMetric(recompute.Seconds(), "s/upgrade_recompute")
	b.Logf("upgrade recompute of every object (%d events' objects) in one transaction: %s", len(recs), recompute.Round(time.Millisecond))

	d := m.d
	tables := []string{tBrugere, tEngagementer, tEnheder, tKlasser}
	rows := map[string][][]any{}
	total := 0
	for _, name := range tables {
		rows[name] = readRows(b, db, d, m.sc.table(name))
		total += len(rows[name])
	}

	// Raw bulk load of the same rows into fresh tables of the same shape.
	rawCfg := newTarget(b, dialect, Actual)
	rawDB, err := Open(rawCfg)
	if err != nil {
		b.Fatal(err)
	}
	defer rawDB.Close()
	sc := newSchema(Actual)
	for _, name := range tables {
		for _, q := range d.CreateTable(sc.table(name)) {
			if _, err := rawDB.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	conn, err := rawDB.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start = time.Now()
	for _, name := range tables {
		if err := rawLoad(ctx, conn, d, sc.table(name), rows[name]); err != nil {
			b.Fatal(err)
		}
	}
	rawTime := time.Since(start)

	// And everything the mirror's transactions wrote: the export rows and
	// the state rows (mocdc_objects, mocdc_refs) beside them.
	state := []string{tObjects, tRefs}
	stateRows := 0
	for _, name := range state {
		rows[name] = readRows(b, db, d, m.sc.table(name))
		stateRows += len(rows[name])
		for _, q := range d.CreateTable(sc.table(name)) {
			if _, err := rawDB.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	start = time.Now()
	for _, name := range state {
		if err := rawLoad(ctx, conn, d, sc.table(name), rows[name]); err != nil {
			b.Fatal(err)
		}
	}
	rawAllTime := rawTime + time.Since(start)

	mirrorRate := float64(total) / mirrorTime.Seconds()
	rawRate := float64(total) / rawTime.Seconds()
	b.ReportMetric(mirrorRate, "mirror_rows/s")
	b.ReportMetric(rawRate, "raw_rows/s")
	b.ReportMetric(mirrorRate/rawRate, "ratio")
	b.ReportMetric(rawAllTime.Seconds()/mirrorTime.Seconds(), "ratio_all_rows")
	b.ReportMetric(float64(len(recs))/mirrorTime.Seconds(), "events/s")
	b.Logf("%s: %d events → %d export rows: mirror %s (%.0f rows/s), raw bulk load %s (%.0f rows/s), ratio %.2f; with the %d state rows: raw %s, ratio %.2f; then %d batches of %d changes: %s per batch",
		dialect, len(recs), total, mirrorTime.Round(time.Millisecond), mirrorRate, rawTime.Round(time.Millisecond), rawRate, mirrorRate/rawRate,
		stateRows, rawAllTime.Round(time.Millisecond), rawAllTime.Seconds()/mirrorTime.Seconds(),
		batches, small, perBatch.Round(100*time.Microsecond))
}

// rawLoad bulk-loads rows straight into the table, the database's fastest
// path: COPY for PostgreSQL, LOAD DATA LOCAL for MySQL, bulk copy for SQL
// Server — in one transaction.
func rawLoad(ctx context.Context, conn *sql.Conn, d Dialect, t *Table, rows [][]any) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	s := &session{conn: conn, tx: tx}
	direct := &Table{Name: t.Name, Columns: t.Columns}
	switch dd := d.(type) {
	case *postgres:
		err = dd.copyInto(ctx, s, t.Name, direct, rows)
	case *mysql:
		err = dd.loadInto(ctx, s, d.Quote(t.Name), direct, rows)
	case *mssql:
		err = dd.copyInto(ctx, s, t.Name, direct, rows)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

func readRows(b *testing.B, db *sql.DB, d Dialect, t *Table) [][]any {
	rs, err := db.Query(fmt.Sprintf("SELECT %s FROM %s", list(d, "", t.ColumnNames()), d.Quote(t.Name)))
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(t.Columns))
		ptrs := make([]any, len(t.Columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				vals[i] = string(x)
			case int32:
				vals[i] = int64(x)
			}
			if t.Columns[i].Kind == Bool {
				switch x := vals[i].(type) {
				case int64:
					vals[i] = x != 0
				case string:
					vals[i] = x == "1" || strings.EqualFold(x, "true")
				}
			}
		}
		out = append(out, vals)
	}
	return out
}
