package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// holdPort listens on a free 127.0.0.1 port and returns it with its address.
func holdPort(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().String()
}

// A restart a moment after a kill -9: the port is still taken when the new
// process starts, and free a little later. The new process waits for it
// and then serves /metrics, /healthz and /readyz.
func TestMetricsListenerWaitsForThePort(t *testing.T) {
	old, addr := holdPort(t)
	go func() { time.Sleep(700 * time.Millisecond); old.Close() }()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	running := make(chan struct{})
	go func() {
		done <- withMetrics(ctx, log, MetricsConfig{Listen: addr, ListenTimeout: time.Minute}, newRegistry(), func(ctx context.Context) error {
			close(running)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("withMetrics returned before running: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the component did not start within 30 s of the port becoming free")
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
	if !strings.Contains(logs.String(), "metrics port in use: retrying") || !strings.Contains(logs.String(), "metrics port free again") {
		t.Errorf("the wait was not logged:\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("withMetrics after cancel: %v", err)
	}
	// The port is free again once it stopped.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port not released after stop: %v", err)
	}
	ln.Close()
}

// A port that stays taken fails the process after the bound, with a
// message that says what to do; the component never starts.
func TestMetricsListenerGivesUp(t *testing.T) {
	_, addr := holdPort(t)
	start := time.Now()
	err := withMetrics(context.Background(), slog.New(slog.DiscardHandler), MetricsConfig{Listen: addr, ListenTimeout: time.Second}, newRegistry(), func(context.Context) error {
		t.Error("the component ran without its metrics listener")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "in use by another process and stayed so for 1s") || !strings.Contains(err.Error(), "ss -ltnp") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("gave up after %s, before the 1s bound", took)
	}

	// The same from the command line: exit 1, no component started.
	cfg := writeTemp(t, "store:\n  dsn: postgres://nobody@127.0.0.1:1/mo\nkafka:\n  brokers: [127.0.0.1:1]\nmetrics:\n  listen: "+addr+"\n  listen_timeout: 1s\n")
	_, stderr, code := runBare(t, "capture", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "metrics.listen "+addr+": the port is in use by another process") {
		t.Errorf("mocdc capture with its metrics port taken: exit %d, stderr:\n%s", code, stderr)
	}
}

// Stopped while it waits for the port: a clean stop, not an error.
func TestMetricsListenerStoppedWhileWaiting(t *testing.T) {
	_, addr := holdPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := withMetrics(ctx, slog.New(slog.DiscardHandler), MetricsConfig{Listen: addr, ListenTimeout: time.Minute}, newRegistry(), func(context.Context) error {
		t.Error("the component ran without its metrics listener")
		return nil
	})
	if err != nil {
		t.Errorf("withMetrics stopped while waiting for the port: %v, want nil", err)
	}
}
