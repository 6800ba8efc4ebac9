package capture

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// TestCaptureKafkaFaults: with Kafka failing produce and commit requests
// now and then (franz-go's in-process kfake cluster with injected faults,
// the MO store on the real PostgreSQL), capture logs, retries from its
// checkpoint, and publishes every change exactly once.
func TestCaptureKafkaFaults(t *testing.T) {
	e := newEnv(t)
	e.seed(30)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	e.brokers = cluster.ListenAddrs()

	var produces, commits, injected atomic.Int64
	inject := func(n *atomic.Int64, every int64) func(kmsg.Request) (kmsg.Response, error, bool) {
		return func(kmsg.Request) (kmsg.Response, error, bool) {
			cluster.KeepControl()
			if n.Add(1)%every == 0 {
				injected.Add(1)
				return nil, errors.New("injected broker failure"), true
			}
			return nil, nil, false
		}
	}
	cluster.ControlKey(kmsg.Produce.Int16(), inject(&produces, 23))
	cluster.ControlKey(kmsg.EndTxn.Int16(), inject(&commits, 7))
	// Every 5th commit is refused outright (not just a lost connection):
	// the Kafka transaction fails and capture must restart from its
	// checkpoint.
	var refused atomic.Int64
	cluster.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if refused.Add(1)%5 != 0 {
			return nil, nil, false
		}
		injected.Add(1)
		resp := req.(*kmsg.EndTxnRequest).ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.UnknownServerError.Code
		return resp, nil, true
	})

	c := e.capture(nil, func(cfg *Config) { cfg.BatchEvents = 40 })
	e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(2 * time.Minute)
	if _, err := demo.Churn(context.Background(), e.pool, demo.ChurnOptions{Seed: 8, Rate: 150, MaxChanges: 500}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaughtUp(3 * time.Minute)
	if injected.Load() == 0 {
		t.Fatalf("no fault was injected")
	}
	got := e.readObjects(1, time.Minute)
	checkSequences(t, got, e.registrations(context.Background()))
	t.Logf("%d faults injected, %d capture restarts, %d events", injected.Load(), int(counter(c.metrics.restarts)), len(got.events))
}
