package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

// demoPrepare makes the local demo's MO store ready: schema, and a seeded
// municipality unless it already holds one.
func demoPrepare(ctx context.Context, log *slog.Logger, cfg *Config) error {
	conn, err := store.Connect(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := store.Init(ctx, conn); err != nil {
		return err
	}
	var persons int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM actual_state.bruger`).Scan(&persons); err != nil {
		return fmt.Errorf("count persons: %w", err)
	}
	if persons > 0 {
		log.Info("demo: MO store already seeded", slog.Int("persons", persons))
		return nil
	}
	pool, err := pgxpool.New(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer pool.Close()
	sum, err := demo.Seed(ctx, pool, demo.SeedOptions{Seed: cfg.Demo.Seed, Persons: cfg.Demo.Persons})
	if err != nil {
		return err
	}
	log.Info("demo: seeded municipality", slog.Int("objects", sum.Objects), slog.Int64("rows", sum.Rows), slog.Duration("took", sum.Elapsed))
	return nil
}

// demoChurn runs the demo's live changes until ctx ends.
func demoChurn(ctx context.Context, log *slog.Logger, cfg *Config) error {
	pool, err := pgxpool.New(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer pool.Close()
	return churn(ctx, log.With("component", "churn"), pool, cfg.Demo.Seed, cfg.Demo.ChurnRate)
}

func sortedTypes(m map[mo.Type]int) []mo.Type {
	out := make([]mo.Type, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
