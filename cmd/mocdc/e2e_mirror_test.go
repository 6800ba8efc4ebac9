package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// mirrorRows reads the compared columns of table from a mirror target.
func mirrorRows(t *testing.T, q func(string) ([][]*string, error), mysqlQuoting bool, table string, columns []string) map[string][]string {
	t.Helper()
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = c
		if strings.ContainsAny(c, "æøå") {
			quoted[i] = `"` + c + `"`
			if mysqlQuoting {
				quoted[i] = "`" + c + "`"
			}
		}
	}
	rows, err := q(fmt.Sprintf("SELECT %s FROM %s", strings.Join(quoted, ", "), table))
	if err != nil {
		t.Fatalf("read mirror %s: %v", table, err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		if _, dup := out[*r[0]]; dup {
			t.Errorf("mirror %s: uuid %s twice in actual-state mode", table, *r[0])
		}
		out[*r[0]] = texts(r[1:])
	}
	return out
}

// compare reports the differences between expected and mirrored rows;
// NULL and "" are the same (the export writes "" for an absent title).
func compare(t *testing.T, target, table string, cols []string, want, got map[string][]string) {
	t.Helper()
	if diffs := diffRows(cols, want, got); len(diffs) > 0 {
		n := min(len(diffs), 8)
		t.Errorf("%s %s: %d differences (of %d rows), e.g.:\n  %s", target, table, len(diffs), len(want), strings.Join(diffs[:n], "\n  "))
	}
}

