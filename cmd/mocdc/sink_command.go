package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// runSinkCommand is the shape of `mocdc sink ad|fk --config FILE [--FLAG]`:
// load the configuration, build the sink with the one boolean flag, run it
// with /metrics served until ctx ends.
func runSinkCommand[S interface{ Run(context.Context) error }](ctx context.Context, log *slog.Logger, args []string,
	name, flag, usage string, build func(*Config, *slog.Logger, prometheus.Registerer, bool) (S, error)) error {
	fs := newFlagSet(name)
	path := fs.String("config", "mocdc.yaml", "configuration file")
	on := fs.Bool(flag, false, usage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	reg := newRegistry()
	s, err := build(cfg, log, reg, *on)
	if err != nil {
		return err
	}
	return withMetrics(ctx, log, cfg.Metrics, reg, s.Run)
}
