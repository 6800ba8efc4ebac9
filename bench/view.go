package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// benchView measures the restart cost of the acting sinks' view of MO
// (sinks/view): the time to read existing object topics from the start
// into a View, and the heap the View then holds. It reads the topics of
// -prefix as they are (e.g. those `make run` filled) and writes nothing.
func benchView(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("view", flag.ExitOnError)
	prefix := fs.String("prefix", "mo", "topic prefix of the object topics to read")
	typeList := fs.String("types", "", "comma-separated MO types to follow (default all; the AD sink's: person,org_unit,engagement,ituser,address,manager,class,itsystem,organisation)")
	_ = fs.Parse(args)
	brokers := os.Getenv("MOCDC_TEST_KAFKA")
	if brokers == "" {
		return fmt.Errorf("MOCDC_TEST_KAFKA unset: run `deploy/local/services up` and `source .mocdc/env`")
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var types []mo.Type
	for _, t := range strings.Split(*typeList, ",") {
		if t != "" {
			types = append(types, mo.Type(t))
		}
	}
	v := view.New()
	var events atomic.Int64
	f, err := view.NewFollower(v, view.FollowerDeps{Name: "bench", KafkaOpts: []kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...)},
		Topics: event.Topics{Prefix: *prefix}, Types: types, OnTouch: func(view.Touch) { events.Add(1) }})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- f.Run(ctx) }()
	if err := f.WaitReady(ctx); err != nil {
		return err
	}
	took := time.Since(start)
	cancel()
	<-done
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	objects := 0
	for _, t := range mo.Types {
		objects += v.Len(t)
	}
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	fmt.Printf("view of %s.*: %d events read, %d objects held (%d persons), caught up in %.1f s (%.0f events/s); heap %.1f MiB (%.0f bytes/object)\n",
		*prefix, events.Load(), objects, v.Len(mo.Person), took.Seconds(), float64(events.Load())/took.Seconds(), float64(heap)/(1<<20), float64(heap)/float64(max(objects, 1)))
	if path := os.Getenv("MOCDC_BENCH_HEAP"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	runtime.KeepAlive(v)
	return nil
}
