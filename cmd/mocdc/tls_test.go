package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/capture/source"
	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

// withParams returns dsn (a postgres:// URL) with its user and query
// parameters replaced.
func withParams(t *testing.T, dsn, user string, params map[string]string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		u.User = url.User(user)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TestTLSAndLeastPrivilege runs capture against the MO store as a role
// with only REPLICATION and SELECT on actual_state, over TLS verified
// against the local CA (sslmode=verify-full), with the publication created
// once by the tables' owner (what a DBA runs, docs/operations.md); the
// PostgreSQL mirror connects with verify-full and the MariaDB mirror as a
// user that the server only lets in over TLS (REQUIRE SSL) with
// tls_ca_file. Both mirrors receive every person, and the server's own
// views show every connection encrypted.
func TestTLSAndLeastPrivilege(t *testing.T) {
	ca := os.Getenv("MOCDC_TLS_CA")
	if ca == "" {
		t.Fatal("MOCDC_TLS_CA is not set: start the local services with `deploy/local/services up` and `source .mocdc/env` (make test does both)")
	}
	e := newE2E(t, 30, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// What a DBA runs once (docs/operations.md): a login role with
	// REPLICATION, read access to actual_state, and the publication made by
	// the owner of the tables.
	role := strings.ReplaceAll(e.slot, "e2e_", "repl_")
	pub := role + "_pub"
	var dbName string
	if err := e.pool.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	tables := make([]string, 0, len(source.Tables()))
	for _, tb := range source.Tables() {
		tables = append(tables, pgx.Identifier{"actual_state", tb}.Sanitize())
	}
	for _, stmt := range []string{
		fmt.Sprintf(`CREATE ROLE %s LOGIN REPLICATION`, role),
		fmt.Sprintf(`GRANT CONNECT ON DATABASE %s TO %s`, pgx.Identifier{dbName}.Sanitize(), role),
		fmt.Sprintf(`GRANT USAGE ON SCHEMA actual_state TO %s`, role),
		fmt.Sprintf(`GRANT SELECT ON ALL TABLES IN SCHEMA actual_state TO %s`, role),
		fmt.Sprintf(`CREATE PUBLICATION %s FOR TABLE %s`, pub, strings.Join(tables, ", ")),
	} {
		if _, err := e.pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		admin, err := pgx.Connect(cctx, testenv.PostgresAdminDSN(t))
		if err != nil {
			return
		}
		defer admin.Close(cctx)
		// After the test database is dropped (cleanups run last-in first-out,
		// so this runs first: drop what the role owns in it, then the role).
		_, _ = admin.Exec(cctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
		_, _ = e.pool.Exec(cctx, fmt.Sprintf(`DROP OWNED BY %s`, role))
		_, _ = admin.Exec(cctx, fmt.Sprintf(`DROP ROLE IF EXISTS %s`, role))
	})

	tlsParams := map[string]string{"sslmode": "verify-full", "sslrootcert": ca}
	storeDSN := withParams(t, e.dsn, role, tlsParams)
	pgMirror := withParams(t, testenv.NewPostgresDB(t, "tls_mirror"), "", tlsParams)

	// MariaDB: a user the server admits only over TLS.
	myAdmin := testenv.MySQLAdminDSN(t)
	myDSN := testenv.NewMySQLDB(t, "tls_mirror")
	mydb, err := sql.Open("mysql", myAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer mydb.Close()
	myName := myDSN[strings.LastIndex(myDSN, "/")+1:]
	if i := strings.IndexByte(myName, '?'); i >= 0 {
		myName = myName[:i]
	}
	myUser := role
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' REQUIRE SSL", myUser),
		fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1'", myName, myUser),
	} {
		if _, err := mydb.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { _, _ = mydb.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'127.0.0.1'", myUser)) })
	myTLSDSN := strings.Replace(myDSN, "root@", myUser+"@", 1)
	if myTLSDSN == myDSN {
		t.Fatalf("cannot put user %s into the MySQL DSN %s", myUser, myDSN)
	}

	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(base), "dsn: "+e.dsn, "dsn: "+storeDSN, 1)
	cfg = strings.Replace(cfg, "capture:\n", "capture:\n  publication: "+pub+"\n", 1)
	cfg += fmt.Sprintf(`mirrors:
  - name: pg
    dialect: postgres
    dsn: %s
    mode: actual
  - name: mariadb
    dialect: mysql
    dsn: %s
    tls_ca_file: %s
    mode: actual
`, pgMirror, myTLSDSN, ca)
	path := e.dir + "/tls.yaml"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.spawn("capture", "--config", path)
	e.spawn("sink", "mirror", "--config", path, "--target", "pg")
	e.spawn("sink", "mirror", "--config", path, "--target", "mariadb")
	e.waitSnapshot()
	e.waitCaptured()

	var want int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM actual_state.bruger`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	pgm, err := pgxpool.New(ctx, pgMirror)
	if err != nil {
		t.Fatal(err)
	}
	defer pgm.Close()
	mym, err := sql.Open("mysql", myDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer mym.Close()
	count := map[string]func() (int, error){
		"pg": func() (n int, err error) {
			return n, pgm.QueryRow(ctx, `SELECT count(DISTINCT uuid) FROM brugere`).Scan(&n)
		},
		"mariadb": func() (n int, err error) {
			return n, mym.QueryRowContext(ctx, "SELECT count(DISTINCT uuid) FROM brugere").Scan(&n)
		},
	}
	for name, f := range count {
		for deadline := time.Now().Add(3 * time.Minute); ; {
			n, err := f()
			if err == nil && n == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mirror %s has %d persons (err %v), the MO store %d; log: %s", name, n, err, want, e.tail("sink"))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	// The server's view: capture's replication connection and the
	// PostgreSQL mirror's connections are encrypted.
	var walsenders, plain int
	if err := e.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE a.backend_type = 'walsender'), count(*) FILTER (WHERE NOT s.ssl)
		FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
		WHERE a.usename = $1`, role).Scan(&walsenders, &plain); err != nil {
		t.Fatal(err)
	}
	if walsenders != 1 || plain != 0 {
		t.Errorf("capture's role %s: %d walsenders, %d connections without TLS; want 1 walsender and all over TLS", role, walsenders, plain)
	}
	mirrorDB := pgMirror[strings.LastIndex(pgMirror, "/")+1:]
	mirrorDB = mirrorDB[:strings.IndexByte(mirrorDB, '?')]
	var conns int
	if err := e.pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE NOT s.ssl)
		FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1`, mirrorDB).Scan(&conns, &plain); err != nil {
		t.Fatal(err)
	}
	if conns == 0 || plain != 0 {
		t.Errorf("PostgreSQL mirror database %s: %d connections, %d without TLS; want all over TLS", mirrorDB, conns, plain)
	}
}
