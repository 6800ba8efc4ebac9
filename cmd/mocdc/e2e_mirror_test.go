package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
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
	if len(diffs) > 0 {
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
			q := oracleQueries[table]
			want := oracle(t, e.pool, table)
			for name, read := range targets {
				got := mirrorRows(t, read, name == "mariadb", table, q.columns)
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
		q := oracleQueries[table]
		want := oracle(t, e.pool, table)
		if len(want) == 0 {
			t.Errorf("oracle %s is empty", table)
		}
		for name, read := range targets {
			compare(t, name, table, q.columns, want, mirrorRows(t, read, name == "mariadb", table, q.columns))
		}
	}
	// Historic mode: one row per validity period; the row that covers
	// today equals the actual-state oracle (computed columns aside, which
	// historic mode leaves NULL like OS2mo), and a uuid's periods never
	// overlap.
	histPool, err := pgxpool.New(context.Background(), histDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer histPool.Close()
	for _, table := range []string{"brugere", "engagementer", "enheder"} {
		q := oracleQueries[table]
		cols := q.columns
		if table != "brugere" {
			cols = cols[:len(cols)-1] // organisatorisk_sti / primær_boolean: NULL in historic mode
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
}
