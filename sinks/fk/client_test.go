package fk

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func testClient(t *testing.T, url string, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := Config{OS2sync: ClientConfig{URL: url, CVR: testCVR, APIKey: "k", Retry: backoff(time.Millisecond, 5*time.Millisecond)}}
	if mod != nil {
		mod(&cfg.OS2sync)
	}
	cfg.Defaults("mo")
	c, err := NewClient(cfg.OS2sync, newMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientHTTP: the headers, retries of 5xx until success, a 4xx as a
// RejectedError with the server's message, 401 retried (never rejected),
// a network error after the attempts, and the bound on requests in flight.
func TestClientHTTP(t *testing.T) {
	var calls, inFlight, maxInFlight atomic.Int32
	var mu sync.Mutex
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
				break
			}
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/flaky") && n < 3:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/bad"):
			http.Error(w, "Positions is null or empty", http.StatusBadRequest)
		case strings.HasSuffix(r.URL.Path, "/denied"):
			http.Error(w, "", http.StatusUnauthorized)
		case strings.HasSuffix(r.URL.Path, "/slow"):
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := testClient(t, srv.URL+"/api", nil)

	if _, _, err := c.do(ctx, "POST", "/flaky", []byte(`{}`), "t"); err != nil || calls.Load() != 3 {
		t.Fatalf("5xx twice then 200: err %v after %d calls, want success after 3", err, calls.Load())
	}
	if h := headers[0]; h.Get("CVR") != testCVR || h.Get("apiKey") != "k" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	calls.Store(0)
	_, _, err := c.do(ctx, "POST", "/bad", []byte(`{}`), "t")
	if r, ok := isRejected(err); !ok || r.Status != 400 || r.Body != "Positions is null or empty" || calls.Load() != 1 {
		t.Fatalf("400: %v after %d calls, want a RejectedError with the message after 1", err, calls.Load())
	}
	calls.Store(0)
	_, _, err = c.do(ctx, "DELETE", "/denied", nil, "t")
	if _, ok := isRejected(err); ok || err == nil || !strings.Contains(err.Error(), "api_key") || calls.Load() != 4 {
		t.Fatalf("401: %v after %d calls, want a retryable error naming the API key after 4 attempts", err, calls.Load())
	}

	maxInFlight.Store(0)
	c2 := testClient(t, srv.URL+"/api", func(o *ClientConfig) { o.Concurrency = 2; o.RateLimit = 0 })
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _, _ = c2.do(ctx, "GET", "/slow", nil, "t") }()
	}
	wg.Wait()
	if m := maxInFlight.Load(); m > 2 || m < 1 {
		t.Errorf("%d requests in flight at once, want at most concurrency 2", m)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	_, _, err = testClient(t, "http://"+addr+"/api", nil).do(ctx, "GET", "/x", nil, "t")
	if err == nil || !strings.Contains(err.Error(), "after 4 attempts") || errors.As(err, new(*RejectedError)) {
		t.Fatalf("unreachable: %v, want a retryable error after 4 attempts", err)
	}
}

// TestClientTLS: an https OS2sync is trusted through tls.ca_file; without
// it the certificate is refused.
func TestClientTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := testClient(t, srv.URL+"/api", func(o *ClientConfig) { o.TLS.CAFile = ca }).do(ctx, "GET", "/user/x", nil, "t"); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	_, _, err := testClient(t, srv.URL+"/api", func(o *ClientConfig) { o.Attempts = 1 }).do(ctx, "GET", "/user/x", nil, "t")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v, want a certificate error", err)
	}
}
