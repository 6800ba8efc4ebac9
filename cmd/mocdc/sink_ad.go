package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/ad"
)

// newADSink builds the Active Directory sink that cfg.AD describes.
func newADSink(cfg *Config, log *slog.Logger, reg prometheus.Registerer, dryRun bool) (*ad.Sink, error) {
	if cfg.AD == nil {
		return nil, errors.New("ad: the Active Directory sink is not configured: add an ad: section (url, bind_dn, bind_password, base_dn, write_ous; see docs/ad.md)")
	}
	c := *cfg.AD
	if dryRun {
		c.DryRun = true
	}
	if c.InstanceID == "" {
		// The process's instance_id: the sink is a static member of its
		// group, so a restarted instance takes its persons back at once.
		c.InstanceID = cfg.InstanceID
	}
	log = log.With(slog.String("component", "ad"))
	return ad.New(c, ad.Deps{
		KafkaOpts:         kafkaOpts(cfg, log),
		Topics:            event.Topics{Prefix: cfg.Kafka.TopicPrefix},
		ReplicationFactor: int16(cfg.Capture.Topics.ReplicationFactor),
		Logger:            log,
		Registry:          reg,
	})
}

// runSinkAD is `mocdc sink ad --config FILE [--dry-run]`.
func runSinkAD(ctx context.Context, log *slog.Logger, args []string) error {
	return runSinkCommand(ctx, log, args, "sink ad", "dry-run", "log the LDAP writes it would make and make none (as ad.dry_run: true)", newADSink)
}
