package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// peerReport collects `bench peer`'s figures per peer and prints them as a
// markdown table for bench/results.md: the median (min–max) over the runs,
// and each peer's median as a ratio to capture's.
type peerReport struct {
	rates       []float64
	drainRate   map[string][]float64 // MO changes/s on the backlog
	drainCPU    map[string][]float64 // CPU s per 1,000 MO changes on the backlog
	windows     map[string]map[float64][]steadyResult
	peakRSS     map[string]int64 // KiB
	loadAverage []string
	failures    []string
}

// fail notes a window that did not complete (its figures are left out).
func (r *peerReport) fail(what string) { r.failures = append(r.failures, what) }

const mocdcPeer, recvPeer = "mocdc", "pg_recvlogical"

func newPeerReport(rates []float64) *peerReport {
	return &peerReport{rates: rates, drainRate: map[string][]float64{}, drainCPU: map[string][]float64{},
		windows: map[string]map[float64][]steadyResult{}, peakRSS: map[string]int64{}}
}

func (r *peerReport) backlog(peer string, rate, cpuPerK float64) {
	r.drainRate[peer] = append(r.drainRate[peer], rate)
	r.drainCPU[peer] = append(r.drainCPU[peer], cpuPerK)
	r.loadAverage = append(r.loadAverage, load())
}

func (r *peerReport) steady(peer string, rate float64, f steadyResult) {
	if r.windows[peer] == nil {
		r.windows[peer] = map[float64][]steadyResult{}
	}
	r.windows[peer][rate] = append(r.windows[peer][rate], f)
	r.loadAverage = append(r.loadAverage, load())
}

func (r *peerReport) rss(peer string, kib int64) {
	r.peakRSS[peer] = max(r.peakRSS[peer], kib)
}

// spread is the median, min and max of xs.
type spread struct{ med, lo, hi float64 }

func spreadOf(xs []float64) (spread, bool) {
	if len(xs) == 0 {
		return spread{}, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{med, s[0], s[len(s)-1]}, true
}

// cell formats a peer's figure: median (min–max) and, but for capture's
// own column, its ratio to capture's median.
func cell(xs []float64, ref []float64, peer string, format func(float64) string) string {
	s, ok := spreadOf(xs)
	if !ok {
		return "—"
	}
	out := format(s.med)
	if s.lo != s.hi {
		out += " (" + format(s.lo) + "–" + format(s.hi) + ")"
	}
	if m, ok := spreadOf(ref); ok && peer != mocdcPeer && m.med > 0 {
		out += fmt.Sprintf(" = %.2f×", s.med/m.med)
	}
	return out
}

func (r *peerReport) peers() []string {
	out := []string{mocdcPeer}
	for _, pc := range peerConfigs {
		out = append(out, pc.name)
	}
	return append(out, recvPeer)
}

func (r *peerReport) print(runs, persons, backlog int, d time.Duration) {
	peers := r.peers()
	f0 := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	f2 := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	fms := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	row := func(label string, vals func(peer string) []float64, format func(float64) string) {
		cells := []string{label}
		ref := vals(mocdcPeer)
		if strings.HasPrefix(label, "churn reached") {
			ref = nil // the load each peer saw, not a figure of the peer
		}
		for _, p := range peers {
			cells = append(cells, cell(vals(p), ref, p, format))
		}
		fmt.Println("| " + strings.Join(cells, " | ") + " |")
	}
	fmt.Printf("\nmocdc beside its peers: median (min–max) of %d runs, %d persons, backlog %d MO changes, steady windows %s;\n", runs, persons, backlog, d)
	fmt.Printf("= N× is the ratio of a peer's median to mocdc's. Load average during the run: %s\n\n", strings.Join(uniq(r.loadAverage), "; "))
	fmt.Println("| | " + strings.Join(peers, " | ") + " |")
	fmt.Println("|---" + strings.Repeat("|---", len(peers)) + "|")
	row("backlog drain, MO changes/s", func(p string) []float64 { return r.drainRate[p] }, f0)
	for _, rate := range r.rates {
		row(fmt.Sprintf("commit→Kafka p50 at %.0f/s, ms", rate), r.window(rate, func(f steadyResult) float64 { return msf(f.p50) }), fms)
		row(fmt.Sprintf("commit→Kafka p99 at %.0f/s, ms", rate), r.window(rate, func(f steadyResult) float64 { return msf(f.p99) }), fms)
	}
	row("CPU s per 1,000 MO changes: backlog", func(p string) []float64 { return r.drainCPU[p] }, f2)
	for _, rate := range r.rates {
		row(fmt.Sprintf("CPU s per 1,000 MO changes: steady %.0f/s", rate), r.window(rate, func(f steadyResult) float64 { return f.cpuPerK }), f2)
	}
	for _, rate := range r.rates {
		row(fmt.Sprintf("churn reached at %.0f/s, changes/s", rate), r.window(rate, func(f steadyResult) float64 { return f.reached }), f0)
	}
	row("peak RSS, MiB", func(p string) []float64 {
		if v, ok := r.peakRSS[p]; ok && v > 0 {
			return []float64{float64(v) / 1024}
		}
		return nil
	}, f0)
	for _, f := range r.failures {
		fmt.Printf("\nNOT IN THE TABLE (did not complete): %s\n", f)
	}
}

func (r *peerReport) window(rate float64, get func(steadyResult) float64) func(string) []float64 {
	return func(peer string) []float64 {
		var out []float64
		for _, f := range r.windows[peer][rate] {
			out = append(out, get(f))
		}
		return out
	}
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// uniq keeps the first and last few distinct entries (load changes slowly).
func uniq(xs []string) []string {
	var out []string
	for _, x := range xs {
		x = strings.TrimPrefix(x, "load ")
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	if len(out) > 6 {
		out = append(append(out[:3:3], "…"), out[len(out)-3:]...)
	}
	return out
}
