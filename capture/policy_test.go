package capture

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
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

	replCfg, err := pgconn.ParseConfig(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Slot: e.slot, Publication: "mocdc", Heartbeat: 200 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}
	cfg.Topics.Partitions = 3
	c, err := New(cfg, Deps{Pool: e.pool, ReplicationConfig: replCfg, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, Topics: e.topics,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Now: now,
		Policy: &policy.Config{SensitiveJobFunctions: []string{"fleksjob"}, ADITSystems: []string{"AD"}}})
	if err != nil {
		t.Fatal(err)
	}
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
