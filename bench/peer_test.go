package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/source"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// The peer runs on the Kafka line of our broker, with the broker's logging
// jars: the versions here and in deploy/local/services must not drift.
func TestConnectVersionsAreTheBrokers(t *testing.T) {
	b, err := os.ReadFile("../deploy/local/services")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		`KAFKA_VERSION=\$\{MOCDC_KAFKA_VERSION:-([^}]+)\}`: connectVersion,
		`LOG4J_VERSION=(\S+)`:                              log4jVersion,
		`SLF4J_VERSION=(\S+)`:                              slf4jVersion,
	} {
		m := regexp.MustCompile(`(?m)^` + name).FindSubmatch(b)
		if m == nil {
			t.Fatalf("deploy/local/services has no line %s", name)
		}
		if string(m[1]) != want {
			t.Errorf("deploy/local/services sets %s, bench/connect.go has %s: keep them equal", m[0], want)
		}
	}
}

// The pieces of `go run ./bench peer` that involve Debezium (the whole
// command runs in `make bench`, TestPeerCommand): the jars resolve from
// Maven Central (or the cache), a Kafka Connect standalone worker runs the
// PostgreSQL connector on its own slot and publication of an MO store, a
// probe rename reaches the Debezium topic as a JSON envelope without
// schemas, and stopping it leaves no slot, topic or database behind.
func TestDebeziumStreamsAProbeRename(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	jars := newConnectJars()
	if err := jars.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := newLabWith(ctx, "peertest", false)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			l.close()
		}
	}()
	if _, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: 20}); err != nil {
		t.Fatal(err)
	}
	if err := l.withConn(ctx, func(c *pgx.Conn) error { return source.EnsurePublication(ctx, c, "bench_debezium") }); err != nil {
		t.Fatal(err)
	}
	slot := l.slot + "_dbztest"
	if err := l.createSlot(ctx, slot); err != nil {
		t.Fatal(err)
	}
	dz, err := l.newDebezium(jars, "Debezium (defaults)", "t", slot, "bench_debezium", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.createTopic(ctx, dz.topic); err != nil {
		t.Fatal(err)
	}
	org, err := l.organisation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &prober{w: writer.New(store.NewWriter(l.pool), writer.SQLScopes{DB: l.pool}, org), uuid: newUUID(), lsn: l.walFlush}
	if err := p.create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.once(ctx); err != nil { // Latency-1, in the slot before the worker starts
		t.Fatal(err)
	}
	cl, err := l.topicConsumer(dz.topic, kgo.NewOffset().AtStart())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	t.Logf("store ready, starting Kafka Connect (%s)", load())
	if err := dz.start(ctx, 4*time.Minute); err != nil {
		if dz.child != nil {
			dz.halt()
		}
		t.Fatal(err)
	}
	var event map[string]any
	for event == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if strings.Contains(string(r.Value), `"Latency-1"`) && event == nil {
				if err := json.Unmarshal(r.Value, &event); err != nil {
					t.Fatalf("Debezium's value is not JSON: %v: %s", err, r.Value)
				}
			}
		})
	}
	t.Logf("event seen (%s)", load())
	rss := dz.halt()
	if event == nil {
		t.Fatalf("the rename to Latency-1 never reached %s; connect log:\n%s", dz.topic, dz.logTail(30))
	}
	if _, ok := event["schema"]; ok {
		t.Errorf("the JSON converter sent schemas: %v", event)
	}
	after, _ := event["after"].(map[string]any)
	if after["efternavn"] != "Latency-1" || event["op"] != "c" {
		t.Errorf("want an insert (op c) of bruger_attr_udvidelser with efternavn Latency-1, got op %v after %v", event["op"], after)
	}
	if rss <= 0 {
		t.Errorf("peak RSS of the worker not sampled")
	}
	l.dropSlot(ctx, slot)
	l.close()
	closed = true

	admin, err := pgx.Connect(ctx, l.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var left int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, l.db).Scan(&left); err != nil || left != 0 {
		t.Errorf("database %s left behind (%d, %v)", l.db, left, err)
	}
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&left); err != nil || left != 0 {
		t.Errorf("slot %s left behind (%d, %v)", slot, left, err)
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(l.brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	topics, err := kadm.NewClient(kc).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, l.prefix+".") {
			t.Errorf("topic %s left behind", name)
		}
	}
}
