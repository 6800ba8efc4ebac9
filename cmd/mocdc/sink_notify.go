package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/notify"
)

// newNotifySink builds the email notification sink that cfg.Notify describes.
func newNotifySink(cfg *Config, log *slog.Logger, reg prometheus.Registerer) (*notify.Sink, error) {
	if cfg.Notify == nil {
		return nil, errors.New("notify: the email sink is not configured: add a notify: section (sender, receivers, smtp; see docs/notify.md)")
	}
	log = log.With(slog.String("component", "notify"))
	return notify.New(*cfg.Notify, notify.Deps{
		KafkaOpts: kafkaOpts(cfg, log),
		Topics:    event.Topics{Prefix: cfg.Kafka.TopicPrefix},
		Logger:    log,
		Registry:  reg,
	})
}

// runSinkNotify is `mocdc sink notify --config FILE`.
func runSinkNotify(ctx context.Context, log *slog.Logger, args []string) error {
	fs := newFlagSet("sink notify")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	reg := newRegistry()
	s, err := newNotifySink(cfg, log, reg)
	if err != nil {
		return err
	}
	return withMetrics(ctx, log, cfg.Metrics, reg, s.Run)
}
