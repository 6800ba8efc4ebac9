package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// benchCapture: a seeded store, a backlog of churn in the WAL, then the
// same WAL range drained once by pg_recvlogical (pgoutput, to /dev/null)
// and once by mocdc capture (to Kafka, exactly once).
func benchCapture(ctx context.Context, args []string) error {
	var persons, changes int
	if err := flags("capture", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 5000, "persons to seed")
		fs.IntVar(&changes, "changes", 20000, "MO changes in the backlog")
	}); err != nil {
		return err
	}
	l, err := newLab(ctx, "capture")
	if err != nil {
		return err
	}
	defer l.close()
	sum, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: persons})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d persons: %d objects, %d rows in %s\n", persons, sum.Objects, sum.Rows, sum.Elapsed.Round(time.Millisecond))

	cfg := l.config("")
	c, err := l.startCapture(cfg)
	if err != nil {
		return err
	}
	snapStart := time.Now()
	if err := l.waitSnapshot(ctx, 10*time.Minute); err != nil {
		return err
	}
	snap := time.Since(snapStart)
	fmt.Printf("initial snapshot: %d objects in %s (%.0f objects/s), capture peak RSS %d MiB\n",
		sum.Objects, snap.Round(time.Millisecond), float64(sum.Objects)/snap.Seconds(), c.halt()/1024)

	// A second slot at the same point, for pg_recvlogical.
	if _, err := l.pool.Exec(ctx, `SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput')`); err != nil {
		return err
	}
	st, err := demo.Churn(ctx, l.pool, demo.ChurnOptions{Seed: 2, MaxChanges: changes, Workers: 4}, nil)
	if err != nil {
		return err
	}
	end := l.walLSN(ctx)
	fmt.Printf("backlog: %d MO changes at %.0f/s, WAL end %s\n", st.Total, st.Rate(), end)

	recv := exec.CommandContext(ctx, "pg_recvlogical", "-d", l.dsn, "-S", "bench_recv", "--start",
		"-o", "proto_version=2", "-o", "publication_names=mocdc", "-o", "binary=true",
		"--endpos", end, "-F", "0", "-f", "/dev/null")
	t0 := time.Now()
	if out, err := recv.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_recvlogical: %v: %s", err, out)
	}
	recvTime := time.Since(t0)

	c, err = l.startCapture(cfg)
	if err != nil {
		return err
	}
	took, err := l.waitSlot(ctx, l.slot, end, 20*time.Minute)
	if err != nil {
		return err
	}
	rows, txns := l.metric("mocdc_capture_rows_total"), l.metric("mocdc_capture_transactions_total")
	events := l.metric("mocdc_capture_events_total")
	peak := c.halt()
	fmt.Printf("pg_recvlogical: drained the backlog in %s: %.0f row changes/s\n", recvTime.Round(time.Millisecond), rows/recvTime.Seconds())
	fmt.Printf("mocdc capture:  %s to publish it: %.0f row changes/s (%.2fx pg_recvlogical), %.0f MO object changes/s, %.0f source txns/s; peak RSS %d MiB\n",
		took.Round(time.Millisecond), rows/took.Seconds(), recvTime.Seconds()/took.Seconds(), events/took.Seconds(), txns/took.Seconds(), peak/1024)
	fmt.Printf("  (%0.f row changes, %0.f events, %0.f source transactions; the capture time includes its start-up)\n", rows, events, txns)
	return nil
}
