package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/capture"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/notify"
)

// fakeClock is time.Now moved forward by an offset the test sets.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

var alertDate = regexp.MustCompile(`(?:Vakant fra|Slutdato på engagement): (\d{4}-\d{2}-\d{2})`)

// TestNotifyFutureDatedOnTheDay runs capture and the notify sink in this
// process on one injected clock. Churn removes managers with end dates up
// to 45 days ahead (and vacates some today): no manager mail is about a
// date after the clock's day; when the clock moves 60 days on, capture's
// ticks bring the future-dated removals and each is mailed then, once.
func TestNotifyFutureDatedOnTheDay(t *testing.T) {
	// The two notify end-to-end tests run side by side (own databases,
	// topics and mail domains) to keep the suite's wall time down.
	t.Parallel()
	dir := maildir(t)
	domain := fmt.Sprintf("c%d.test", rand.Uint64())
	e := newE2E(t, 40, notifyConfig(domain, os.Getenv("MOCDC_TEST_SMTP")))
	cfg, err := LoadConfig(e.config)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	replCfg, err := pgconn.ParseConfig(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(cfg.Capture, capture.Deps{Pool: e.pool, ReplicationConfig: replCfg, KafkaOpts: e.kafka(),
		Topics: event.Topics{Prefix: e.prefix}, Logger: log, Registry: prometheus.NewRegistry(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	capDone := make(chan error, 1)
	go func() { capDone <- c.Run(ctx) }()
	e.waitSnapshot()

	s, err := notify.New(*cfg.Notify, notify.Deps{KafkaOpts: e.kafka(), Topics: event.Topics{Prefix: e.prefix},
		Logger: log, Registry: prometheus.NewRegistry(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	sinkDone := make(chan error, 1)
	go func() { sinkDone <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-sinkDone; err != nil {
			t.Errorf("notify: %v", err)
		}
		if err := <-capDone; err != nil {
			t.Errorf("capture: %v", err)
		}
	})
	waitFor(t, 2*time.Minute, "the sink's start mark", func() bool { return s.Stats().Batches > 0 })

	today0 := string(mo.DateOf(clock.Now()))
	opts := notifyChurn(11, 0, 0, 80, time.Time{})
	opts.Weights["manager_terminate"] = 60
	opts.Weights["manager_vacant"] = 10
	if _, err := demo.Churn(ctx, e.pool, opts, nil); err != nil {
		t.Fatalf("churn: %v", err)
	}
	e.waitCaptured()
	settle := func(what string) []received {
		waitFor(t, 2*time.Minute, what, func() bool {
			return consumedAll(t, e, e.prefix+".notify") && s.Stats().Pending == 0
		})
		return readMails(t, dir, domain)
	}
	before := settle("the churn alerted")
	check := func(ms []received, day string) map[string]bool {
		keys := map[string]bool{}
		for _, m := range ms {
			if keys[m.key] {
				t.Errorf("alert %s mailed twice", m.key)
			}
			keys[m.key] = true
			if !strings.HasPrefix(m.key, "manager_removal/") {
				continue
			}
			d := alertDate.FindStringSubmatch(m.body)
			if d == nil {
				t.Errorf("manager mail %s names no date:\n%s", m.file, m.body)
				continue
			}
			if d[1] > day {
				t.Errorf("manager mail %s is about %s, after the clock's day %s", m.file, d[1], day)
			}
		}
		return keys
	}
	keysBefore := check(before, today0)

	// The removals the final state dates after today0 but within 60 days.
	future := futureRemovals(t, e, today0, clock.Now().Add(60*24*time.Hour))
	if len(future) == 0 {
		t.Fatal("churn made no future-dated manager removal; the test proves nothing")
	}
	for k := range future {
		for got := range keysBefore {
			if strings.HasPrefix(got, k) {
				t.Errorf("future-dated removal %s was mailed before its day", k)
			}
		}
	}

	clock.advance(60 * 24 * time.Hour)
	today1 := string(mo.DateOf(clock.Now()))
	var after []received
	waitFor(t, 2*time.Minute, "the future-dated removals mailed after the clock moved", func() bool {
		after = readMails(t, dir, domain)
		got := map[string]bool{}
		for _, m := range after {
			got[m.key] = true
		}
		for k := range future {
			if !got[k] {
				return false
			}
		}
		return true
	})
	after = settle("the ticks alerted")
	check(after, today1)
	t.Logf("NOTE notify clock: %d mails before the clock moved (none about a later day), %d future-dated removals mailed after it moved %s → %s, %d mails in all",
		len(before), len(future), today0, today1, len(after))
}

// futureRemovals returns the alert keys of the managers removed (a person
// and an end date) after today whose alert is due at later.
func futureRemovals(t *testing.T, e *e2e, today string, later time.Time) map[string]bool {
	out := map[string]bool{}
	for k, content := range finalAlertsAt(t, e, time.Time{}, later) {
		parts := strings.Split(content, "|")
		if strings.HasPrefix(k, "manager_removal/") && len(parts) == 3 && parts[0] != "" && parts[2] > today {
			out[k] = true
		}
	}
	return out
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
