package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// progress logs one line every interval with the rates that tell an
// operator the pipeline is moving: capture events/s and MO changes/s, slot
// lag, and whatever the sinks in this process report.
func progress(ctx context.Context, log *slog.Logger, g prometheus.Gatherer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev := map[string]float64{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := sums(g)
		attrs := progressAttrs(now, prev, every)
		log.Info("progress", attrs...)
		prev = now
	}
}

// progressAttrs are the progress line's values, always in the same order:
// capture's first, then the sinks' rates sorted by name.
func progressAttrs(now, prev map[string]float64, every time.Duration) []any {
	rate := func(name string) string {
		return fmt.Sprintf("%.0f/s", (now[name]-prev[name])/every.Seconds())
	}
	attrs := []any{
		slog.String("events", rate("mocdc_capture_events_total")),
		slog.String("source_txns", rate("mocdc_capture_transactions_total")),
		slog.Float64("events_total", now["mocdc_capture_events_total"]),
		slog.String("slot_lag", fmt.Sprintf("%.0f KiB", now["mocdc_capture_slot_lag_bytes"]/1024)),
	}
	var sinks []string
	for name := range now {
		if strings.HasPrefix(name, "mocdc_sink_") && strings.HasSuffix(name, "_records_total") ||
			strings.HasPrefix(name, "mocdc_ledger_") && strings.HasSuffix(name, "_entries_total") {
			sinks = append(sinks, name)
		}
	}
	sort.Strings(sinks)
	for _, name := range sinks {
		attrs = append(attrs, slog.String(strings.TrimSuffix(strings.TrimPrefix(name, "mocdc_"), "_total"), rate(name)))
	}
	return attrs
}

// sums returns every metric family's value summed over its labels.
func sums(g prometheus.Gatherer) map[string]float64 {
	out := map[string]float64{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				out[mf.GetName()] += m.Counter.GetValue()
			case m.Gauge != nil:
				out[mf.GetName()] += m.Gauge.GetValue()
			}
		}
	}
	return out
}
