package capture

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/policy"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// TestCapturePolicyADTitleAtMidnight: an engagement's export title follows
// its person's AD IT user in time. The AD IT user starts in two days:
// until then the title is the job function's name; when the injected
// clock passes the boundary, capture's tick of the IT user republishes the
// engagement with the AD title; deleting the IT user brings the name back.
func TestCapturePolicyADTitleAtMidnight(t *testing.T) {
	e := newEnv(t)
	e.seed(10)
	w, cat := e.writer()
	ctx := context.Background()
	start := time.Now().In(mo.Location)
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }

	person, eng, it := uuid.NewString(), uuid.NewString(), uuid.NewString()
	always := mo.Validity{From: ptr(day(start, -30))}
	if err := w.Create(ctx, mo.Person, person, always, writer.Fields{"user_key": "p", "given_name": "A", "surname": "B", "cpr_number": "0101901234"}, actor); err != nil {
		t.Fatal(err)
	}
	if err := w.Create(ctx, mo.Engagement, eng, always, writer.Fields{"user_key": "E", "person": person, "org_unit": cat.Units[0].UUID,
		"engagement_type": demo.ClassUUID(demo.FacetEngagementType, "ansat"), "job_function": demo.ClassUUID(demo.FacetJobFunction, "laerer"),
		"primary": demo.ClassUUID(demo.FacetPrimaryType, "primary"), "extension_2": "Skoleudvikler"}, actor); err != nil {
		t.Fatal(err)
	}
	if err := w.Create(ctx, mo.ITUser, it, mo.Validity{From: ptr(day(start, 2))}, writer.Fields{"user_key": "ab", "itsystem": demo.ITSystemAD, "person": person}, actor); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	c := e.policyCapture(now, &policy.Config{SensitiveJobFunctions: []string{"fleksjob"}, ADITSystems: []string{"AD"}}, reg)
	e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)

	title := func(want string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			var last *event.Envelope
			for _, ev := range e.readObjects(1, 5*time.Second).events {
				if ev.UUID == eng {
					last = ev
				}
			}
			var got any
			if last != nil && last.Object != nil {
				if v := last.Object.At(mo.Period{From: now()}); v != nil {
					got = v.Fields["export_title"]
				}
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("engagement's export title %v, want %q (last event %s %s)", got, want, opOf(last), idOf(last))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	title("Lærer") // the AD IT user has not started
	clock.Store(start.AddDate(0, 0, 3).UnixNano())
	title("Skoleudvikler") // it has: primary, AD IT user, AD title
	if err := w.Delete(ctx, mo.ITUser, it, actor); err != nil {
		t.Fatal(err)
	}
	title("Lærer")
	if n := metricValue(t, reg, "mocdc_capture_policy_republished_total"); n < 2 {
		t.Errorf("mocdc_capture_policy_republished_total = %v, want at least 2 (the AD IT user came and went)", n)
	}
}

// metricValue is the value of a counter or gauge on reg (0 when absent).
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	return 0
}

