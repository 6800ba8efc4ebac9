package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/os2mo-cdc/mocdc/capture"
	"github.com/os2mo-cdc/mocdc/schema/event"
)

func runCapture(ctx context.Context, log *slog.Logger, args []string) error {
	fs := newFlagSet("capture")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	if err := cfg.requireStore(); err != nil {
		return err
	}
	reg := newRegistry()
	return withMetrics(ctx, log, cfg.Metrics, reg, func(ctx context.Context) error {
		c, closeFn, err := newCapture(ctx, log, cfg, reg)
		if err != nil {
			return err
		}
		defer closeFn()
		return c.Run(ctx)
	})
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// newCapture builds the clients capture needs from cfg.
func newCapture(ctx context.Context, log *slog.Logger, cfg *Config, reg prometheus.Registerer) (*capture.Capture, func(), error) {
	pool, err := pgxpool.New(ctx, cfg.Store.DSN)
	if err != nil {
		return nil, nil, fmt.Errorf("store.dsn: %w", err)
	}
	replCfg, err := pgconn.ParseConfig(cfg.Store.DSN)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("store.dsn: %w", err)
	}
	clog := log.With("component", "capture")
	c, err := capture.New(cfg.Capture, capture.Deps{
		Policy:            cfg.Policy,
		Pool:              pool,
		ReplicationConfig: replCfg,
		KafkaOpts:         kafkaOpts(cfg, clog),
		Topics:            event.Topics{Prefix: cfg.Kafka.TopicPrefix},
		Logger:            clog,
		Registry:          reg,
		Progress: func(class string, n int64) {
			clog.Info("snapshot progress", slog.String("class", class), slog.Int64("objects", n))
		},
	})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return c, pool.Close, nil
}

// warnOnly passes on records at warning level and above.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(a)} }
func (w warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{w.Handler.WithGroup(n)} }
