package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// DB is what Init and Writer need from PostgreSQL: *pgx.Conn and
// *pgxpool.Pool both implement it. Each call runs in its own transaction.
// A *pgx.Conn is not safe for concurrent use; a pool is.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// MinServerVersion is the oldest PostgreSQL the schema works on: 14 brought
// tstzmultirange and range_agg, which the active_tils triggers use.
const MinServerVersion = 140000

// initLockKey is the advisory lock that serialises concurrent Inits
// (the bytes of "mocdc-st").
const initLockKey int64 = 0x6d6f6364632d7374

// Connect opens a connection to dsn whose session uses the store's time zone
// (Europe/Copenhagen). Errors say what is wrong and what to do, like Init's.
func Connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse DSN: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["timezone"] = TimeZone
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", diagnose(err, target{
			host: cfg.Host, port: cfg.Port, database: cfg.Database, user: cfg.User, what: "connect",
		}), err)
	}
	return conn, nil
}

// Init creates the MO store schema in the database db points at, or
// completes it: the extensions, schema actual_state, the types, the tables,
// indexes, constraints and triggers of the eight classes, the actor and
// access-log tables, and the database's time zone and search_path. It runs
// in one transaction under an advisory lock, so it is idempotent and two
// concurrent Inits do not race. It blocks while another Init holds the lock.
// Every statement is idempotent; once a run completed, a comment on the
// schema records the DDL's hash and later Inits with the same DDL only check
// it, so that a role without CREATE privileges may call Init too.
//
// Errors say what is wrong and what to do: an unreachable server (when db
// connects lazily, as a pool does), failed authentication, a missing
// privilege, a server older than PostgreSQL 14.
func Init(ctx context.Context, db DB) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store init: %s: %w", diagnose(err, target{what: "connect"}), err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op

	tg := targetOf(tx.Conn())
	var version int
	var serverVersion string
	if err := tx.QueryRow(ctx,
		"SELECT current_setting('server_version_num')::int, current_setting('server_version'), current_database(), current_user",
	).Scan(&version, &serverVersion, &tg.database, &tg.user); err != nil {
		return fmt.Errorf("store init: %s: %w", diagnose(err, tg), err)
	}
	if err := checkVersion(version, serverVersion, tg); err != nil {
		return err
	}
	for _, q := range []string{
		"SELECT pg_advisory_xact_lock(" + strconv.FormatInt(initLockKey, 10) + ")",
		"SELECT set_config('TimeZone', '" + TimeZone + "', true)",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("store init: %s: %w", diagnose(err, tg), err)
		}
	}
	// A schema that an earlier Init completed with the same DDL carries its
	// marker: nothing to do, and no privilege needed to find that out.
	var marker *string
	if err := tx.QueryRow(ctx, "SELECT obj_description(to_regnamespace($1), 'pg_namespace')", lora.Schema).Scan(&marker); err != nil {
		return fmt.Errorf("store init: %s: %w", diagnose(err, tg), err)
	}
	if marker != nil && *marker == schemaMarker() {
		return tx.Commit(ctx)
	}
	stmts := append(statements(), statement{
		what:     "mark schema " + lora.Schema + " as complete",
		sql:      "COMMENT ON SCHEMA " + lora.Schema + " IS " + literal(schemaMarker()),
		privHint: "only the owner of schema " + lora.Schema + " may mark it complete: run Init as the role that created it",
	})
	for _, s := range stmts {
		// Simple protocol: DDL is run once, so preparing it would only fill
		// the connection's statement cache.
		if _, err := tx.Exec(ctx, s.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			st := tg
			st.what, st.privHint = s.what, s.privHint
			return fmt.Errorf("store init: %s: %w", diagnose(err, st), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store init: commit: %s: %w", diagnose(err, tg), err)
	}
	return nil
}

// checkVersion rejects servers older than MinServerVersion.
func checkVersion(num int, version string, t target) error {
	if num >= MinServerVersion {
		return nil
	}
	return fmt.Errorf("store init: PostgreSQL %s at %s is too old: the MO store needs PostgreSQL 14 or newer "+
		"(tstzmultirange and range_agg); upgrade the server or point the DSN at a newer one", version, t.addr())
}

// schemaMarker is the comment Init puts on schema actual_state when it has
// applied the DDL: it names the DDL by its hash, so that a newer generator
// (a class gained a relation kind) applies its DDL again.
func schemaMarker() string {
	sum := sha256.Sum256([]byte(DDL()))
	return "mocdc schema/store " + hex.EncodeToString(sum[:8])
}

// target is what diagnose knows about where an error happened.
type target struct {
	host     string
	port     uint16
	database string
	user     string
	what     string // the step that failed, e.g. "create extension btree_gist"
	privHint string // advice for SQLSTATE 42501; %[1]s is the database
}

func targetOf(c *pgx.Conn) target {
	if c == nil {
		return target{}
	}
	cfg := c.Config()
	return target{host: cfg.Host, port: cfg.Port, database: cfg.Database, user: cfg.User}
}

func (t target) addr() string {
	if t.host == "" {
		return "the server"
	}
	return net.JoinHostPort(t.host, strconv.Itoa(int(t.port)))
}

// diagnose turns a pgx/pgconn error into a sentence that says what is wrong
// and what to do. It looks at the connection target of a *pgconn.ConnectError
// when t does not name one.
func diagnose(err error, t target) string {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Config != nil {
		if t.host == "" {
			t.host, t.port = ce.Config.Host, ce.Config.Port
		}
		if t.database == "" {
			t.database = ce.Config.Database
		}
		if t.user == "" {
			t.user = ce.Config.User
		}
	}
	what := t.what
	if what == "" {
		what = "talk to PostgreSQL"
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return fmt.Sprintf("authentication failed for user %q at %s: check the user name and password in the DSN "+
				"(and pg_hba.conf on the server)", t.user, t.addr())
		case "3D000":
			return fmt.Sprintf("database %q does not exist at %s: create it (CREATE DATABASE %s) or fix the database name in the DSN",
				t.database, t.addr(), t.database)
		case "42501":
			if t.privHint != "" {
				return fmt.Sprintf(t.privHint, t.database)
			}
			return fmt.Sprintf("permission denied to %s as user %q: connect as the owner of database %q or a superuser, "+
				"or have an admin GRANT CREATE ON DATABASE %s TO %s", what, t.user, t.database, t.database, t.user)
		case "53300":
			return fmt.Sprintf("%s has no free connection slots: close idle clients or raise max_connections", t.addr())
		}
		return fmt.Sprintf("%s failed", what)
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach PostgreSQL at %s (connection refused): check the host and port in the DSN "+
			"and that PostgreSQL is running and listening there", t.addr())
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("cannot reach PostgreSQL at %s (timed out): check the host and port in the DSN, "+
			"that PostgreSQL is running, and firewalls", t.addr())
	case isDNSError(err):
		return fmt.Sprintf("cannot resolve the host of %s: check the host name in the DSN", t.addr())
	case ce != nil:
		return fmt.Sprintf("cannot connect to PostgreSQL at %s: check the DSN and that PostgreSQL is running", t.addr())
	}
	return fmt.Sprintf("%s failed", what)
}

func isDNSError(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}
