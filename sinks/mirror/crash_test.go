package mirror

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The mirror is killed with SIGKILL again and again while it applies
// batches; afterwards the tables hold exactly what the model says, with no
// row lost or doubled.
func TestKillNineMidBatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		k := newKafkaEnv(t)
		cfg := newTarget(t, dialect, Actual)
		cfg.Batch.MaxRecords = 50 // many small transactions: kills land inside them
		w := newWorkload(1)
		msgs := w.seed(300, 400)
		for len(msgs) < 6000 {
			msgs = append(msgs, w.change()...)
		}
		k.send(t, msgs...)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)
		total := int64(len(msgs))

		rnd := rand.New(rand.NewPCG(42, 1))
		kills, midStream := 0, 0
		for i := 0; i < 10; i++ {
			before := applied(t, db, d)
			if before >= total {
				break
			}
			h := startHelper(t, cfg, k, fmt.Sprintf("run%d", i))
			// Wait until it is applying, then kill it at a random moment.
			deadline := time.Now().Add(30 * time.Second)
			for applied(t, db, d) == before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(time.Duration(rnd.IntN(200)) * time.Millisecond)
			h.kill()
			after := applied(t, db, d)
			kills++
			if after < total {
				midStream++
			}
			t.Logf("kill %d: applied %d → %d of %d records", i+1, before, after, total)
		}
		if midStream < 3 {
			t.Fatalf("only %d of %d kills hit the mirror while it was applying: the test did not test anything", midStream, kills)
		}
		h := startHelper(t, cfg, k, "final")
		k.waitCaughtUp(t, db, d, 3*time.Minute)
		waitWorkload(t, db, d, w, 30*time.Second)
		h.stop(t)
	})
}
