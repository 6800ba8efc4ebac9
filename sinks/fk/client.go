package fk

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// RejectedError is an answer of OS2sync that sending the same request
// again cannot change: a 4xx other than 401, 403, 408 and 429. Body is the server's
// message ("Positions is null or empty").
type RejectedError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("OS2sync rejected %s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// Client talks to OS2sync: CVR and apiKey headers, a timeout per request,
// retries with capped jittered backoff on 5xx and network errors, a rate
// limit and a bound on requests in flight shared by every caller. Safe
// for concurrent use.
type Client struct {
	cfg    ClientConfig
	base   string
	apiKey string
	http   *http.Client
	lim    *rate.Limiter
	sem    chan struct{}
	m      *metrics
}

// NewClient builds the client cfg describes (Defaults applied). It reads
// the API key and TLS files now, so a wrong path fails at start.
func NewClient(cfg ClientConfig, m *metrics) (*Client, error) {
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), apiKey: cfg.APIKey, m: m,
		sem: make(chan struct{}, cfg.Concurrency), lim: rate.NewLimiter(rate.Inf, 1)}
	if cfg.RateLimit > 0 {
		c.lim = rate.NewLimiter(rate.Limit(cfg.RateLimit), max(1, int(cfg.RateLimit/10)))
	}
	if cfg.APIKeyFile != "" {
		b, err := os.ReadFile(cfg.APIKeyFile)
		if err != nil {
			return nil, fmt.Errorf("fk.os2sync.api_key_file: %w", err)
		}
		c.apiKey = strings.TrimSpace(string(b))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName}
	if cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("fk.os2sync.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fk.os2sync.tls.ca_file %s holds no PEM certificate", cfg.TLS.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("fk.os2sync.tls: client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsCfg
	c.http = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	return c, nil
}

// GetOrgUnit reads a unit from FK Organisation; found is false on 404.
func (c *Client) GetOrgUnit(ctx context.Context, uuid string) (ou *fkOrgUnit, found bool, err error) {
	status, body, err := c.do(ctx, http.MethodGet, "/orgUnit/"+uuid, nil, "get_orgunit")
	if err != nil {
		return nil, false, err
	}
	if status == http.StatusNotFound {
		return nil, false, nil
	}
	var out fkOrgUnit
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, false, fmt.Errorf("OS2sync GET /orgUnit/%s: undecodable answer: %w", uuid, err)
	}
	return &out, true, nil
}

// UpsertOrgUnit queues a unit's upsert (200 means queued, not written).
func (c *Client) UpsertOrgUnit(ctx context.Context, body []byte) error {
	_, _, err := c.do(ctx, http.MethodPost, "/orgUnit/"+c.bypass(), body, "upsert_orgunit")
	return err
}

// UpsertUser queues a user's upsert.
func (c *Client) UpsertUser(ctx context.Context, body []byte) error {
	_, _, err := c.do(ctx, http.MethodPost, "/user"+c.bypass(), body, "upsert_user")
	return err
}

// Delete queues the delete of a user or unit (kind "user" or "orgUnit");
// 404 counts as done.
func (c *Client) Delete(ctx context.Context, kind, uuid string) error {
	_, _, err := c.do(ctx, http.MethodDelete, "/"+kind+"/"+uuid, nil, "delete_"+strings.ToLower(kind))
	return err
}

func (c *Client) bypass() string {
	if c.cfg.BypassCache != nil && *c.cfg.BypassCache {
		return "?bypassCache=true"
	}
	return ""
}

// do sends one request with retries. It returns the status and body of a
// 2xx or 404 answer, a *RejectedError for another 4xx, and a plain error
// (retryable by the caller) when every attempt failed.
func (c *Client) do(ctx context.Context, method, path string, body []byte, op string) (int, []byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	var last error
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		if attempt > 0 {
			c.m.httpRetries.Inc()
			if err := c.cfg.Retry.Wait(ctx, attempt-1); err != nil {
				return 0, nil, err
			}
		}
		if err := c.lim.Wait(ctx); err != nil {
			return 0, nil, err
		}
		status, respBody, err := c.once(ctx, method, path, body)
		c.m.requests.WithLabelValues(op, statusClass(status, err)).Inc()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			last = fmt.Errorf("OS2sync %s %s: %w", method, path, err)
		case status >= 200 && status < 300, status == http.StatusNotFound && method != http.MethodPost:
			return status, respBody, nil
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			// Not the request's fault: every request would get it. Retried
			// (never dead-lettered) until the operator fixes the key.
			last = fmt.Errorf("OS2sync %s %s: %d: the API key or CVR is refused; check fk.os2sync.api_key and fk.os2sync.cvr", method, path, status)
		case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
			last = fmt.Errorf("OS2sync %s %s: %d %s", method, path, status, strings.TrimSpace(string(respBody)))
		default:
			return status, respBody, &RejectedError{Method: method, Path: path, Status: status, Body: strings.TrimSpace(string(respBody))}
		}
	}
	return 0, nil, fmt.Errorf("after %d attempts: %w", c.cfg.Attempts, last)
}

func (c *Client) once(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("CVR", c.cfg.CVR)
	if c.apiKey != "" {
		req.Header.Set("apiKey", c.apiKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "mocdc-fk")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	c.m.requestSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

func statusClass(status int, err error) string {
	if err != nil {
		return "error"
	}
	return fmt.Sprintf("%dxx", status/100)
}

// isRejected reports whether err is a *RejectedError.
func isRejected(err error) (*RejectedError, bool) {
	var r *RejectedError
	ok := errors.As(err, &r)
	return r, ok
}