func pgQuery(pool *pgxpool.Pool) func(string) ([][]*string, error) {
	return func(q string) ([][]*string, error) {
		rows, err := pool.Query(context.Background(), q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]*string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return nil, err
			}
			r := make([]*string, len(vals))
			for i, v := range vals {
				if v != nil {
					s := fmt.Sprint(v)
					r[i] = &s
				}
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
}

func sqlQuery(db *sql.DB) func(string) ([][]*string, error) {
	return func(q string) ([][]*string, error) {
		rows, err := db.Query(q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]*string
		for rows.Next() {
			r := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range r {
				ptrs[i] = &r[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			row := make([]*string, len(cols))
			for i := range r {
				if r[i].Valid {
					s := r[i].String
					row[i] = &s
				}
			}
			out = append(out, row)
		}
		return out, rows.Err()
	}
}

// TestMirrorEndToEnd: capture and actual-state mirrors in PostgreSQL and
// MariaDB run as processes (two instances of the PostgreSQL mirror in one
// consumer group, one of them killed and replaced, the MariaDB one killed
// with SIGKILL several times) while churn changes the MO store. After
// quiesce, the mirror tables equal the oracle: SQL over the MO store's
// LoRa tables by the current-state rule.
func TestMirrorEndToEnd(t *testing.T) {
	pgDSN := testenv.NewPostgresDB(t, "mirror")
	myDSN := testenv.NewMySQLDB(t, "mirror")
	histDSN := testenv.NewPostgresDB(t, "mirror_hist")
	e := newE2E(t, 60, fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
    session_timeout: 6s
  - name: maria
    dialect: mysql
    dsn: %s
    mode: actual
  - name: pghist
    dialect: postgres
    dsn: %s
    mode: historic
`, pgDSN, myDSN, histDSN))
	e.spawn("capture", "--config", e.config)
	pg1 := e.spawn("sink", "mirror", "--config", e.config, "--target", "pg")
	maria := e.spawn("sink", "mirror", "--config", e.config, "--target", "maria")
	hist := e.spawn("sink", "mirror", "--config", e.config, "--target", "pghist")
	e.waitSnapshot()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 12, Rate: 100, MaxChanges: 900, Workers: 2}, nil); err != nil {
			t.Error(err)
		}
	}()
	rng := rand.New(rand.NewPCG(3, 3))
	time.Sleep(2 * time.Second)
	pg2 := e.spawn("sink", "mirror", "--config", e.config, "--target", "pg") // scale out
	kills := 0
	for running := true; running; {
		select {
		case <-churned:
			running = false
			continue
		case <-time.After(time.Duration(700+rng.IntN(1500)) * time.Millisecond):
		}
		maria.kill()
		maria = e.spawn("sink", "mirror", "--config", e.config, "--target", "maria")
		kills++
		if kills == 3 {
			pg1.kill() // scale in: pg2 takes over pg1's partitions
			hist.kill()
			hist = e.spawn("sink", "mirror", "--config", e.config, "--target", "pghist")
		}
	}
	_ = pg2
	e.waitCaptured()

	pgPool, err := pgxpool.New(context.Background(), pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pgPool.Close()
	my, err := sql.Open("mysql", myDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer my.Close()
	targets := map[string]func(string) ([][]*string, error){"postgres": pgQuery(pgPool), "mariadb": sqlQuery(my)}

	// Quiesce: the mirrors have applied everything when their tables stop
	// changing and equal the oracle; poll for a while before judging.
	tables := []string{"brugere", "klasser", "enheder", "engagementer", "ledere"}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok := true
		for _, table := range tables {
			want := oracleAt(t, e.pool, table, time.Now())
			for name, read := range targets {
				got := mirrorRows(t, read, name == "mariadb", table, oracleColumns(table))
				if len(got) != len(want) {
					ok = false
				}
				_ = name
			}
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	for _, table := range tables {
		cols := oracleColumns(table)
		want := oracleAt(t, e.pool, table, time.Now())
		if len(want) == 0 {
			t.Errorf("oracle %s is empty", table)
		}
		for name, read := range targets {
			compare(t, name, table, cols, want, mirrorRows(t, read, name == "mariadb", table, cols))
		}
	}
	// Historic mode: one row per validity period; the row that covers
	// today equals the actual-state oracle (organisatorisk_sti aside, which
	// historic mode leaves NULL like OS2mo; its dates are the version's,
	// cut at every boundary), and a uuid's periods never overlap.
	histPool, err := pgxpool.New(context.Background(), histDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer histPool.Close()
	for _, table := range []string{"brugere", "engagementer", "enheder"} {
		q := oracleQueries[table]
		cols := q.columns
		if table == "enheder" {
			cols = cols[:len(cols)-1] // organisatorisk_sti: NULL in historic mode
		}
		want := oracle(t, e.pool, table)
		for u, w := range want {
			want[u] = w[:len(cols)-1]
		}
		covering := fmt.Sprintf("SELECT %s FROM %s WHERE startdato <= to_char(now() AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD') AND slutdato >= to_char(now() AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD')",
			strings.Join(cols, ", "), table)
		var rows [][]*string
		for wait := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
			rows, err = pgQuery(histPool)(covering)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == len(want) || time.Now().After(wait) {
				break
			}
		}
		got := map[string][]string{}
		for _, r := range rows {
			if _, dup := got[*r[0]]; dup {
				t.Errorf("historic %s: two rows of %s cover today", table, *r[0])
			}
			got[*r[0]] = texts(r[1:])
		}
		compare(t, "historic", table, cols, want, got)
		var overlaps int
		_ = histPool.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM %[1]s a JOIN %[1]s b ON a.uuid = b.uuid AND a.id < b.id
			AND a.startdato <= b.slutdato AND b.startdato <= a.slutdato`, table)).Scan(&overlaps)
		if overlaps > 0 {
			t.Errorf("historic %s: %d overlapping periods of one uuid", table, overlaps)
		}
	}
	t.Logf("%d kills of the MariaDB mirror, one PostgreSQL instance removed", kills)

	acrossMidnight(t, e, tables)
}

// acrossMidnight runs an actual-state mirror in-process with an injected
// clock over the same topics: first at the real time, then the clock jumps
// to five past next midnight (Europe/Copenhagen) without any MO change;
// after the idle tick its rows — values and dates — equal the oracle at
// that instant (rows that start or end at midnight, and dates that a
// boundary passing changes although the values did not).
func acrossMidnight(t *testing.T, e *e2e, tables []string) {
	// A manager that gets a second responsibility from tomorrow: its ledere
	// row's values stay, but its startdato becomes tomorrow at midnight
	// (the new row is then valid and starts later than the others).
	bg := context.Background()
	cat, err := demo.LoadCatalog(bg, e.pool, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(store.NewWriter(e.pool), writer.SQLScopes{DB: e.pool}, cat.Organisation)
	since, tomorrow := mo.Date("2020-01-01"), mo.DateOf(time.Now().In(mo.Location).AddDate(0, 0, 1))
	resp := cat.Classes[demo.FacetResponsibility]
	mgr := uuid.NewString()
	meta := writer.Meta{Actor: demo.ActorOPUS}
	if err := w.Create(bg, mo.Manager, mgr, mo.Validity{From: &since}, writer.Fields{"user_key": "midnight", "org_unit": cat.Units[0].UUID,
		"person": cat.Persons[0].UUID, "manager_type": cat.Classes[demo.FacetManagerType][0].UUID, "responsibilities": []string{resp[0].UUID}}, meta); err != nil {
		t.Fatal(err)
	}
	if err := w.Update(bg, mo.Manager, mgr, mo.Validity{From: &tomorrow}, writer.Fields{"responsibilities": []string{resp[0].UUID, resp[1].UUID}}, meta); err != nil {
		t.Fatal(err)
	}
	e.waitCaptured()

	dsn := testenv.NewPostgresDB(t, "mirror_tick")
	var mu sync.Mutex
	at := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	cfg := mirror.Config{Name: "tick", Dialect: "postgres", DSN: dsn, Mode: mirror.Actual, TickInterval: 200 * time.Millisecond,
		Group: e.prefix + "-mirror-tick", SessionTimeout: 6 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- mirror.Run(ctx, cfg, mirror.RunDeps{KafkaOpts: e.kafka(), Topics: event.Topics{Prefix: e.prefix}, Clock: clock})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("in-process mirror: %v", err)
		}
	}()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	read := pgQuery(pool)
	check := func(when time.Time, label string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			ok := true
			for _, table := range tables {
				want := oracleAt(t, e.pool, table, when)
				got := mirrorRowsQuiet(read, table, oracleColumns(table))
				if !sameRows(want, got) {
					ok = false
				}
			}
			if ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		for _, table := range tables {
			cols := oracleColumns(table)
			compare(t, label, table, cols, oracleAt(t, e.pool, table, when), mirrorRows(t, read, false, table, cols))
		}
	}
	check(at, "in-process mirror, today")
	loc := mo.Location
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 5, 0, 0, loc)
	before, after := oracleAt(t, e.pool, "ledere", at)[mgr], oracleAt(t, e.pool, "ledere", midnight)[mgr]
	if n := len(before); n < 2 || before[n-2] != "2020-01-01" || after[n-2] != string(tomorrow) || strings.Join(before[:n-2], "|") != strings.Join(after[:n-2], "|") {
		t.Errorf("oracle for the midnight manager: today %v, after midnight %v; want the same values, startdato 2020-01-01 then %s", before, after, tomorrow)
	}
	mu.Lock()
	at = midnight
	mu.Unlock()
	check(midnight, "in-process mirror, after midnight")
}

