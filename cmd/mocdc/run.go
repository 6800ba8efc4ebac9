package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// runAll runs capture, every configured mirror target, the ledger builder
// when ledger.private_key_file is set, the FK sink when fk is set, and the
// demo load when enabled, in
// one process.
func runAll(ctx context.Context, log *slog.Logger, args []string) error {
	fs := newFlagSet("run")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	plain := fs.Bool("plain", false, "log a progress line every 5 s even on a terminal, instead of the live screen")
	logFile := fs.String("log-file", "", "while the live screen shows (a terminal, no --plain): where the log goes (default: mocdc-run.log in the temp directory)")
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
	ctx, quit := context.WithCancel(ctx) // q on the live screen: the same clean stop as SIGINT
	defer quit()
	live := !*plain && isTerminal(os.Stdout)
	if live {
		var l *liveLog
		if log, l, err = openLiveLog(*logFile); err != nil {
			return err
		}
		defer l.close()
		defer liveRun(cfg, liveSource{cfg: cfg, gather: inProcess(reg)}, l, quit)()
	}
	return withMetrics(ctx, log, cfg.Metrics, reg, func(ctx context.Context) error {
		return runComponents(ctx, log, cfg, reg, !live)
	})
}

// runComponents runs what runAll starts, until ctx ends or one fails.
// On SIGINT/SIGTERM the sources stop first and the sinks drain (stopOrder).
func runComponents(parent context.Context, log *slog.Logger, cfg *Config, reg *prometheus.Registry, progressLines bool) error {
	g, ctx := errgroup.WithContext(parent)
	stop := newStopOrder(parent, ctx, log, reg)
	sinkCtx := stop.sinks
	if cfg.Demo.Enabled {
		if err := demoPrepare(ctx, log, cfg); err != nil {
			return err
		}
		if err := demoADAccounts(ctx, log, cfg); err != nil {
			return err
		}
		g.Go(stop.source(func() error { return demoChurn(ctx, log, cfg) }))
	}
	c, closeFn, err := newCapture(ctx, log, cfg, reg)
	if err != nil {
		return err
	}
	defer closeFn()
	g.Go(stop.source(func() error { return c.Run(ctx) }))
	for _, m := range cfg.Mirrors {
		mc, err := mirrorTarget(cfg, m.Name, os.ReadFile)
		if err != nil {
			return err
		}
		mlog := log.With(slog.String("component", "mirror"))
		g.Go(func() error {
			return mirror.Run(sinkCtx, mc, mirror.RunDeps{
				SnapshotDone: snapshotDone(cfg),
				InstanceID:   cfg.InstanceID,
				KafkaOpts:    kafkaOpts(cfg, mlog),
				Topics:       event.Topics{Prefix: cfg.Kafka.TopicPrefix},
				Logger:       mlog,
				Registry:     prometheus.WrapRegistererWith(prometheus.Labels{"target": m.Name}, reg),
			})
		})
	}
	if cfg.Ledger.PrivateKeyFile != "" {
		b, err := newLedgerBuilder(cfg, log, reg)
		if err != nil {
			return err
		}
		g.Go(func() error { return b.Run(sinkCtx) })
	}
	if cfg.FK != nil {
		s, err := newFKSink(cfg, log, reg, false)
		if err != nil {
			return err
		}
		g.Go(func() error { return s.Run(sinkCtx) })
	}
	if cfg.AD != nil {
		s, err := newADSink(cfg, log, reg, false)
		if err != nil {
			return err
		}
		g.Go(func() error { return s.Run(sinkCtx) })
	}
	if cfg.Notify != nil {
		s, err := newNotifySink(cfg, log, reg)
		if err != nil {
			return err
		}
		g.Go(func() error { return s.Run(ctx) })
	}
	if progressLines {
		go progress(ctx, log, reg, 5*time.Second)
	}
	err = g.Wait()
	stop.stopped(err)
	return err
}
