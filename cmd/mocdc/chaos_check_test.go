package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
)

// invariant is one line of the chaos report.
type invariant struct {
	name   string
	held   bool
	detail string
}

type chaosInvariantsInput struct {
	marks        map[string]int64
	readsBefore  int64
	mirrorDBs    map[string]*sql.DB
	pgMirrorDSN  string
	myMirrorDSN  string
	procs        map[string]*supervised
	drainStart   time.Time
	ledgerConfig string
	statusConfig string
	fk           *fkdouble.Server
	fkRules      fkRules
}

// chaosCheck checks every invariant after the drain, each computed from
// the MO store with plain SQL (the oracle) or from Kafka as it is, never by
// the sinks' own code.
func chaosCheck(t *testing.T, ctx context.Context, e *e2e, in chaosInvariantsInput) []invariant {
	var out []invariant
	add := func(name string, held bool, format string, args ...any) {
		out = append(out, invariant{name, held, fmt.Sprintf(format, args...)})
	}

	// 1. Every mirror table the oracle covers equals it, in both mirrors.
	pgPool, err := pgxpool.New(ctx, in.pgMirrorDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pgPool.Close()
	targets := map[string]func(string) ([][]*string, error){"postgres": pgQuery(pgPool), "mariadb": sqlQuery(in.mirrorDBs["my"])}
	var tables []string
	for table := range oracleQueries {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	var diffs []string
	rows := 0
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		diffs, rows = nil, 0
		for _, table := range tables {
			q := oracleQueries[table]
			want := oracle(t, e.pool, table)
			rows += len(want)
			for _, name := range []string{"postgres", "mariadb"} {
				got := mirrorRows(t, targets[name], name == "mariadb", table, q.columns)
				if d := diffRows(q.columns, want, got); len(d) > 0 {
					diffs = append(diffs, fmt.Sprintf("%s %s: %d differences, first: %s", name, table, len(d), d[0]))
				}
			}
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	add("mirror tables (PostgreSQL and MariaDB, actual state) equal the SQL oracle over the LoRa tables", len(diffs) == 0,
		"%d tables, %d oracle rows each mirror; %s", len(tables), rows, firstOr(diffs, "no difference"))

	// 2. The ledger: one write entry per registration after the snapshot,
	// one read entry per access-log operation, in source order per object,
	// and the chain verifies.
	want := e.regsAfter(in.marks)
	_, readsAfter := e.marks()
	wantReads := int(readsAfter - in.readsBefore)
	var recs []*ledger.Record
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		recs, err = ledger.Query(ctx, e.kafka(), e.prefix+".ledger", ledger.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= len(want)+wantReads || time.Now().After(deadline) {
			break
		}
	}
	lc := countLedger(recs, want)
	missing, dup, unknown, reads, disorder := lc.missing, lc.dup, lc.unknown, lc.reads, lc.disorder
	add("ledger: exactly one entry per registration and per read, in source order per object",
		missing == 0 && dup == 0 && unknown == 0 && reads == wantReads && disorder == 0,
		"%d write entries for %d registrations (%d missing, %d twice, %d unknown), %d read entries for %d reads, %d out of order",
		len(recs)-reads, len(want), missing, dup, unknown, reads, wantReads, disorder)
	verifyOut, verifyErr := runMocdcTimeout(2*time.Minute, e.bin, "ledger", "verify", "--config", in.ledgerConfig)
	add("ledger verifies (`mocdc ledger verify`)", verifyErr == nil, "%s", lastLine(verifyOut, verifyErr))

	// FK Organisation: the double's state equals what the MO store says
	// (parents chain to the top unit, relevant units only, users with the
	// right positions), and the double refused nothing but repeated deletes.
	var fkDiffs []string
	var units, users map[string]fkWant
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		units, users = fkOracle(t, e.pool, in.fkRules)
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = in.fk.Drain(dctx)
		cancel()
		fkDiffs = diffFK(in.fk.State(e2eCVR), units, users)
		if len(fkDiffs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	var refused []string
	for _, f := range in.fk.Failures() {
		if f.Operation == "DELETE" && strings.HasPrefix(f.Error, "no ") {
			continue // a delete repeated after a kill: the object is gone already
		}
		refused = append(refused, fmt.Sprintf("%+v", f))
	}
	if st := in.fk.Stats(); st.Rejected != 0 {
		refused = append(refused, fmt.Sprintf("%d requests rejected: %v", st.Rejected, st.Requests))
	}
	add("FK Organisation (the OS2sync double) equals the MO store", len(fkDiffs) == 0 && len(refused) == 0,
		"%d units, %d users; %s; %s", len(units), len(users), firstOr(fkDiffs, "no difference"), firstOr(refused, "nothing refused"))

	// 3. No dead letters (none are expected in a clean run) but explained
	// ones: an AD create request whose every proposed DN or sAMAccountName
	// a namesake's create had claimed is dead-lettered by design, and so is
	// a create intent whose DN or sAMAccountName another account took
	// between the request and the add (churn renamed a person's account to
	// that name: renames do not consult the creates' claims); in both the
	// person's next reconcile proposes others (the AD invariant checks that
	// everyone got an account).
	dead := countTopicRecords(t, ctx, e.brokers, e.prefix+".deadletter")
	var unexplained []string
	claimed := 0
	if dead > 0 {
		for _, v := range readTopic(t, ctx, e.brokers, e.prefix+".deadletter") {
			var dl event.DeadLetter
			if _, value, ok := strings.Cut(v, " value="); ok { // readTopic: "headers key=K value=V"
				_ = json.Unmarshal([]byte(value), &dl)
			}
			if dl.Stage == "ad" && strings.HasPrefix(dl.Reason, "every DN or sAMAccountName this create proposes is claimed by another person's create") ||
				dl.Stage == "perform" && strings.HasPrefix(dl.Reason, "create of ") && strings.Contains(dl.Reason, " was taken meanwhile ") {
				claimed++
				continue
			}
			unexplained = append(unexplained, fmt.Sprintf("%s: %s", dl.Stage, dl.Reason))
		}
	}
	add("no dead letters but explained ones", len(unexplained) == 0,
		"%d records in %s.deadletter, %d of them AD creates whose names namesakes had claimed or another account took meanwhile (the next reconcile proposes others); %s",
		dead, e.prefix, claimed, firstOr(unexplained, "no other"))

	// 4. Slot lag back near zero and no consumer group stuck: `mocdc
	// status` (which reads the slot and each sink's position) says every
	// sink is up to date.
	var lag int64 = -1
	_ = e.pool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1`, e.slot).Scan(&lag)
	add("slot lag back near zero", lag >= 0 && lag < 16<<20, "%d bytes between the WAL end and the confirmed position", lag)
	var st struct {
		Sinks []struct {
			Name  string `json:"name"`
			Lag   *int64 `json:"lag"`
			Error string `json:"error"`
		} `json:"sinks"`
	}
	stuck := []string{}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Second) {
		raw, _ := runMocdcTimeout(time.Minute, e.bin, "status", "--config", in.statusConfig, "--json")
		stuck = stuck[:0]
		if err := json.Unmarshal([]byte(raw), &st); err != nil || len(st.Sinks) == 0 {
			stuck = append(stuck, "status --json unreadable: "+lastLine(raw, err))
		}
		for _, s := range st.Sinks {
			if s.Error != "" || s.Lag == nil || *s.Lag != 0 {
				l := "?"
				if s.Lag != nil {
					l = fmt.Sprint(*s.Lag)
				}
				stuck = append(stuck, fmt.Sprintf("%s: lag %s %s", s.Name, l, s.Error))
			}
		}
		if len(stuck) == 0 || time.Now().After(deadline) {
			break
		}
	}
	add("no consumer group stuck (`mocdc status`: every sink lag 0)", len(stuck) == 0, "%d sinks; %s", len(st.Sinks), firstOr(stuck, "all up to date"))

	// 5. No process restarting in a loop: none exited by itself since the
	// drain began.
	var looping []string
	for name, p := range in.procs {
		if n := p.unexpectedExits(in.drainStart); n > 0 {
			looping = append(looping, fmt.Sprintf("%s exited %d times: %s", name, n, lastLine(p.tail(), nil)))
		}
	}
	sort.Strings(looping)
	add("no process restarting in a loop", len(looping) == 0, "%s", firstOr(looping, fmt.Sprintf("%d processes steady through the drain", len(in.procs))))
	return out
}

func firstOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return s[0]
}

func lastLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	l := lines[len(lines)-1]
	if err != nil {
		l += " (" + err.Error() + ")"
	}
	return l
}

// countTopicRecords counts the committed records of a topic.
func countTopicRecords(t *testing.T, ctx context.Context, brokers []string, topic string) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		return 0 // no dead-letter topic: nothing was ever dead-lettered
	}
	return len(readTopic(t, ctx, brokers, topic))
}
