package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fatalTB records Fatal instead of stopping the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...) }
func (f *fatalTB) Helper()           {}

func TestMissingEnvFailsWithInstructions(t *testing.T) {
	t.Setenv(EnvPostgres, "")
	f := &fatalTB{TB: t}
	PostgresAdminDSN(f)
	want := "MOCDC_TEST_PG_DSN is not set: start the local services with `deploy/local/services up` and `source .mocdc/env` (make test does both)"
	if f.msg != want {
		t.Fatalf("Fatal message\n got %q\nwant %q", f.msg, want)
	}
}

func TestUniqueName(t *testing.T) {
	n := uniqueName(t, "My-Test/DB")
	if !strings.HasPrefix(n, "my_test_db_") || len(n) != len("my_test_db_")+16 {
		t.Fatalf("uniqueName = %q", n)
	}
	if n2 := uniqueName(t, "My-Test/DB"); n2 == n {
		t.Fatalf("uniqueName not unique: %q twice", n)
	}
	if n := uniqueName(t, "9"); !strings.HasPrefix(n, "db9_") {
		t.Fatalf("uniqueName(9) = %q, want a letter first", n)
	}
	if got, _ := postgresDSNFor("postgres://u@h:1/postgres?sslmode=disable", "x_1"); got != "postgres://u@h:1/x_1?sslmode=disable" {
		t.Fatalf("postgresDSNFor = %q", got)
	}
}

// TestPostgres: a fresh database holds UTF-8 text, the server is set up for
// logical replication, and cleanup removes the database even while a
// walsender streams from a slot in it.
func TestPostgres(t *testing.T) {
	ctx := t.Context()
	var name, slot string
	t.Run("database", func(t *testing.T) {
		dsn := NewPostgresDB(t, "testenv")
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "testenv_") {
			t.Fatalf("database %q", name)
		}
		for setting, want := range map[string]string{
			"wal_level": "logical", "TimeZone": "Europe/Copenhagen", "server_encoding": "UTF8",
		} {
			var got string
			if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s = %q, want %q", setting, got, want)
			}
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, s text);
			INSERT INTO t VALUES (1, 'æøå ÆØÅ');
			CREATE PUBLICATION p FOR TABLE t`); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := conn.QueryRow(ctx, "SELECT upper(s) FROM t WHERE id = 1").Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s != "ÆØÅ ÆØÅ" {
			t.Fatalf("round trip: %q", s)
		}

		// A walsender streaming from a slot in the database: cleanup must end it.
		slot = name + "_slot"
		rc, err := pgconn.Connect(ctx, dsn+"&replication=database")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rc.Close(context.Background()) }) // runs after the drop
		if _, err := pglogrepl.CreateReplicationSlot(ctx, rc, slot, "pgoutput",
			pglogrepl.CreateReplicationSlotOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := pglogrepl.StartReplication(ctx, rc, slot, 0, pglogrepl.StartReplicationOptions{
			PluginArgs: []string{"proto_version '1'", "publication_names 'p'"},
		}); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}

	// The subtest's cleanup has run: nothing of it may be left.
	admin, err := pgx.Connect(ctx, PostgresAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var dbs, slots int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1),
		(SELECT count(*) FROM pg_replication_slots WHERE slot_name = $2)`, name, slot).Scan(&dbs, &slots); err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || slots != 0 {
		t.Fatalf("after cleanup: %d database(s) %s, %d slot(s) %s left", dbs, name, slots, slot)
	}
}

