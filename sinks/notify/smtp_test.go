package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// localSMTP returns the local OpenSMTPD's address and maildir
// (deploy/local/services).
func localSMTP(t *testing.T) (string, int, string) {
	addr, dir := os.Getenv("MOCDC_TEST_SMTP"), os.Getenv("MOCDC_TEST_MAILDIR")
	if addr == "" || dir == "" {
		t.Fatal("MOCDC_TEST_SMTP / MOCDC_TEST_MAILDIR are not set: start the local services with `deploy/local/services up` and `source .mocdc/env` (make test does both)")
	}
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return host, port, dir
}

// mailsTo returns the maildir files whose To header names addr.
func mailsTo(dir, addr string) []string {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		es, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range es {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err == nil && strings.Contains(string(b), "\nTo: "+addr) {
				out = append(out, string(b))
			}
		}
	}
	return out
}

func testSender(t *testing.T, mut func(*Config)) *sender {
	host, port, _ := localSMTP(t)
	cfg := Config{Sender: "os2mo@kommune.dk", SMTP: SMTPConfig{Host: host, Port: port, Security: "none"}}
	cfg.Defaults()
	if mut != nil {
		mut(&cfg)
	}
	s, err := newSender(cfg, slog.New(slog.DiscardHandler), newMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func effect(t *testing.T, to ...string) outbox.Effect {
	key := fmt.Sprintf("test/%d/x", rand.Uint64())
	m := Mail{Key: key, Rule: "test", MessageID: MessageID(key, "os2mo@kommune.dk"), From: "os2mo@kommune.dk", To: to,
		Subject: "Prøve", Text: "æøå", Date: time.Now()}
	b, _ := json.Marshal(m)
	return outbox.Effect{Key: key, Payload: b}
}

func TestSenderAgainstOpenSMTPD(t *testing.T) {
	_, _, dir := localSMTP(t)
	ctx := context.Background()
	domain := fmt.Sprintf("s%d.test", rand.Uint64())
	waitMail := func(addr string, n int) []string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := mailsTo(dir, addr)
			if len(got) >= n || time.Now().After(deadline) {
				return got
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("delivered, window opened once", func(t *testing.T) {
		opened := 0
		to := "a@" + domain
		if _, err := testSender(t, nil).PerformWindow(ctx, effect(t, to), func() error { opened++; return nil }); err != nil {
			t.Fatal(err)
		}
		got := waitMail(to, 1)
		if len(got) != 1 || opened != 1 || !strings.Contains(got[0], "Subject: =?utf-8?q?Pr=C3=B8ve?=") {
			t.Fatalf("%d mails, window opened %d times", len(got), opened)
		}
	})
	t.Run("receiver_override", func(t *testing.T) {
		over := "override@" + domain
		s := testSender(t, func(c *Config) { c.ReceiverOverride = over })
		if _, err := s.Perform(ctx, effect(t, "real@"+domain)); err != nil {
			t.Fatal(err)
		}
		if got := waitMail(over, 1); len(got) != 1 {
			t.Fatalf("override received %d mails", len(got))
		}
		if got := mailsTo(dir, "real@"+domain); len(got) != 0 {
			t.Fatalf("the real receiver got %d mails despite receiver_override", len(got))
		}
	})
	t.Run("dry_run sends nothing", func(t *testing.T) {
		to := "dry@" + domain
		res, err := testSender(t, func(c *Config) { c.DryRun = true }).Perform(ctx, effect(t, to))
		if err != nil || !strings.Contains(string(res), `"dry_run":true`) {
			t.Fatalf("dry run: %s %v", res, err)
		}
		time.Sleep(time.Second)
		if got := mailsTo(dir, to); len(got) != 0 {
			t.Fatalf("dry run delivered %d mails", len(got))
		}
	})
	t.Run("5xx is permanent with the reply; no window", func(t *testing.T) {
		opened := 0
		_, err := testSender(t, nil).PerformWindow(ctx, effect(t, "bad@@"+domain), func() error { opened++; return nil })
		var perm *outbox.PermanentError
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), "replied 5") || opened != 0 {
			t.Fatalf("err %v (permanent %v), window opened %d times", err, errors.As(err, &perm), opened)
		}
	})
	t.Run("unreachable is retried, no window", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		opened := 0
		_, err := testSender(t, func(c *Config) { c.SMTP.Port = port }).PerformWindow(ctx, effect(t, "x@"+domain), func() error { opened++; return nil })
		var perm *outbox.PermanentError
		if err == nil || errors.As(err, &perm) || opened != 0 {
			t.Fatalf("err %v: want a retryable error and no window", err)
		}
	})
	t.Run("starttls refused when not offered", func(t *testing.T) {
		_, err := testSender(t, func(c *Config) { c.SMTP.Security = "starttls" }).Perform(ctx, effect(t, "x@"+domain))
		if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
			t.Fatalf("err %v: want a refusal to send in clear text", err)
		}
	})
	t.Run("per_minute", func(t *testing.T) {
		s := testSender(t, func(c *Config) { c.PerMinute = 2 })
		for i := range 3 {
			_, err := s.Perform(ctx, effect(t, fmt.Sprintf("limit%d@%s", i, domain)))
			var later *outbox.LaterError
			switch {
			case i < 2 && err != nil:
				t.Fatalf("mail %d: %v", i, err)
			case i == 2 && (!errors.As(err, &later) || later.Wait <= 0 || later.Wait > time.Minute):
				t.Fatalf("third mail within a minute: %v, want Later up to a minute", err)
			}
		}
	})
}

func discardLog() *slog.Logger    { return slog.New(slog.DiscardHandler) }
func newMetricsForTest() *metrics { return newMetrics(prometheus.NewRegistry()) }
