package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// benchInitial measures issue 18's initial load: a municipality of
// -persons seeded in the MO store (not timed), then `mocdc run` with
// capture, the mirrors (-mirrors) and the audit ledger (-ledger) started
// on an empty Kafka prefix and empty targets while demo.Churn changes the
// store at -churn per second. Timed from the start of the process:
//
//   - snapshot: capture's checkpoint says the initial snapshot is done;
//   - per mirror: the offsets it stored in its target (mocdc_offsets) have
//     reached the end offsets every mirrored topic had when the snapshot
//     was done, i.e. the target holds the whole snapshot.
//
// The CPU of every process group over the load is printed as in latency.
func benchInitial(ctx context.Context, args []string) error {
	var (
		persons    int
		churnRate  float64
		mirrors    string
		ledger     bool
		within     time.Duration
		profile    string
		traceToo   bool
		partitions int
		maxRecords int
	)
	if err := flags("initial", args, func(fs *flag.FlagSet) {
		fs.IntVar(&persons, "persons", 50000, "persons to seed (not timed)")
		fs.Float64Var(&churnRate, "churn", 20, "demo churn while loading, MO changes per second (0: none)")
		fs.StringVar(&mirrors, "mirrors", "pg,mysql", "mirror targets: pg (PostgreSQL), mysql (MariaDB)")
		fs.BoolVar(&ledger, "ledger", true, "run the audit ledger builder too")
		fs.DurationVar(&within, "within", 15*time.Minute, "give up when the load takes longer")
		fs.StringVar(&profile, "profile", "", "directory for a CPU profile of `mocdc run` (initial.pprof)")
		fs.BoolVar(&traceToo, "trace", false, "with -profile: also an execution trace (initial.trace; large)")
		fs.IntVar(&partitions, "partitions", 6, "partitions per topic")
		fs.IntVar(&maxRecords, "max-records", 0, "the mirrors' batch.max_records; 0: the mirror's default")
	}); err != nil {
		return err
	}
	names := strings.Split(mirrors, ",")
	for _, n := range names {
		if n != "pg" && n != "mysql" {
			return fmt.Errorf("-mirrors: %q: use pg and/or mysql", n)
		}
	}
	l, err := newLab(ctx, "initial")
	if err != nil {
		return err
	}
	defer l.close()
	if err := l.setSyncCommit(ctx, l.db, true); err != nil {
		return err
	}
	sum, err := demo.Seed(ctx, l.pool, demo.SeedOptions{Seed: 1, Persons: persons})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d persons: %d objects, %d rows in %s (not timed)\n", persons, sum.Objects, sum.Rows, sum.Elapsed.Round(time.Millisecond))

	var targets []*mirrorDB
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "  topics:\n    partitions: %d\nmirrors:\n", partitions)
	for _, n := range names {
		t, err := l.newMirrorDB(ctx, n)
		if err != nil {
			return err
		}
		targets = append(targets, t)
		fmt.Fprintf(&yaml, "  - name: %s\n    dialect: %s\n    dsn: %q\n    mode: actual\n    group: %s\n", t.name, t.dialect, t.dsn, t.group)
		if maxRecords > 0 {
			fmt.Fprintf(&yaml, "    batch:\n      max_records: %d\n", maxRecords)
		}
	}
	defer l.deleteGroups(targets)
	if ledger {
		keys := filepath.Join(l.dir, "ledger")
		if out, err := exec.Command(l.bin, "ledger", "keygen", "--out", keys).CombinedOutput(); err != nil {
			return fmt.Errorf("ledger keygen: %v: %s", err, out)
		}
		fmt.Fprintf(&yaml, "ledger:\n  private_key_file: %s/ledger.key\n  public_key_file: %s/ledger.pub\n  checkpoint_every: 1000\n  checkpoint_interval: 1m\n", keys, keys)
	}
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return err
		}
		l.env = []string{"MOCDC_CPUPROFILE=" + filepath.Join(profile, "initial.pprof")}
		if traceToo {
			l.env = append(l.env, "MOCDC_TRACE="+filepath.Join(profile, "initial.trace"))
		}
	}

	// Churn runs through the load, as OS2mo would keep changing.
	churnCtx, stopChurn := context.WithCancel(ctx)
	var churnWG sync.WaitGroup
	var churned demo.ChurnStats
	defer func() { stopChurn(); churnWG.Wait() }()

	t0 := time.Now()
	c, err := l.start("run", l.config(yaml.String()))
	if err != nil {
		return err
	}
	defer c.halt()
	owners := l.owners(ctx, c.cmd.Process.Pid, targets)
	cpu0 := readCPU(owners)
	fmt.Printf("mocdc run (capture + mirrors %s%s): pid %d, log %s/run.log\n", mirrors, map[bool]string{true: " + ledger"}[ledger], c.cmd.Process.Pid, l.dir)
	if churnRate > 0 {
		churnWG.Add(1)
		go func() {
			defer churnWG.Done()
			churned, _ = demo.Churn(churnCtx, l.pool, churnOptions(churnRate, within, 2, false), nil)
		}()
	}

	if err := l.waitSnapshot(ctx, within); err != nil {
		return err
	}
	snapshot := time.Since(t0)
	owners = l.owners(ctx, c.cmd.Process.Pid, targets) // the walsender exists now
	fmt.Printf("snapshot published %s after start\n", snapshot.Round(100*time.Millisecond))
	end, err := l.endOffsets(ctx)
	if err != nil {
		return err
	}
	total := int64(0)
	for _, n := range end {
		total += n
	}
	done := map[string]time.Duration{}
	deadline := t0.Add(within)
	for len(done) < len(targets) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the mirrors did not load the snapshot within %s", within)
		}
		for _, t := range targets {
			if _, ok := done[t.name]; ok {
				continue
			}
			stored, err := t.offsets(ctx)
			if err != nil {
				continue
			}
			if reached(stored, end) {
				done[t.name] = time.Since(t0)
				fmt.Printf("mirror %s holds the snapshot %s after start\n", t.name, done[t.name].Round(100*time.Millisecond))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	loaded := time.Since(t0)
	cpu1 := readCPU(owners)
	stopChurn()
	churnWG.Wait()

	fmt.Printf("\ninitial load of %d persons (%d objects, %d records on the mirrored topics) with churn %.0f/s (%d changes made)%s:\n",
		persons, sum.Objects, total, churnRate, writesOf(churned), map[bool]string{true: " and the ledger"}[ledger])
	cpu1.report(cpu0, "CPU during the load", total, "record")
	fmt.Printf("| persons | snapshot published | %s | both mirrors loaded | objects/s per mirror | ≤ 60 s |\n|---|---|%s---|---|---|\n",
		strings.Join(names, " loaded | ")+" loaded", strings.Repeat("---|", len(names)))
	row := fmt.Sprintf("| %d | %.1f s |", persons, snapshot.Seconds())
	for _, n := range names {
		row += fmt.Sprintf(" %.1f s |", done[n].Seconds())
	}
	row += fmt.Sprintf(" %.1f s | %.0f | %s |", loaded.Seconds(), float64(total)/loaded.Seconds(), yesNo(loaded <= 60*time.Second))
	fmt.Println(row)
	return nil
}

// endOffsets are the end offsets of the mirrored topics now.
func (l *lab) endOffsets(ctx context.Context) (map[string]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.brokers))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	topics := event.Topics{Prefix: l.prefix}
	var names []string
	for _, t := range mirror.Mirrored {
		names = append(names, topics.Object(t))
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, names...)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var failed error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			failed = o.Err
			return
		}
		out[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Offset
	})
	return out, failed
}

// reached reports whether stored is at or past end on every partition
// (a partition the target stores nothing for is at 0).
func reached(stored, end map[string]int64) bool {
	for tp, n := range end {
		if n > 0 && stored[tp] < n {
			return false
		}
	}
	return true
}
