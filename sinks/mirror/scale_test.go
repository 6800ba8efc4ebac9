package mirror

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Instances of one mirror share the partitions: while changes flow, a
// second instance joins, the first is killed with SIGKILL and a third
// joins. The tables end up exactly as the model says — the computed
// columns too, although the objects they depend on were applied by
// different instances — with no row lost or doubled.
// gotPartitions matches the runner's log line of an assignment that gave
// the instance partitions.
var gotPartitions = regexp.MustCompile(`partitions assigned.*"?partitions"?[=:]"?[1-9]`)

func TestInstancesJoinAndDie(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		k := newKafkaEnvN(t, 6)
		cfg := newTarget(t, dialect, Actual)
		cfg.Batch.MaxRecords = 100
		w := newWorkload(2)
		k.send(t, w.seed(200, 300)...)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)

		a := startHelper(t, cfg, k, "a")
		var b, c *helper
		const rounds = 150
		for i := 0; i < rounds; i++ {
			var batch []msg
			for j := 0; j < 20; j++ {
				batch = append(batch, w.change()...)
			}
			k.send(t, batch...)
			switch i {
			case rounds / 4:
				b = startHelper(t, cfg, k, "b")
			case rounds / 2:
				a.kill()
				t.Logf("killed a after %d of %d rounds; applied %d records so far", i, rounds, applied(t, db, d))
			case 3 * rounds / 4:
				c = startHelper(t, cfg, k, "c")
			}
			time.Sleep(40 * time.Millisecond)
		}
		k.waitCaughtUp(t, db, d, 3*time.Minute)
		waitWorkload(t, db, d, w, 30*time.Second)
		for name, h := range map[string]*helper{"a": a, "b": b, "c": c} {
			l := h.logs()
			t.Logf("instance %s: %d partition assignments, %d retried transactions (lost races with another instance)",
				name, len(gotPartitions.FindAllString(l, -1)), strings.Count(l, "apply failed; retrying"))
		}
		for name, h := range map[string]*helper{"b": b, "c": c} {
			if !gotPartitions.MatchString(h.logs()) {
				t.Errorf("instance %s never got a partition: the instances did not share the work", name)
			}
		}
		b.stop(t)
		c.stop(t)
	})
}
