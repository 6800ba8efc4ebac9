package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/publish"
)

// Names of the environment variables written by deploy/local/services.
const (
	EnvPostgres = "MOCDC_TEST_PG_DSN"
	EnvKafka    = "MOCDC_TEST_KAFKA"
	EnvMySQL    = "MOCDC_TEST_MYSQL_DSN"
)

// cleanupTimeout bounds each cleanup: it runs after the test's own context is
// cancelled, so it uses a fresh one.
const cleanupTimeout = 60 * time.Second

// mustEnv returns the variable or fails the test saying how to set it.
func mustEnv(tb testing.TB, name string) string {
	tb.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		tb.Fatal(name + " is not set: start the local services with `deploy/local/services up` and `source .mocdc/env` (make test does both)")
	}
	return v
}

// randomHex returns n random bytes as 2n lowercase hex digits.
func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testenv: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// uniqueName turns prefix into a safe lowercase identifier and appends "_" and
// 16 random hex digits. Only [a-z0-9_] remain, so the name never needs quoting
// and is shorter than both PostgreSQL's (63) and MySQL's (64) limits.
func uniqueName(tb testing.TB, prefix string) string {
	tb.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	p := b.String()
	if p == "" || (p[0] >= '0' && p[0] <= '9') {
		p = "db" + p
	}
	if len(p) > 40 {
		p = p[:40]
	}
	return p + "_" + randomHex(tb, 8)
}

// ---------------------------------------------------------------- PostgreSQL

// PostgresAdminDSN returns the DSN of the test PostgreSQL server's admin
// database (MOCDC_TEST_PG_DSN), superuser, replication allowed. Tests create
// their own databases with NewPostgresDB rather than writing here.
func PostgresAdminDSN(tb testing.TB) string {
	tb.Helper()
	return mustEnv(tb, EnvPostgres)
}

