package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// TestScope runs a notify sink scoped to the line organisation (and not
// the subtree of X) against real Kafka and OpenSMTPD: a vacant manager
// post and a unit missing its relation alert only inside the scope. B
// relabelled to the line organisation alerts for B and, from then on, for
// its managers; P moved out of X's subtree alerts for P and for Q below it
// (the unit rule judges the subtree that came in); A relabelled out of the
// line organisation alerts no more.
func TestScope(t *testing.T) {
	host, port, dir := localSMTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	domain := fmt.Sprintf("scope%d.test", rand.Uint64())
	topics := event.Topics{Prefix: testenv.UniqueTopicPrefix(t) + "mo"}
	kopts := []kgo.Opt{kgo.SeedBrokers(testenv.KafkaBrokers(t)...)}
	testenv.CreateTopics(t, 2, nil, topics.Objects()...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seq := 0
	publish := func(typ mo.Type, uuid string, fields map[string]any, changed ...string) {
		t.Helper()
		seq++
		from := mo.Date("2020-01-01")
		val := mo.Validity{From: &from}
		e := &event.Envelope{Version: event.Version, ID: fmt.Sprintf("test/%s/%d", uuid, seq), Op: event.Update, Type: typ, UUID: uuid,
			Source: event.Source{CommitTime: time.Now()}, Changed: changed,
			Object: &mo.Object{Type: typ, UUID: uuid, Validities: []mo.Version{{Validity: val, Period: val.Period(), Fields: fields}}}}
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Object(typ), Key: []byte(uuid), Value: b}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	id := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	line, self := id(1), id(2)
	uR, uA, uB, uX, uP, uQ := id(10), id(11), id(12), id(13), id(14), id(15)
	names := map[string]string{uR: "R", uA: "A", uB: "B", uX: "X", uP: "P", uQ: "Q"}
	unit := func(u, parent, label string, changed ...string) {
		f := map[string]any{"user_key": names[u], "name": "Enhed " + names[u], "org_unit_hierarchy": label}
		if parent != "" {
			f["parent"] = parent
		}
		publish(mo.OrgUnit, u, f, changed...)
	}
	publish(mo.Class, line, map[string]any{"user_key": "linjeorg", "name": "Linjeorganisation"})
	publish(mo.Class, self, map[string]any{"user_key": "selvejet", "name": "Selvejet"})

	cfg := Config{Sender: "os2mo@kommune.dk", Receivers: []string{"leder@" + domain},
		SMTP:  SMTPConfig{Host: host, Port: port, Security: "none"},
		Rules: []Rule{{Name: "missing_relation", Enabled: ptr(true), Params: map[string]any{"root_loen_org": uR}}},
		Scope: scope.Config{Labels: []string{"linjeorg"}, Exclude: []string{uX}}}
	cfg.Defaults()
	cfg.PerMinute = 0
	cfg.Names(topics)
	s, err := New(cfg, Deps{KafkaOpts: kopts, Topics: topics, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("notify: %v", err)
		}
	}()
	waitUntil(t, "the sink's start mark", func() bool { return s.Stats().Batches > 0 })

	// settle waits until every published event is committed and mailed,
	// and returns the alerts mailed: "rule/object".
	adm := kadm.NewClient(cl)
	settle := func(what string) []string {
		t.Helper()
		waitUntil(t, what, func() bool {
			committed, err := adm.FetchOffsets(ctx, cfg.GroupID)
			if err != nil {
				return false
			}
			ends, err := adm.ListEndOffsets(ctx, topics.Objects()...)
			if err != nil {
				return false
			}
			ok := true
			ends.Each(func(o kadm.ListedOffset) {
				if c, found := committed.Lookup(o.Topic, o.Partition); o.Offset > 0 && (!found || c.At < o.Offset) {
					ok = false
				}
			})
			return ok && s.Stats().Pending == 0
		})
		var out []string
		for _, m := range mailsTo(dir, "leder@"+domain) {
			for _, line := range strings.Split(m, "\n") {
				if k, ok := strings.CutPrefix(strings.TrimSpace(line), "X-Mocdc-Alert-Key: "); ok {
					parts := strings.Split(k, "/")
					out = append(out, parts[0]+"/"+names[parts[1]]+parts[1][len(parts[1])-2:])
				}
			}
		}
		sort.Strings(out)
		return out
	}
	want := func(got []string, want ...string) {
		t.Helper()
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("alerts mailed:\n got %v\nwant %v", got, want)
		}
	}
	label := func(u string) string { return names[u] + u[len(u)-2:] }
	mgr := func(n int) string { return id(n)[len(id(n))-2:] }

	unit(uR, "", line)
	unit(uA, uR, line)
	unit(uB, uR, self)
	unit(uX, uR, line)
	unit(uP, uX, line)
	unit(uQ, uP, line)
	publish(mo.Manager, id(20), map[string]any{"user_key": "m20", "org_unit": uA})
	publish(mo.Manager, id(21), map[string]any{"user_key": "m21", "org_unit": uB})
	got := settle("the first units and managers")
	want(got, "missing_relation/"+label(uR), "missing_relation/"+label(uA), "manager_removal/"+mgr(20))

	unit(uB, uR, line, "org_unit_hierarchy")
	unit(uP, uR, line, "parent")
	publish(mo.Manager, id(22), map[string]any{"user_key": "m22", "org_unit": uB})
	got = settle("B relabelled, P moved")
	want(got, "missing_relation/"+label(uR), "missing_relation/"+label(uA), "manager_removal/"+mgr(20),
		"missing_relation/"+label(uB), "missing_relation/"+label(uP), "missing_relation/"+label(uQ), "manager_removal/"+mgr(22))

	unit(uA, uR, self, "org_unit_hierarchy")
	publish(mo.Manager, id(23), map[string]any{"user_key": "m23", "org_unit": uA})
	got = settle("A relabelled out")
	want(got, "missing_relation/"+label(uR), "missing_relation/"+label(uA), "manager_removal/"+mgr(20),
		"missing_relation/"+label(uB), "missing_relation/"+label(uP), "missing_relation/"+label(uQ), "manager_removal/"+mgr(22))
	if n := testutil.ToFloat64(s.h.m.outside.WithLabelValues("manager_removal")); n < 2 {
		t.Errorf("mocdc_notify_out_of_scope_total{rule=manager_removal} = %v, want at least 2 (m21, m23)", n)
	}
}

