package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What the helpers name: UniqueTopicPrefix's "t" and 12 hex digits (topics
// follow with "-" or "."), uniqueName's "_" and 16 hex digits at the end.
var (
	testTopic    = regexp.MustCompile(`^t[0-9a-f]{12}[-.]`)
	testDatabase = regexp.MustCompile(`^[a-z0-9_]+_[0-9a-f]{16}$`)
)

// SweepReport counts what Sweep removed.
type SweepReport struct {
	Topics, Groups, PostgresDBs, MySQLDBs int
}

// Sweep removes every topic, consumer group and database that the helpers
// of this package make — left behind by tests that were killed before
// their cleanup ran (a timeout panic, kill -9). It removes those of tests
// running now too: run it only when no test runs (`make test-clean`).
// The environment variables are those the tests use.
func Sweep(ctx context.Context, env func(string) string) (SweepReport, error) {
	var rep SweepReport
	var errs []error
	if brokers := env(EnvKafka); brokers != "" {
		t, g, err := sweepKafka(ctx, strings.Split(brokers, ","))
		rep.Topics, rep.Groups = t, g
		errs = append(errs, err)
	}
	if admin := env(EnvPostgres); admin != "" {
		n, err := sweepPostgres(ctx, admin)
		rep.PostgresDBs = n
		errs = append(errs, err)
	}
	if admin := env(EnvMySQL); admin != "" {
		n, err := sweepMySQL(ctx, admin)
		rep.MySQLDBs = n
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

func sweepKafka(ctx context.Context, brokers []string) (topics, groups int, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	gs, err := adm.ListGroups(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("list groups: %w", err)
	}
	var gnames []string
	for _, g := range gs.Groups() {
		if testTopic.MatchString(g) {
			gnames = append(gnames, g)
		}
	}
	if len(gnames) > 0 {
		if _, err := adm.DeleteGroups(ctx, gnames...); err != nil {
			return 0, 0, fmt.Errorf("delete groups: %w", err)
		}
	}
	ts, err := adm.ListTopics(ctx)
	if err != nil {
		return 0, len(gnames), fmt.Errorf("list topics: %w", err)
	}
	var tnames []string
	for _, t := range ts.Names() {
		if testTopic.MatchString(t) {
			tnames = append(tnames, t)
		}
	}
	for i := 0; i < len(tnames); i += 200 {
		resps, err := adm.DeleteTopics(ctx, tnames[i:min(i+200, len(tnames))]...)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return i, len(gnames), fmt.Errorf("delete topics: %w", err)
		}
	}
	return len(tnames), len(gnames), nil
}

func sweepPostgres(ctx context.Context, admin string) (int, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return 0, err
	}
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE NOT datistemplate`)
	if err != nil {
		conn.Close(ctx)
		return 0, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	conn.Close(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, name := range names {
		if !testDatabase.MatchString(name) {
			continue
		}
		if err := dropPostgresDB(admin, name); err != nil {
			errs = append(errs, fmt.Errorf("drop database %s: %w", name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func sweepMySQL(ctx context.Context, admin string) (int, error) {
	db, err := sql.Open("mysql", admin)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT schema_name FROM information_schema.schemata`)
	if err != nil {
		return 0, err
	}
	var names []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, err
		}
		if testDatabase.MatchString(s) {
			names = append(names, s)
		}
	}
	rows.Close()
	for i, s := range names {
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+s+"`"); err != nil {
			return i, fmt.Errorf("drop MariaDB database %s: %w", s, err)
		}
	}
	return len(names), nil
}
