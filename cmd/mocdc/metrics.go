package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// withMetrics serves /metrics, /healthz and /readyz on m.Listen while run
// runs, and stops serving when run returns. A process never runs without
// them: when the port cannot be had (serveMetrics), run is not started, and
// when the listener fails later, run is stopped with that error.
func withMetrics(ctx context.Context, log *slog.Logger, m MetricsConfig, reg *prometheus.Registry, run func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	serve, err := serveMetrics(ctx, log, m, reg)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped (Ctrl-C) while waiting for the port
		}
		return err
	}
	served := make(chan error, 1)
	go func() {
		err := serve()
		if err != nil {
			cancel(err)
		}
		served <- err
	}()
	err = run(ctx)
	cancel(nil)
	if serr := <-served; serr != nil {
		return serr // run stopped because the listener failed
	}
	return err
}

// serveMetrics binds m.Listen and returns the function that serves on it
// until ctx ends. A port in use (a restart a moment after a kill -9, while
// the old process is still exiting) is retried for m.ListenTimeout; then,
// or for any other listen error, it fails.
func serveMetrics(ctx context.Context, log *slog.Logger, m MetricsConfig, reg *prometheus.Registry) (func() error, error) {
	if m.Listen == "" {
		return func() error { <-ctx.Done(); return nil }, nil
	}
	ln, err := listenRetrying(ctx, log, m.Listen, m.ListenTimeout)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return func() error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case <-ctx.Done():
			_ = srv.Close()
			<-errc
			return nil
		case err := <-errc:
			return fmt.Errorf("metrics listener %s failed: %w (mocdc does not run without /metrics, /healthz and /readyz)", m.Listen, err)
		}
	}, nil
}

// listenRetrying listens on addr, retrying while the address is in use,
// for at most timeout.
func listenRetrying(ctx context.Context, log *slog.Logger, addr string, timeout time.Duration) (net.Listener, error) {
	start := time.Now()
	wait := 100 * time.Millisecond
	for retried := false; ; retried = true {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			if retried {
				log.Info("metrics port free again: listening", slog.String("addr", addr), slog.Duration("waited", time.Since(start).Round(time.Millisecond)))
			}
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("metrics.listen %s: %w: fix metrics.listen (an address of this machine, a port you may bind)", addr, err)
		}
		if time.Since(start) >= timeout {
			_, port, _ := net.SplitHostPort(addr)
			return nil, fmt.Errorf("metrics.listen %s: the port is in use by another process and stayed so for %s: stop that process (find it with `ss -ltnp 'sport = :%s'`; an earlier mocdc still running?) or set metrics.listen to a free port", addr, timeout, port)
		}
		if !retried {
			log.Warn("metrics port in use: retrying until it is free", slog.String("addr", addr), slog.Duration("for_at_most", timeout))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