func ptr[T any](x T) *T { return &x }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 90 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestScopePersons: with scope.persons an IT user of a person is judged by
// the person's engagements (read from mo.engagement): outside while its
// only engagement is in the excluded subtree, inside once one is not.
func TestScopePersons(t *testing.T) {
	v := testView()
	v.objs[mo.Engagement] = map[string]*mo.Object{} // what New adds with scope.persons
	v.put(mo.Engagement, "e1", obj(mo.Engagement, "e1", "2020-01-01", "", f{"person": "p1", "org_unit": "c"}))
	it := obj(mo.ITUser, "it1", "2026-12-01", "", f{"person": "p1", "itsystem": "sys-ad", "user_key": "anna"})
	v.put(mo.ITUser, "it1", it)
	ev := &evaluator{v: v, now: day("2026-12-03"), today: "2026-12-03", scope: scope.New(scope.Config{Exclude: []string{"x"}, Persons: true})}
	var rule *compiled
	for _, r := range mergeRules(nil) {
		if r.Name == "ituser" {
			c, err := compile(r, ev.funcs())
			if err != nil {
				t.Fatal(err)
			}
			rule = c
		}
	}
	d, err := ev.decide(rule, eventInfo{Type: mo.ITUser, UUID: "it1"}, "it1")
	if err != nil || !d.outside || d.alert {
		t.Fatalf("engaged only below the excluded x: outside %v alert %v (%v), want outside", d.outside, d.alert, err)
	}
	v.put(mo.Engagement, "e2", obj(mo.Engagement, "e2", "2020-01-01", "", f{"person": "p1", "org_unit": "b"}))
	if d, err = ev.decide(rule, eventInfo{Type: mo.ITUser, UUID: "it1"}, "it1"); err != nil || d.outside || !d.alert {
		t.Fatalf("engaged in b too: outside %v alert %v (%v), want an alert", d.outside, d.alert, err)
	}
	if ts := ConsumedTopics(Config{Scope: scope.Config{Persons: true}}, event.Topics{Prefix: "mo"}); !strings.Contains(strings.Join(ts, ","), "mo.engagement") {
		t.Errorf("scope.persons: the sink does not consume mo.engagement: %v", ts)
	}
}