// mirrorRowsQuiet is mirrorRows without failing the test (for polling).
func mirrorRowsQuiet(read func(string) ([][]*string, error), table string, columns []string) map[string][]string {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = c
		if strings.ContainsAny(c, "æøå") {
			quoted[i] = `"` + c + `"`
		}
	}
	rows, err := read(fmt.Sprintf("SELECT %s FROM %s", strings.Join(quoted, ", "), table))
	if err != nil {
		return nil
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[*r[0]] = texts(r[1:])
	}
	return out
}

// sameRows reports whether want and got hold the same rows (NULL = "",
// booleans as true/false).
func sameRows(want, got map[string][]string) bool {
	if len(want) != len(got) {
		return false
	}
	n := func(v string) string {
		if m, ok := map[string]string{"NULL": "", "1": "true", "0": "false"}[v]; ok {
			return m
		}
		return v
	}
	for u, w := range want {
		g, ok := got[u]
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if n(w[i]) != n(g[i]) {
				return false
			}
		}
	}
	return true
}

// diffRows lists the differences between expected and mirrored rows; NULL
// and "" are the same (the export writes "" for an absent title).
func diffRows(cols []string, want, got map[string][]string) []string {
	norm := func(v string) string {
		switch v {
		case "NULL":
			return ""
		case "1":
			return "true"
		case "0":
			return "false"
		}
		return v
	}
	var diffs []string
	for u, w := range want {
		g, ok := got[u]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("missing %s %v", u, w))
			continue
		}
		for i := range w {
			if norm(w[i]) != norm(g[i]) {
				diffs = append(diffs, fmt.Sprintf("%s.%s = %q, want %q", u, cols[i+1], g[i], w[i]))
			}
		}
	}
	for u := range got {
		if _, ok := want[u]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra row %s %v", u, got[u]))
		}
	}
	sort.Strings(diffs)
	return diffs
}
