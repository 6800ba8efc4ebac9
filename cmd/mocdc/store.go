package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

// runStore runs the MO store tools: init (DDL), seed (demo municipality)
// and churn (live demo load). They are for local demos, tests and
// benchmarks; against a real MO store only init's checks are harmless, and
// even init should be left to OS2mo's own migrations there.
func runStore(ctx context.Context, log *slog.Logger, sub string, args []string) error {
	fs := newFlagSet("store " + sub)
	dsn := fs.String("dsn", "", "MO store DSN (default $MOCDC_MO_DSN)")
	var persons int
	var seed int64
	var rate float64
	var duration time.Duration
	switch sub {
	case "seed":
		fs.IntVar(&persons, "persons", 1000, "number of persons")
	case "churn":
		fs.Float64Var(&rate, "rate", 50, "MO changes per second (0 = as fast as possible)")
		fs.DurationVar(&duration, "duration", 0, "how long to run (0 = until interrupted)")
	}
	if sub != "init" {
		fs.Int64Var(&seed, "seed", 1, "random seed (same seed, same municipality / same changes)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		*dsn = os.Getenv("MOCDC_MO_DSN")
	}
	if *dsn == "" {
		return errors.New("no MO store: pass --dsn or set MOCDC_MO_DSN")
	}
	switch sub {
	case "init":
		conn, err := store.Connect(ctx, *dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := store.Init(ctx, conn); err != nil {
			return err
		}
		fmt.Println("MO store schema is in place")
		return nil
	case "seed":
		pool, err := pgxpool.New(ctx, *dsn)
		if err != nil {
			return fmt.Errorf("--dsn: %w", err)
		}
		defer pool.Close()
		bar := newWorkBar(os.Stderr, "seed", "objects", -1)
		opts := demo.SeedOptions{Seed: seed, Persons: persons}
		if bar != nil {
			var mu sync.Mutex
			opts.Progress = func(written, total int) { mu.Lock(); bar.set(int64(written), int64(total)); mu.Unlock() }
		}
		sum, err := demo.Seed(ctx, pool, opts)
		bar.finish()
		if err != nil {
			return err
		}
		fmt.Printf("seeded %d objects (%d rows) in %s\n", sum.Objects, sum.Rows, sum.Elapsed.Round(time.Millisecond))
		for _, t := range sortedTypes(sum.Counts) {
			fmt.Printf("  %-13s %d\n", t, sum.Counts[t])
		}
		return nil
	case "churn":
		pool, err := pgxpool.New(ctx, *dsn)
		if err != nil {
			return fmt.Errorf("--dsn: %w", err)
		}
		defer pool.Close()
		if duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, duration)
			defer cancel()
		}
		return churn(ctx, log, pool, seed, rate)
	}
	return fmt.Errorf("unknown store command %q: use init, seed or churn", sub)
}

// churn runs demo.Churn with a progress line every few seconds.
func churn(ctx context.Context, log *slog.Logger, pool *pgxpool.Pool, seed int64, rate float64) error {
	_, err := demo.Churn(ctx, pool, demo.ChurnOptions{Seed: seed, Rate: rate, ProgressEvery: 5 * time.Second}, func(s demo.ChurnStats) {
		attrs := []any{slog.Int64("changes", s.Total), slog.String("rate", fmt.Sprintf("%.1f/s", s.Rate())), slog.Int64("errors", s.Errors)}
		if s.LastError != "" {
			attrs = append(attrs, slog.String("last_error", s.LastError))
		}
		log.Info("churn", attrs...)
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
