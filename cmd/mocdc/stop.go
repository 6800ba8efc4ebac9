package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/os2mo-cdc/mocdc/capture"
)

// drainTimeout bounds how long `mocdc run`, once capture has stopped on
// SIGINT/SIGTERM, lets the sinks apply what capture published before they
// stop too.
const drainTimeout = 10 * time.Second

// stopOrder stops `mocdc run` in order. On a signal the sources (capture
// and the demo churn) stop first — capture publishes what it has read,
// within capture.StopTimeout — then the sinks run on until they have
// applied everything (their lag is 0 and nothing moved for a second) or
// drainTimeout passed, and stop: each rolls back (mirrors) or finishes
// (ledger) its open batch and leaves its consumer group. When a component
// fails instead, the sinks stop at once.
type stopOrder struct {
	parent  context.Context // ends on the signal
	group   context.Context // ends on the signal or the first failure
	sinks   context.Context // what the sinks run with
	cancel  context.CancelFunc
	sources sync.WaitGroup
	log     *slog.Logger
	reg     prometheus.Gatherer
	started time.Time // when the stop began

	mu    sync.Mutex
	stand []any // where the sinks stood when they were stopped
}

func newStopOrder(parent, group context.Context, log *slog.Logger, reg prometheus.Gatherer) *stopOrder {
	s := &stopOrder{parent: parent, group: group, log: log, reg: reg}
	s.sinks, s.cancel = context.WithCancel(context.WithoutCancel(group))
	go s.watch()
	return s
}

// source runs fn as a source: the sinks drain after every source returned.
func (s *stopOrder) source(fn func() error) func() error {
	s.sources.Add(1)
	return func() error {
		defer s.sources.Done()
		return fn()
	}
}

func (s *stopOrder) watch() {
	<-s.group.Done()
	s.mu.Lock()
	s.started = time.Now()
	s.mu.Unlock()
	if s.parent.Err() == nil {
		// A component failed: the others stop at once, no draining.
		s.mu.Lock()
		s.stand = s.where()
		s.mu.Unlock()
		s.cancel()
		return
	}
	s.log.Info("stopping: capture first, then the sinks apply what it published",
		slog.Duration("capture_within", capture.StopTimeout), slog.Duration("sinks_within", drainTimeout))
	s.sources.Wait()
	drained := s.drain()
	s.mu.Lock()
	s.stand = append(s.where(), slog.Bool("drained", drained))
	s.mu.Unlock()
	s.cancel()
}

// drain waits until the sinks are caught up and idle, or drainTimeout.
func (s *stopOrder) drain() bool {
	deadline := time.Now().Add(drainTimeout)
	prev, quietSince := "", time.Now()
	for time.Now().Before(deadline) {
		m := sums(s.reg)
		var lag float64
		var moved []string
		for name, v := range m {
			switch {
			case name == "mocdc_sink_lag_records", name == "mocdc_ledger_consume_lag_records":
				lag += v
			case strings.HasPrefix(name, "mocdc_sink_") && strings.HasSuffix(name, "_records_total"),
				name == "mocdc_ledger_entries_total":
				moved = append(moved, fmt.Sprintf("%s=%v", name, v))
			}
		}
		slices.Sort(moved)
		now := strings.Join(moved, ",")
		if now != prev {
			prev, quietSince = now, time.Now()
		}
		if lag == 0 && time.Since(quietSince) >= time.Second {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// where describes, from the metrics, where capture and each sink stand.
func (s *stopOrder) where() []any {
	var out []any
	lagBySink := map[string]float64{}
	mfs, _ := s.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "mocdc_capture_confirmed_lsn":
				l := uint64(m.GetGauge().GetValue())
				out = append(out, slog.String("capture_confirmed_lsn", fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l))))
			case "mocdc_sink_lag_records":
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "sink" {
						lagBySink[lp.GetValue()] += m.GetGauge().GetValue()
					}
				}
			case "mocdc_ledger_consume_lag_records":
				out = append(out, slog.Float64("ledger_lag", m.GetGauge().GetValue()))
			case "mocdc_ledger_head_sequence":
				out = append(out, slog.Float64("ledger_head_sequence", m.GetGauge().GetValue()))
			}
		}
	}
	names := make([]string, 0, len(lagBySink))
	for n := range lagBySink {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, slog.Float64(n+"_lag", lagBySink[n]))
	}
	return out
}

// stopped logs the one line that says mocdc run stopped and where each
// component stands; err is what the components returned.
func (s *stopOrder) stopped(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started.IsZero() {
		return
	}
	attrs := append([]any{slog.Duration("took", time.Since(s.started).Round(time.Millisecond))}, s.stand...)
	if err != nil {
		// main prints the error itself.
		s.log.Info("stopped after a failure", attrs...)
		return
	}
	s.log.Info("stopped", attrs...)
}
