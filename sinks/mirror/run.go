package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// RunDeps are what Run needs besides the target's Config.
type RunDeps struct {
	// KafkaOpts are the base Kafka client options (brokers, logger, …).
	KafkaOpts []kgo.Opt
	// Topics names the MO topics (prefix).
	Topics event.Topics
	Logger *slog.Logger
	// Registry receives the runner's and the mirror's metrics.
	Registry prometheus.Registerer
	// Rebuild drops the target's tables, offsets and state first and
	// rebuilds them from the compacted topics.
	Rebuild bool
	// Clock replaces time.Now (tests).
	Clock func() time.Time
	// ProgressEvery is how often progress is logged while the mirror
	// catches up (rebuild or first start). Default 5s.
	ProgressEvery time.Duration
	// SnapshotDone, when set, says whether capture has published its whole
	// initial snapshot (its checkpoint). Before and between snapshot chunks
	// the mirror can have applied everything published so far; it says it
	// is up to date only once the snapshot is done, too. Nil: lag 0 is
	// enough.
	SnapshotDone func(context.Context) (bool, error)
	// InstanceID makes the mirror a static member of its group under this
	// id (runner.Deps.InstanceID); empty: dynamic membership.
	InstanceID string
}

// Run runs one mirror target until ctx ends: it opens the target database,
// prepares the tables (retrying while the target is unreachable; failing
// at once on wrong credentials, a missing database or differing tables)
// and consumes the MO topics with the shared runner. It returns nil when
// ctx ends. This is what `mocdc sink mirror` runs; tests and the
// end-to-end oracle run it in-process.
func Run(ctx context.Context, cfg Config, deps RunDeps) error {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.ProgressEvery == 0 {
		deps.ProgressEvery = 5 * time.Second
	}
	log := deps.Logger.With(slog.String("target", cfg.Name))
	db, err := Open(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	opts := []Option{WithLogger(log), WithRegistry(deps.Registry)}
	if deps.Clock != nil {
		opts = append(opts, WithClock(deps.Clock))
	}
	m, err := New(db, cfg, deps.Topics, opts...)
	if err != nil {
		return err
	}
	defer m.Close(context.WithoutCancel(ctx))

	for attempt := 0; ; attempt++ {
		err := m.Prepare(ctx, deps.Rebuild)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			// Stopped (SIGTERM) while starting: a clean stop, whatever the
			// cancelled statement's error was classified as.
			return nil
		}
		var se *StartError
		if errors.As(err, &se) {
			return err
		}
		log.Warn("target not ready; retrying", slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := cfg.Retry.Wait(ctx, attempt); werr != nil {
			return nil
		}
	}
	log.Info("mirror ready", slog.String("dialect", m.Dialect()), slog.String("mode", string(cfg.Mode)), slog.String("group", cfg.Group))

	r, err := runner.New(cfg.Runner(), m, runner.Deps{
		Name: "mirror-" + cfg.Name, Topics: m.Topics(), DeadLetterTopic: deps.Topics.DeadLetter(),
		KafkaOpts: deps.KafkaOpts, InstanceID: deps.InstanceID, Logger: log, Registry: deps.Registry,
	})
	if err != nil {
		return err
	}
	defer r.Close(context.WithoutCancel(ctx))
	go progress(ctx, log, r.Stats, deps.Rebuild, deps.ProgressEvery, deps.SnapshotDone)
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("mirror %s: %w", cfg.Name, err)
	}
	return nil
}

// progress logs a line every few seconds while the mirror catches up (a
// rebuild, a start far behind, or capture publishing its initial
// snapshot), and once each time it has caught up. A backlog that builds up
// again later (more than backlogRecords) is reported the same way.
func progress(ctx context.Context, log *slog.Logger, stats func() runner.Stats, rebuild bool, every time.Duration, snapshotDone func(context.Context) (bool, error)) {
	const backlogRecords = 1000
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	startRecords := int64(0)
	what := "catching up"
	if rebuild {
		what = "rebuild"
	}
	behind := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := stats()
		if s.Lag < 0 {
			continue // nothing fetched yet
		}
		if !behind {
			if s.Lag <= backlogRecords {
				continue
			}
			behind, what = true, "catching up"
			start, startRecords = time.Now(), s.Records
		}
		elapsed := time.Since(start)
		rate := float64(s.Records-startRecords) / max(elapsed.Seconds(), 1e-3)
		snapshot := "done"
		if s.Lag == 0 && snapshotDone != nil {
			switch done, err := snapshotDone(ctx); {
			case err != nil:
				snapshot = "unknown" // say done only when it is known
			case !done:
				snapshot = "not done"
			}
		}
		if s.Lag == 0 && snapshot == "done" {
			log.Info(what+" done: the mirror is up to date", slog.Int64("records", s.Records-startRecords), slog.Duration("elapsed", elapsed.Round(time.Second)),
				slog.String("rate", fmt.Sprintf("%.0f/s", rate)), slog.Int64("dead_letters", s.DeadLetters))
			behind = false
			continue
		}
		attrs := []any{slog.Int64("records", s.Records-startRecords), slog.Int64("lag", s.Lag), slog.Int("partitions", s.Partitions),
			slog.String("rate", fmt.Sprintf("%.0f/s", rate)), slog.Duration("elapsed", elapsed.Round(time.Second))}
		if s.Lag == 0 {
			// Everything published is applied, but capture's initial
			// snapshot is still being published (or its state unknown).
			attrs = append(attrs, slog.String("capture_snapshot", snapshot))
		}
		log.Info(what+" progress", attrs...)
	}
}
