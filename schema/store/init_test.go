package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// TestInitTwice applies the DDL twice and checks the result in the catalog.
func TestInitTwice(t *testing.T) {
	_, conn := freshStore(t) // first Init
	ctx := testCtx(t)
	// Remove the completion marker so that the second Init applies every
	// statement again, then once more with the marker in place.
	if _, err := conn.Exec(ctx, "COMMENT ON SCHEMA actual_state IS NULL"); err != nil {
		t.Fatal(err)
	}
	if err := Init(ctx, conn); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	if err := Init(ctx, conn); err != nil {
		t.Fatalf("third Init: %v", err)
	}
	wantTables := 3 // actor, access_log_operation, access_log_read
	for _, c := range lora.Classes {
		wantTables += 5
		if len(c.Udvidelser) > 0 {
			wantTables++
		}
	}
	wantTables++ // klasse_attr_egenskaber_soegeord
	var tables, triggers, activeTilsCols int
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'actual_state'),
		(SELECT count(*) FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE n.nspname = 'actual_state' AND NOT tg.tgisinternal),
		(SELECT count(*) FROM information_schema.columns WHERE table_schema = 'actual_state' AND column_name = 'active_tils')`,
	).Scan(&tables, &triggers, &activeTilsCols); err != nil {
		t.Fatal(err)
	}
	wantCols, wantTriggers := 0, 0
	for _, c := range lora.Classes {
		if c.ActiveTils {
			n := 2 // egenskaber, relation
			if len(c.Udvidelser) > 0 {
				n++
			}
			wantCols += n
			wantTriggers += n + 1 // + the touch trigger on tils
		}
	}
	if tables != wantTables || triggers != wantTriggers || activeTilsCols != wantCols {
		t.Errorf("tables %d triggers %d active_tils columns %d; want %d %d %d", tables, triggers, activeTilsCols, wantTables, wantTriggers, wantCols)
	}
	var settings string
	if err := conn.QueryRow(ctx, `SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting
		WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND setrole = 0`).Scan(&settings); err != nil {
		t.Fatal(err)
	}
	if settings != "TimeZone=Europe/Copenhagen;search_path=actual_state, public" {
		t.Errorf("database settings %q", settings)
	}
	var tz string
	if err := conn.QueryRow(ctx, "SHOW TimeZone").Scan(&tz); err != nil || tz != TimeZone {
		t.Errorf("session time zone %q (%v), want %s", tz, err, TimeZone)
	}
}

// TestInitConcurrent runs two Inits on a fresh database at the same time.
func TestInitConcurrent(t *testing.T) {
	dsn := testenv.NewPostgresDB(t, "store")
	conns := []*pgx.Conn{connect(t, dsn), connect(t, dsn)}
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Init(ctx, c)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Init %d: %v", i, err)
		}
	}
}

// lazyDB connects on Begin, as a pool does: connection errors reach Init.
type lazyDB struct{ dsn string }

func (l lazyDB) Begin(ctx context.Context) (pgx.Tx, error) {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return nil, err
	}
	return conn.Begin(ctx)
}

// TestInitUnreachable: a port where nothing listens.
func TestInitUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dsn := "postgres://postgres@" + addr + "/mo?sslmode=disable&connect_timeout=5"
	ctx := testCtx(t)
	want := []string{"cannot reach PostgreSQL at " + addr + " (connection refused)", "check the host and port in the DSN", "PostgreSQL is running"}
	_, err = Connect(ctx, dsn)
	checkMessage(t, "Connect", err, want)
	checkMessage(t, "Init", Init(ctx, lazyDB{dsn}), want)
	if !errors.Is(Init(ctx, lazyDB{dsn}), syscall.ECONNREFUSED) {
		t.Error("the cause is not wrapped")
	}
}

// TestInitNoPrivileges runs Init as a role without CREATE on the database:
// on a fresh database (the extension is the first thing it cannot do), after
// an admin created the extensions (the schema is), and after a complete Init
// (which succeeds: nothing is left to create).
func TestInitNoPrivileges(t *testing.T) {
	dsn := testenv.NewPostgresDB(t, "store")
	admin := connect(t, dsn)
	ctx := testCtx(t)
	role := "mocdc_noprivs_" + strings.ReplaceAll(newUUID(t), "-", "")[:8]
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testenv.PostgresAdminDSN(t))
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := cfg.Database
	asRole := func() error {
		cfg := cfg.Copy()
		cfg.User = role
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		return Init(ctx, conn)
	}

	checkMessage(t, "fresh database", asRole(), []string{
		`permission denied to create extension uuid-ossp: connect as a superuser or have an admin run CREATE EXTENSION "uuid-ossp" in database ` + db,
	})
	for _, ext := range Extensions {
		if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE EXTENSION %q SCHEMA public", ext)); err != nil {
			t.Fatal(err)
		}
	}
	checkMessage(t, "extensions present", asRole(), []string{
		"permission denied to create schema actual_state as user \"" + role + "\"",
		"connect as the owner of database \"" + db + "\" or a superuser, or have an admin GRANT CREATE ON DATABASE " + db + " TO " + role,
	})
	if err := Init(ctx, admin); err != nil {
		t.Fatal(err)
	}
	// A complete schema needs no privilege: Init only checks its marker.
	if err := asRole(); err != nil {
		t.Errorf("after a complete Init: %v", err)
	}
}

func checkMessage(t *testing.T, what string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q\ndoes not say %q", what, err, w)
		}
	}
}

// TestDiagnose is the table test of the error classification.
func TestDiagnose(t *testing.T) {
	tg := target{host: "db.example", port: 5432, database: "mo", user: "mocdc"}
	withHint := tg
	withHint.what, withHint.privHint = "create extension btree_gist",
		"permission denied to create extension btree_gist: connect as a superuser or have an admin run CREATE EXTENSION btree_gist in database %[1]s"
	creating := tg
	creating.what = "create table actual_state.bruger"
	connErr := &pgconn.ConnectError{Config: &pgconn.Config{Host: "10.0.0.7", Port: 6432, Database: "other", User: "u"}}
	for _, tc := range []struct {
		name string
		err  error
		t    target
		want string
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, tg,
			"cannot reach PostgreSQL at db.example:5432 (connection refused): check the host and port in the DSN and that PostgreSQL is running and listening there"},
		{"refused, address from ConnectError", errors.Join(connErr, syscall.ECONNREFUSED), target{},
			"cannot reach PostgreSQL at 10.0.0.7:6432 (connection refused)"},
		{"timeout", fmt.Errorf("dial: %w", context.DeadlineExceeded), tg,
			"cannot reach PostgreSQL at db.example:5432 (timed out)"},
		{"dns", &net.DNSError{Err: "no such host", Name: "db.example"}, tg,
			"cannot resolve the host of db.example:5432"},
		{"28P01", &pgconn.PgError{Code: "28P01"}, tg,
			`authentication failed for user "mocdc" at db.example:5432: check the user name and password in the DSN`},
		{"28P01 in ConnectError", errors.Join(connErr, &pgconn.PgError{Code: "28P01"}), target{},
			`authentication failed for user "u" at 10.0.0.7:6432`},
		{"3D000", &pgconn.PgError{Code: "3D000"}, tg,
			`database "mo" does not exist at db.example:5432: create it (CREATE DATABASE mo) or fix the database name in the DSN`},
		{"42501 with hint", &pgconn.PgError{Code: "42501"}, withHint,
			"permission denied to create extension btree_gist: connect as a superuser or have an admin run CREATE EXTENSION btree_gist in database mo"},
		{"42501", fmt.Errorf("exec: %w", &pgconn.PgError{Code: "42501"}), creating,
			`permission denied to create table actual_state.bruger as user "mocdc": connect as the owner of database "mo" or a superuser, or have an admin GRANT CREATE ON DATABASE mo TO mocdc`},
		{"other SQLSTATE", &pgconn.PgError{Code: "42P07"}, creating, "create table actual_state.bruger failed"},
		{"other error", errors.New("boom"), tg, "talk to PostgreSQL failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diagnose(tc.err, tc.t); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCheckVersion(t *testing.T) {
	tg := target{host: "old.example", port: 5432}
	err := checkVersion(130011, "13.11", tg)
	checkMessage(t, "13.11", err, []string{"PostgreSQL 13.11 at old.example:5432 is too old", "needs PostgreSQL 14 or newer", "upgrade the server"})
	for _, v := range []int{140000, 150018, 170002} {
		if err := checkVersion(v, "x", tg); err != nil {
			t.Errorf("%d: %v", v, err)
		}
	}
}

// TestConnectMissingDatabase: a DSN naming a database that does not exist.
func TestConnectMissingDatabase(t *testing.T) {
	cfg, err := pgx.ParseConfig(testenv.PostgresAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	dsn := fmt.Sprintf("postgres://%s@%s/mocdc_no_such_db?sslmode=disable", cfg.User, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	_, err = Connect(testCtx(t), dsn)
	checkMessage(t, "Connect", err, []string{`database "mocdc_no_such_db" does not exist at ` + net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)),
		"CREATE DATABASE mocdc_no_such_db"})
}