// NewPostgresDB creates an empty database named prefix_<random hex> (prefix is
// lowercased, other characters become "_") and returns its DSN. Cleanup
// terminates its sessions (walsenders included), drops the replication slots
// in it and drops it.
func NewPostgresDB(tb testing.TB, prefix string) string {
	tb.Helper()
	admin := PostgresAdminDSN(tb)
	name := uniqueName(tb, prefix)
	dsn, err := postgresDSNFor(admin, name)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", EnvPostgres, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("testenv: connect to PostgreSQL (%s): %v; is it running? `deploy/local/services status`", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("testenv: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := dropPostgresDB(admin, name); err != nil {
			tb.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// postgresDSNFor returns admin with the database replaced by db. It accepts the
// URL form (postgres://…/dbname?…) and the keyword/value form (host=… dbname=…).
func postgresDSNFor(admin, db string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", err
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value: a later key overrides an earlier one.
	return admin + " dbname=" + db, nil
}

func dropPostgresDB(admin, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	// A slot cannot be dropped while a walsender uses it, and a database with a
	// slot cannot be dropped at all; so: end the sessions, then drop the slots
	// (retrying while the ended walsenders release them), then the database.
	for {
		if _, err := conn.Exec(ctx,
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			  WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
			return fmt.Errorf("terminate sessions: %w", err)
		}
		_, err := conn.Exec(ctx,
			`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
			  WHERE database = $1 AND NOT active`, name)
		if err != nil {
			return fmt.Errorf("drop replication slots: %w", err)
		}
		var left int
		if err := conn.QueryRow(ctx,
			`SELECT count(*) FROM pg_replication_slots WHERE database = $1`, name).Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d replication slot(s) still active: %w", left, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// --------------------------------------------------------------------- Kafka

// KafkaBrokers returns the Kafka bootstrap brokers (MOCDC_TEST_KAFKA, comma
// separated).
func KafkaBrokers(tb testing.TB) []string {
	tb.Helper()
	var brokers []string
	for _, b := range strings.Split(mustEnv(tb, EnvKafka), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return brokers
}

// UniqueTopicPrefix returns "t<random hex>-", a prefix the test puts in front
// of every topic name, consumer group id and transactional id it uses, so that
// tests running at the same time against the one broker never share them.
// Cleanup deletes the topics and consumer groups whose names start with it,
// or with it without its final "-" (many tests use "t<hex>" followed by
// ".", as event.Topics does): the 12 random hex digits are what is unique.
func UniqueTopicPrefix(tb testing.TB) string {
	tb.Helper()
	brokers := KafkaBrokers(tb)
	prefix := "t" + randomHex(tb, 6) + "-"
	tb.Cleanup(func() {
		if err := deleteKafkaPrefix(brokers, prefix); err != nil {
			tb.Errorf("testenv: delete Kafka topics/groups with prefix %s: %v", prefix, err)
		}
	})
	return prefix
}

// CreateTopics creates topics on the test broker with partitions
// partitions, replication factor 1 and cfg (nil: broker defaults), and
// returns once the broker serves them: a test that produces right after
// creating a topic otherwise meets UNKNOWN_TOPIC_OR_PARTITION on a loaded
// machine. A topic that exists already is fine. Name them under a
// UniqueTopicPrefix so that its cleanup deletes them.
func CreateTopics(tb testing.TB, partitions int32, cfg map[string]*string, topics ...string) {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(KafkaBrokers(tb)...))
	if err != nil {
		tb.Fatalf("testenv: kafka client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), publish.ServedTimeout+30*time.Second)
	defer cancel()
	want := make(map[string]publish.TopicSpec, len(topics))
	for _, t := range topics {
		want[t] = publish.TopicSpec{Partitions: partitions, Configs: cfg}
	}
	if err := publish.CreateTopics(ctx, kadm.NewClient(cl), 1, want); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}

func deleteKafkaPrefix(brokers []string, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	var errs []error
	// Groups first: they may still hold offsets for the topics.
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("list groups: %w", err))
	} else if names := withPrefix(groups.Groups(), prefix); len(names) > 0 {
		resps, err := adm.DeleteGroups(ctx, names...)
		if err == nil {
			for _, r := range resps {
				// A group whose members have not left yet is not fatal: the broker
				// expires empty groups; the topics below are what costs disk.
				if r.Err != nil && !strings.Contains(r.Err.Error(), "NON_EMPTY_GROUP") {
					err = errors.Join(err, fmt.Errorf("group %s: %w", r.Group, r.Err))
				}
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete groups: %w", err))
		}
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("list topics: %w", err))
	} else if names := withPrefix(topics.Names(), prefix); len(names) > 0 {
		resps, err := adm.DeleteTopics(ctx, names...)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete topics: %w", err))
		}
	}
	return errors.Join(errs...)
}

func withPrefix(names []string, prefix string) []string {
	prefix = strings.TrimSuffix(prefix, "-")
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// ------------------------------------------------------------------- MariaDB

// MySQLAdminDSN returns the go-sql-driver/mysql DSN of the test MariaDB server
// as root, with no database selected (MOCDC_TEST_MYSQL_DSN).
func MySQLAdminDSN(tb testing.TB) string {
	tb.Helper()
	return mustEnv(tb, EnvMySQL)
}

// NewMySQLDB creates an empty utf8mb4 (utf8mb4_unicode_ci) database named
// prefix_<random hex> and returns its DSN, with ?charset=utf8mb4&parseTime=true.
// Cleanup drops it.
func NewMySQLDB(tb testing.TB, prefix string) string {
	tb.Helper()
	admin := MySQLAdminDSN(tb)
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", EnvMySQL, err)
	}
	name := uniqueName(tb, prefix)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", admin)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", EnvMySQL, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx,
		"CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("testenv: create MariaDB database %s: %v; is it running? `deploy/local/services status`", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		db, err := sql.Open("mysql", admin)
		if err == nil {
			defer db.Close()
			_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`")
		}
		if err != nil {
			tb.Errorf("testenv: drop MariaDB database %s: %v", name, err)
		}
	})

	cfg.DBName = name
	cfg.ParseTime = true
	// Same as charset=utf8mb4 in the DSN: SET NAMES utf8mb4 on each connection.
	if err := cfg.Apply(mysql.Charset("utf8mb4", "")); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return cfg.FormatDSN()
}
