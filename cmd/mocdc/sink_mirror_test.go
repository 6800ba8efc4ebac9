package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

func TestMirrorTargetSelection(t *testing.T) {
	files := map[string]string{"/run/secrets/bi": "postgres://bi:hemmelig@db:5432/mirror\n"}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	two := &Config{Mirrors: []mirror.Config{
		{Name: "bi", Dialect: "postgres", DSNFile: "/run/secrets/bi"},
		{Name: "dwh", Dialect: "mysql", DSN: "root@tcp(db:3306)/mirror", Mode: mirror.Historic},
	}}
	mc, err := mirrorTarget(two, "bi", read)
	if err != nil {
		t.Fatal(err)
	}
	if mc.DSN != "postgres://bi:hemmelig@db:5432/mirror" || mc.Group != "mocdc-mirror-bi" || mc.Mode != mirror.Actual || mc.Batch.MaxRecords != 5000 {
		t.Fatalf("target bi: %+v", mc)
	}
	for _, c := range []struct {
		cfg  *Config
		name string
		want string
	}{
		{two, "", "pick one with --target"},
		{two, "nope", `no target called "nope"; the configured targets are: bi, dwh`},
		{&Config{}, "bi", "no mirror target is configured"},
		{&Config{Mirrors: []mirror.Config{{Name: "x", Dialect: "oracle", DSN: "d"}}}, "x", `dialect "oracle": use postgres, mysql (also for MariaDB) or mssql`},
		{&Config{Mirrors: []mirror.Config{{Name: "x", Dialect: "postgres", DSNFile: "/missing"}}}, "x", "dsn_file"},
		{&Config{Mirrors: []mirror.Config{{Name: "x", Dialect: "postgres", DSN: "d"}, {Name: "x", Dialect: "mysql", DSN: "d"}}}, "x", "names must be unique"},
	} {
		if _, err := mirrorTarget(c.cfg, c.name, read); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("target %q: error %v, want one that says %q", c.name, err, c.want)
		}
	}
	if mc, err := mirrorTarget(&Config{Mirrors: two.Mirrors[1:]}, "", read); err != nil || mc.Name != "dwh" {
		t.Errorf("the only target is picked without --target: %v %v", mc.Name, err)
	}
}

// `mocdc sink mirror` from a YAML file: an event on Kafka becomes a row in
// the target, and SIGTERM (a cancelled context) stops it cleanly.
func TestSinkMirrorCommand(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueTopicPrefix(t) + "mo"
	dsn := testenv.NewPostgresDB(t, "cmdmirror")
	topics := event.Topics{Prefix: prefix}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, typ := range mirror.Mirrored {
		testenv.CreateTopics(t, 2, nil, topics.Object(typ))
	}
	testenv.CreateTopics(t, 1, nil, topics.DeadLetter())
	path := filepath.Join(t.TempDir(), "mocdc.yaml")
	yaml := fmt.Sprintf(`kafka:
  brokers: [%q]
  topic_prefix: %s
mirrors:
  - name: bi
    dialect: postgres
    dsn: ${MOCDC_CMD_TEST_MIRROR_DSN}
    mode: actual
    group: %s-bi
    batch:
      max_wait: 20ms
`, brokers[0], prefix, prefix)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MOCDC_CMD_TEST_MIRROR_DSN", dsn)

	person := "2f6c1f0e-4c1b-4b6e-9a0e-3d2f1c0b9a87"
	d := mo.Date("1990-01-01")
	env := &event.Envelope{Version: event.Version, ID: "cmd/1", Op: event.Create, Type: mo.Person, UUID: person,
		Source: event.Source{CommitTime: time.Now()}, Changed: []string{},
		Object: &mo.Object{Type: mo.Person, UUID: person, Validities: []mo.Version{{Validity: mo.Validity{From: &d},
			Fields: map[string]any{"user_key": "aa", "given_name": "Åse", "surname": "Ærø-Søndergård"}}}}}
	v, _ := env.Marshal()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Object(mo.Person), Key: []byte(person), Value: v}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- dispatch(runCtx, slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"sink", "mirror", "--config", path, "--target", "bi"})
	}()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	for deadline := time.Now().Add(time.Minute); ; {
		err := db.QueryRowContext(ctx, `SELECT fornavn || ' ' || efternavn FROM brugere WHERE uuid = $1`, person).Scan(&got)
		if err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("mocdc sink mirror ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no row in brugere: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != "Åse Ærø-Søndergård" {
		t.Fatalf("brugere row %q", got)
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("mocdc sink mirror did not stop cleanly: %v", err)
	}
}
