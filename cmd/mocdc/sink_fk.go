package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/fk"
)

// newFKSink builds the FK Organisation sink that cfg.FK describes.
func newFKSink(cfg *Config, log *slog.Logger, reg prometheus.Registerer, resync bool) (*fk.Sink, error) {
	if cfg.FK == nil {
		return nil, errors.New("fk: the FK Organisation sink is not configured: add an fk: section (os2sync.url, os2sync.cvr, top_unit; see docs/fk.md)")
	}
	log = log.With(slog.String("component", "fk"))
	return fk.New(*cfg.FK, fk.Deps{
		KafkaOpts: kafkaOpts(cfg, log),
		Topics:    event.Topics{Prefix: cfg.Kafka.TopicPrefix},
		Resync:    resync,
		Replicas:  int16(cfg.Capture.Topics.ReplicationFactor),
		Logger:    log,
		Registry:  reg,
	})
}

// runSinkFK is `mocdc sink fk --config FILE [--resync]`.
func runSinkFK(ctx context.Context, log *slog.Logger, args []string) error {
	return runSinkCommand(ctx, log, args, "sink fk", "resync", "send every FK object once at start, whatever was sent before (a new or emptied FK tenant)", newFKSink)
}
