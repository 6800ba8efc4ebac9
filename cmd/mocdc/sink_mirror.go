package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/os2mo-cdc/mocdc/capture/publish"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// runSinkMirror is `mocdc sink mirror --config FILE --target NAME
// [--rebuild]`: one process keeps one mirror target up to date; more
// processes with the same target share its partitions.
func runSinkMirror(ctx context.Context, log *slog.Logger, args []string) error {
	fs := newFlagSet("sink mirror")
	path := fs.String("config", "mocdc.yaml", "configuration file")
	target := fs.String("target", "", "name of the mirror target to run (mirrors[].name); may be left out when there is only one")
	rebuild := fs.Bool("rebuild", false, "drop the target's tables, offsets and state, and rebuild them from the compacted topics (stop the target's other instances first)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	mc, err := mirrorTarget(cfg, *target, os.ReadFile)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	log = log.With(slog.String("component", "mirror"))
	// The MySQL driver logs connection trouble through a package logger of
	// its own; send it through ours.
	_ = gomysql.SetLogger(driverLog{log})
	reg := newRegistry()
	return withMetrics(ctx, log, cfg.Metrics, reg, func(ctx context.Context) error {
		return mirror.Run(ctx, mc, mirror.RunDeps{
			SnapshotDone: snapshotDone(cfg),
			InstanceID:   cfg.InstanceID,
			KafkaOpts:    kafkaOpts(cfg, log),
			Topics:       event.Topics{Prefix: cfg.Kafka.TopicPrefix},
			Logger:       log,
			Registry:     reg,
			Rebuild:      *rebuild,
		})
	})
}

// mirrorTarget picks the target called name from the configuration (the
// only one when name is empty and there is one), reads its dsn_file, fills
// its defaults and checks it.
func mirrorTarget(cfg *Config, name string, readFile func(string) ([]byte, error)) (mirror.Config, error) {
	var names []string
	found := -1
	for i, m := range cfg.Mirrors {
		for _, n := range names {
			if n == m.Name {
				return mirror.Config{}, fmt.Errorf("mirrors: two targets are called %q: names must be unique", m.Name)
			}
		}
		names = append(names, m.Name)
		if m.Name == name {
			found = i
		}
	}
	switch {
	case len(cfg.Mirrors) == 0:
		return mirror.Config{}, errors.New("mirrors: no mirror target is configured: add one under mirrors: (name, dialect, dsn, mode)")
	case name == "" && len(cfg.Mirrors) == 1:
		found = 0
	case name == "":
		return mirror.Config{}, fmt.Errorf("mirrors: several targets (%s): pick one with --target", strings.Join(names, ", "))
	case found < 0:
		return mirror.Config{}, fmt.Errorf("mirrors: no target called %q; the configured targets are: %s", name, strings.Join(names, ", "))
	}
	mc := cfg.Mirrors[found]
	if mc.DSNFile != "" {
		b, err := readFile(mc.DSNFile)
		if err != nil {
			return mirror.Config{}, fmt.Errorf("mirrors[%d] (%s): dsn_file: %w", found, mc.Name, err)
		}
		mc.DSN = strings.TrimSpace(string(b))
	}
	mc.Defaults()
	if err := mc.Validate(); err != nil {
		return mirror.Config{}, fmt.Errorf("mirrors[%d]: %w", found, err)
	}
	return mc, nil
}

// snapshotDone reads capture's checkpoint (of capture.slot in the same
// configuration) for the mirror's "up to date" line: false until capture
// has published its whole initial snapshot — also before capture has
// written its first checkpoint (the slot is still being created), when the
// topics are empty and the mirror has nothing left to apply.
func snapshotDone(cfg *Config) func(context.Context) (bool, error) {
	topic := event.Topics{Prefix: cfg.Kafka.TopicPrefix}.Checkpoint()
	opts := kafkaOpts(cfg, slog.New(slog.DiscardHandler))
	return func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cp, err := publish.ReadCheckpoint(ctx, opts, topic, cfg.Capture.Slot)
		if err != nil {
			return false, err
		}
		return cp != nil && cp.SnapshotDone, nil
	}
}

// driverLog adapts slog to the MySQL driver's logger interface.
type driverLog struct{ log *slog.Logger }

func (l driverLog) Print(v ...any) {
	l.log.Warn("mysql driver: " + strings.TrimSpace(fmt.Sprint(v...)))
}
