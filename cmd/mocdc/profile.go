package main

import (
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles writes a CPU profile to $MOCDC_CPUPROFILE and an execution
// trace to $MOCDC_TRACE while the process runs (go tool pprof / go tool
// trace read them); the benchmarks use it. The returned stop ends both and
// must run before the process exits. Unset: nothing is recorded.
func startProfiles(log *slog.Logger) (stop func()) {
	var stops []func()
	if path := os.Getenv("MOCDC_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err != nil {
			log.Warn("MOCDC_CPUPROFILE: no CPU profile", slog.Any("err", err))
		} else if err := pprof.StartCPUProfile(f); err != nil {
			log.Warn("MOCDC_CPUPROFILE: no CPU profile", slog.Any("err", err))
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("MOCDC_TRACE"); path != "" {
		if f, err := os.Create(path); err != nil {
			log.Warn("MOCDC_TRACE: no trace", slog.Any("err", err))
		} else if err := trace.Start(f); err != nil {
			log.Warn("MOCDC_TRACE: no trace", slog.Any("err", err))
			f.Close()
		} else {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
