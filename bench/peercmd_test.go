//go:build benchpeer

package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// `go run ./bench peer` in a short form, so that the command cannot rot:
// one run, a small backlog and one short window per Debezium configuration.
// It takes two to four minutes on the shared 2-core machine (two Kafka
// Connect JVMs start), too long for `make test`: `make bench` runs it
// (build tag benchpeer) before the full comparison.
func TestPeerCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "github.com/os2mo-cdc/mocdc/bench", "peer",
		"-runs", "1", "-persons", "200", "-backlog", "2000", "-rates", "100", "-duration", "5s", "-warmup", "2s")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./bench peer: %v\n%s", err, out)
	}
	s := string(out)
	header := "| | mocdc | Debezium (defaults) | Debezium (poll.interval.ms=20) | pg_recvlogical |"
	if !strings.Contains(s, header) {
		t.Fatalf("no comparison table (want the header %q):\n%s", header, s)
	}
	num := `[0-9][0-9.]*`
	ratio := ` = ` + num + `×`
	for _, want := range []string{
		// capture, Debezium (defaults) with its ratio, no tuned backlog, pg_recvlogical with its ratio
		`\| backlog drain, MO changes/s \| ` + num + ` \| ` + num + ratio + ` \| — \| ` + num + ratio + ` \|`,
		`\| commit→Kafka p99 at 100/s, ms \| ` + num + ` \| ` + num + ratio + ` \| ` + num + ratio + ` \| — \|`,
		`\| CPU s per 1,000 MO changes: steady 100/s \| ` + num + ` \| ` + num + ratio + ` \| ` + num + ratio + ` \| — \|`,
		`\| peak RSS, MiB \| ` + num + ` \| ` + num + ratio + ` \| ` + num + ratio + ` \| — \|`,
		`Load average during the run: `,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the report lacks a line matching %s:\n%s", want, s)
		}
	}
	// Nothing left behind: the scenario's database, slots and topics.
	m := regexp.MustCompile(`scenario: database (\S+), topics (\S+)\.\*, slots (\S+)\*`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("the report does not name the scenario's database, topics and slots:\n%s", s)
	}
	conn, err := pgx.Connect(ctx, os.Getenv("MOCDC_TEST_PG_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) + (SELECT count(*) FROM pg_replication_slots WHERE starts_with(slot_name, $2))`, m[1], m[3]).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s or slots %s* left behind (%d, %v)", m[1], m[3], n, err)
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(os.Getenv("MOCDC_TEST_KAFKA")))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	topics, err := kadm.NewClient(kc).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, m[2]+".") {
			t.Errorf("topic %s left behind", name)
		}
	}
}
