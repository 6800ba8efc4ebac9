package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// benchBigTxn: capture's memory while one huge source transaction (a bulk
// import of -persons persons in ONE transaction) streams through it.
func benchBigTxn(ctx context.Context, args []string) error {
	var persons int
	var budget int64
	if err := flags("bigtxn", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 200000, "persons created in the one transaction")
		fs.Int64Var(&budget, "budget", 64<<20, "capture memory budget (bytes)")
	}); err != nil {
		return err
	}
	l, err := newLab(ctx, "bigtxn")
	if err != nil {
		return err
	}
	defer l.close()
	if _, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: 10}); err != nil {
		return err
	}
	cfg := l.config(fmt.Sprintf("  memory_budget: %d\n  spill_dir: %s\n", budget, l.dir))
	c, err := l.startCapture(cfg)
	if err != nil {
		return err
	}
	if err := l.waitSnapshot(ctx, 5*time.Minute); err != nil {
		return err
	}
	before := l.walLSN(ctx)
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	if err := demo.BulkCreatePersons(ctx, tx, persons, "mocdc-bench-person"); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	conn.Release()
	write := time.Since(t0)
	end := l.walLSN(ctx)
	var walBytes int64
	_ = l.pool.QueryRow(ctx, `SELECT $1::pg_lsn - $2::pg_lsn`, end, before).Scan(&walBytes)
	fmt.Printf("one transaction: %d persons (%d LoRa rows), %d MiB of WAL, written in %s\n",
		persons, persons*7, walBytes>>20, write.Round(time.Second))
	took, err := l.waitSlot(ctx, l.slot, end, 2*time.Hour)
	if err != nil {
		return err
	}
	spilled := l.metric("mocdc_capture_spilled_transactions_total")
	events := l.metric("mocdc_capture_events_total")
	peak := c.halt()
	fmt.Printf("capture published it %s after commit: %.0f events; spilled transactions %0.f; peak RSS %d MiB (memory budget %d MiB)\n",
		took.Round(time.Second), events, spilled, peak/1024, budget>>20)
	return nil
}