// policyCapture is a Capture on the env with the policy pol (nil: none)
// and its metrics on reg (nil: a registry of its own).
func (e *env) policyCapture(now func() time.Time, pol *policy.Config, reg ...prometheus.Registerer) *Capture {
	e.t.Helper()
	replCfg, err := pgconn.ParseConfig(e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := Config{Slot: e.slot, Publication: "mocdc", Heartbeat: 200 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}
	cfg.Topics.Partitions = 3
	var registry prometheus.Registerer
	if len(reg) > 0 {
		registry = reg[0]
	}
	c, err := New(cfg, Deps{Pool: e.pool, ReplicationConfig: replCfg, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, Topics: e.topics, Registry: registry,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Now: now, Policy: pol})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestCapturePolicyConfigChangeAndPurge: a class that becomes sensitive
// by a configuration change is withheld from every later event, while what
// was published before stays; the purge docs/events.md describes (delete
// the object, dead-letter and checkpoint topics, drop the slot, restart)
// leaves no event that names it.
func TestCapturePolicyConfigChangeAndPurge(t *testing.T) {
	e := newEnv(t)
	e.seed(10)
	w, cat := e.writer()
	ctx := context.Background()
	eng := uuid.NewString()
	from := mo.Date("2024-01-01")
	if err := w.Create(ctx, mo.Engagement, eng, mo.Validity{From: &from}, writer.Fields{"user_key": "E", "person": cat.Persons[0].UUID, "org_unit": cat.Units[0].UUID,
		"engagement_type": demo.ClassUUID(demo.FacetEngagementType, "ansat"), "job_function": demo.JobFunctionFleksjob, "extension_1": "Fleksjob, Rådhuset"}, actor); err != nil {
		t.Fatal(err)
	}
	names := func(ev *event.Envelope) bool {
		raw, _ := ev.Marshal()
		l := strings.ToLower(string(raw))
		return strings.Contains(l, demo.JobFunctionFleksjob) || strings.Contains(l, "fleksjob")
	}
	events := func(after int) []*event.Envelope {
		var out []*event.Envelope
		for _, ev := range e.readObjects(after, 20*time.Second).events {
			if ev.Type != mo.Class && ev.Object != nil {
				out = append(out, ev)
			}
		}
		return out
	}
	leaking := func(evs []*event.Envelope) (n int) {
		for _, ev := range evs {
			if names(ev) {
				n++
			}
		}
		return n
	}

	// 1. Without a policy the class is published with the engagement.
	stop := e.start(e.policyCapture(nil, nil))
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)
	if n := leaking(events(1)); n == 0 {
		t.Fatal("without a policy no event names the class: the check below could not fail")
	}
	stop()

	// 2. With the class made sensitive, the next event of the engagement
	// withholds it; the earlier one is still on the topic.
	pol := &policy.Config{SensitiveJobFunctions: []string{"fleksjob"}}
	reg := prometheus.NewRegistry()
	stop = e.start(e.policyCapture(nil, pol, reg))
	if err := w.Update(ctx, mo.Engagement, eng, mo.Validity{From: &from}, writer.Fields{"extension_4": "opdateret"}, actor); err != nil {
		t.Fatal(err)
	}
	e.waitCaughtUp(time.Minute)
	var last *event.Envelope
	evs := events(1)
	for _, ev := range evs {
		if ev.UUID == eng {
			last = ev
		}
	}
	if last == nil || last.Op != event.Update || names(last) || fmt.Sprint(last.Object.Validities[0].Fields["withheld"]) != "[extension_1 job_function]" {
		t.Fatalf("the engagement's event after the change: %+v", last)
	}
	if leaking(evs) == 0 {
		t.Fatal("the events published before the change are gone: the purge below proves nothing")
	}
	if n := metricValue(t, reg, "mocdc_capture_policy_withheld_events_total"); n < 1 {
		t.Errorf("mocdc_capture_policy_withheld_events_total = %v after a withheld event", n)
	}
	stop()

	// 3. The purge, as docs/events.md says.
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	drop := append(append([]string{}, e.topics.Objects()...), e.topics.DeadLetter(), e.topics.Checkpoint())
	resp, err := adm.DeleteTopics(ctx, drop...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		listed, err := adm.ListTopics(ctx, drop...)
		var left []string
		for name, d := range listed {
			if d.Err == nil {
				left = append(left, name)
			}
		}
		if err == nil && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics not deleted within a minute: %v (%v)", left, err)
		}
	}
	if _, err := e.pool.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, e.slot); err != nil {
		t.Fatal(err)
	}
	e.start(e.policyCapture(nil, pol))
	e.waitSlot(time.Minute)
	e.waitCaughtUp(2 * time.Minute)
	evs = events(1)
	if n := leaking(evs); n != 0 || len(evs) == 0 {
		t.Fatalf("after the purge %d of %d events name the class", n, len(evs))
	}
}

func opOf(e *event.Envelope) string {
	if e == nil {
		return "-"
	}
	return string(e.Op)
}

func idOf(e *event.Envelope) string {
	if e == nil {
		return "-"
	}
	return fmt.Sprint(e.ID)
}
