package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// TestFirstStartAlertsWithTheWholeView: at its first start the sink finds
// the topics full (capture's snapshot) and an IT user's update committed
// just after its start mark (here: a clock ahead). Its person and role
// binding are on other topics, behind thousands of other persons. The
// alert names the person and lists the role: the sink judges it with
// everything already published in its view, not with whatever partition
// it happened to read first (the chaos run mailed "Navn: " and no roles).
func TestFirstStartAlertsWithTheWholeView(t *testing.T) {
	host, port, dir := localSMTP(t)
	brokers := testenv.KafkaBrokers(t)
	topics := event.Topics{Prefix: testenv.UniqueTopicPrefix(t)}
	cfg := Config{Sender: "os2mo@kommune.dk", Receivers: []string{fmt.Sprintf("alerts@f%d.test", rand.Uint64())},
		SMTP: SMTPConfig{Host: host, Port: port, Security: "none"}}
	cfg.Defaults()
	cfg.Names(topics)
	var names []string
	for _, typ := range viewTypes {
		names = append(names, topics.Object(typ))
	}
	testenv.CreateTopics(t, 1, nil, names...)
	testenv.CreateTopics(t, 1, nil, cfg.StateTopic, topics.DeadLetter())

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const (
		sys, itu, rb, role = "00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000a2", "00000000-0000-4000-8000-0000000000a3", "00000000-0000-4000-8000-0000000000a4"
		person             = "00000000-0000-4000-8000-0000000000a5"
	)
	start := time.Now()
	snap := func(typ mo.Type, uuid string, fields map[string]any) *kgo.Record {
		from := mo.Date("2020-01-01")
		e := event.Envelope{Version: 1, ID: "snap/" + uuid, Op: event.Snapshot, Type: typ, UUID: uuid,
			Source: event.Source{CommitTime: start.Add(-time.Hour)},
			Object: &mo.Object{Type: typ, UUID: uuid, Validities: []mo.Version{{Validity: mo.Validity{From: &from}, Fields: fields}}}}
		e.Object.Validities[0].Period = e.Object.Validities[0].Validity.Period()
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topics.Object(typ), Key: []byte(uuid), Value: b}
	}
	var recs []*kgo.Record
	for i := 0; i < 5000; i++ {
		recs = append(recs, snap(mo.Person, fmt.Sprintf("00000000-0000-4000-9000-%012d", i), map[string]any{"name": strings.Repeat("Fyld ", 400)}))
	}
	recs = append(recs,
		snap(mo.Person, person, map[string]any{"name": "Anna Jensen", "given_name": "Anna", "surname": "Jensen"}),
		snap(mo.ITSystem, sys, map[string]any{"name": "Active Directory", "user_key": "Active Directory"}),
		snap(mo.Class, role, map[string]any{"name": "Sagsbehandler", "user_key": "sagsbehandler"}),
		snap(mo.RoleBinding, rb, map[string]any{"ituser": itu, "role": role}))
	upd := snap(mo.ITUser, itu, map[string]any{"person": person, "user_key": "anje1", "itsystem": sys})
	e, _ := event.Decode(upd.Value)
	e.Op, e.ID, e.Source.CommitTime = event.Update, "reg/organisationfunktion/1", start.Add(time.Hour)
	upd.Value, _ = e.Marshal()
	recs = append(recs, upd)
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	s, err := New(cfg, Deps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: topics, Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() { stop(); <-done }()

	var mails []string
	for deadline := time.Now().Add(90 * time.Second); len(mails) == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		mails = mailsTo(dir, cfg.Receivers[0])
	}
	if len(mails) != 1 {
		t.Fatalf("%d mails to %s, want the one alert of the IT user's update", len(mails), cfg.Receivers[0])
	}
	text := decodeQPText(mails[0])
	for _, want := range []string{"Navn: Anna Jensen", "Brugernavn: anje1", "- Sagsbehandler"} {
		if !strings.Contains(text, want) {
			t.Errorf("the alert does not say %q:\n%s", want, text)
		}
	}
}

// decodeQPText undoes the quoted-printable soft breaks and the escapes of
// the few characters the test looks for.
func decodeQPText(s string) string {
	s = strings.ReplaceAll(s, "=\r\n", "")
	s = strings.ReplaceAll(s, "=\n", "")
	return strings.ReplaceAll(s, "=20", " ")
}

// A session that starts after a first batch committed some partitions and
// not others reads those others to their ends too (and Handle does not
// apply them again): the view never lacks a partition's objects.
func TestWarmRanges(t *testing.T) {
	committed := outbox.Offsets{"mo.manager": {0: 12}, "mo.org_unit": {}}
	ends := outbox.Offsets{"mo.manager": {0: 20, 1: 7}, "mo.org_unit": {0: 40}}
	upTo, skip := warmRanges(committed, ends)
	want := outbox.Offsets{"mo.manager": {0: 12, 1: 7}, "mo.org_unit": {0: 40}}
	wantSkip := outbox.Offsets{"mo.manager": {1: 7}, "mo.org_unit": {0: 40}}
	if fmt.Sprint(upTo) != fmt.Sprint(want) || fmt.Sprint(skip) != fmt.Sprint(wantSkip) {
		t.Errorf("warmRanges = %v, skip %v; want %v, skip %v", upTo, skip, want, wantSkip)
	}
}