// TestKafka: a transactional producer commits and aborts on the single-node
// broker, a read_committed group consumer sees only the committed records and
// commits its offsets, and cleanup deletes the topic and the group.
func TestKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	brokers := KafkaBrokers(t)
	var topic, dotted, group string
	t.Run("roundtrip", func(t *testing.T) {
		prefix := UniqueTopicPrefix(t)
		topic, group = prefix+"roundtrip", prefix+"group"
		// As event.Topics names them: the prefix without its "-", then ".".
		dotted = strings.TrimSuffix(prefix, "-") + ".person"
		CreateTopics(t, 1, nil, dotted)

		admCl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
		if err != nil {
			t.Fatal(err)
		}
		defer admCl.Close()
		CreateTopics(t, 1, nil, topic)

		prod, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
			kgo.TransactionalID(prefix+"tx"), kgo.DefaultProduceTopic(topic))
		if err != nil {
			t.Fatal(err)
		}
		defer prod.Close()
		for _, tx := range []struct {
			value  string
			commit kgo.TransactionEndTry
		}{{"æøå committed", kgo.TryCommit}, {"aborted", kgo.TryAbort}, {"second", kgo.TryCommit}} {
			if err := prod.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := prod.ProduceSync(ctx, kgo.StringRecord(tx.value)).FirstErr(); err != nil {
				t.Fatalf("produce %q: %v", tx.value, err)
			}
			if err := prod.EndTransaction(ctx, tx.commit); err != nil {
				t.Fatalf("end transaction after %q: %v", tx.value, err)
			}
		}

		cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
			kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Close()
		var got []string
		for len(got) < 2 {
			fs := cons.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("consumed %q, then: %v", got, err)
			}
			if err := fs.Err(); err != nil {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
		if strings.Join(got, "|") != "æøå committed|second" {
			t.Fatalf("read_committed consumer got %q", got)
		}
		if err := cons.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit offsets: %v", err)
		}
	})
	if t.Failed() {
		return
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// The controller has deleted them when DeleteTopics returns; the
	// broker's metadata follows a moment later (longer on a loaded
	// machine), so wait for it — but not for ever.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		topics, err := adm.ListTopics(ctx, topic, dotted)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, tp := range []string{topic, dotted} {
			if d, ok := topics[tp]; ok && d.Err == nil {
				left = append(left, tp)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("topics %v still exist 30 s after cleanup", left)
			break
		}
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Groups() {
		if g == group {
			t.Errorf("group %s still exists after cleanup", group)
		}
	}
}

// TestMySQL: a fresh utf8mb4 database round-trips æøå both as a parameter
// and as a literal, parseTime is on, and cleanup drops it.
func TestMySQL(t *testing.T) {
	ctx := t.Context()
	var name string
	t.Run("database", func(t *testing.T) {
		dsn := NewMySQLDB(t, "testenv")
		if !strings.Contains(dsn, "charset=utf8mb4") || !strings.Contains(dsn, "parseTime=true") {
			t.Errorf("DSN %q lacks charset=utf8mb4 or parseTime=true", dsn)
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var charset, collation string
		var localInfile int
		if err := db.QueryRowContext(ctx,
			"SELECT DATABASE(), @@character_set_database, @@collation_database, @@local_infile").
			Scan(&name, &charset, &collation, &localInfile); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "testenv_") || charset != "utf8mb4" || collation != "utf8mb4_unicode_ci" || localInfile != 1 {
			t.Fatalf("database %q charset %q collation %q local_infile %d", name, charset, collation, localInfile)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20) NOT NULL, at DATETIME(6) NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1, ?, ?), (2, 'æøå ÆØÅ', ?)", "æøå ÆØÅ", at, at); err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, "SELECT s, at FROM t ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var s string
			var gotAt time.Time
			if err := rows.Scan(&s, &gotAt); err != nil {
				t.Fatal(err)
			}
			if s != "æøå ÆØÅ" || !gotAt.Equal(at) {
				t.Errorf("row %d: %q %v", n+1, s, gotAt)
			}
			n++
		}
		if err := rows.Err(); err != nil || n != 2 {
			t.Fatalf("%d rows, %v", n, err)
		}
	})
	if t.Failed() {
		return
	}
	db, err := sql.Open("mysql", MySQLAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("database %s still exists after cleanup", name)
	}
}

// TestSweepMatchesWhatHelpersMake: Sweep's patterns match the names the
// helpers make (a topic prefix with "-" or ".", a database) and nothing a
// user makes (make run's mo, mirror, mocdc-mirror-pg, mo.person).
func TestSweepMatchesWhatHelpersMake(t *testing.T) {
	prefix := "t" + randomHex(t, 6) + "-"
	for _, n := range []string{prefix + "roundtrip", strings.TrimSuffix(prefix, "-") + ".person", prefix + "mo.ledger"} {
		if !testTopic.MatchString(n) {
			t.Errorf("Sweep would leave topic %s", n)
		}
	}
	for _, n := range []string{uniqueName(t, "capture"), uniqueName(t, "docs_MOCDC_MO_DSN"), uniqueName(t, "0weird-name")} {
		if !testDatabase.MatchString(n) {
			t.Errorf("Sweep would leave database %s", n)
		}
	}
	for _, n := range []string{"mo.person", "mo._capture.checkpoint", "mocdc-mirror-pg", "mo.ledger-builder", "terms.of-use"} {
		if testTopic.MatchString(n) {
			t.Errorf("Sweep would delete topic or group %s", n)
		}
	}
	for _, n := range []string{"mo", "mirror", "postgres", "mirror_line", "adsmoke", "mysql"} {
		if testDatabase.MatchString(n) {
			t.Errorf("Sweep would drop database %s", n)
		}
	}
}
