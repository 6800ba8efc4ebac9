package main

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The progress line's keys come in one order every time: capture's, then
// the sinks' sorted by name (a map's order would shuffle them).
func TestProgressKeyOrder(t *testing.T) {
	now := map[string]float64{
		"mocdc_capture_events_total": 100, "mocdc_capture_transactions_total": 10, "mocdc_capture_slot_lag_bytes": 2048,
		"mocdc_sink_records_total": 50, "mocdc_ledger_entries_total": 40, "mocdc_sink_mirror_rows_written_total": 7,
	}
	want := "events source_txns events_total slot_lag ledger_entries sink_records"
	for range 20 {
		var keys []string
		for _, a := range progressAttrs(now, map[string]float64{}, 5*time.Second) {
			keys = append(keys, a.(slog.Attr).Key)
		}
		if got := strings.Join(keys, " "); got != want {
			t.Fatalf("progress keys %q, want %q", got, want)
		}
	}
}

// logKeys returns the keys of one slog text line, in order (values may be
// quoted and hold spaces and '=').
func logKeys(line string) []string {
	var keys []string
	tok := regexp.MustCompile(`([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)`)
	for _, m := range tok.FindAllStringSubmatch(line, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// duplicateKeys returns the lines of log that name a key twice
// (target=pg target=pg), with the key.
func duplicateKeys(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		seen := map[string]bool{}
		for _, k := range logKeys(line) {
			if seen[k] {
				out = append(out, k+": "+line)
				break
			}
			seen[k] = true
		}
	}
	return out
}

func TestDuplicateKeys(t *testing.T) {
	got := duplicateKeys(`time=x level=INFO msg="a=b c" target=pg
time=x level=INFO msg=y component=mirror target=pg sink=mirror-pg target=pg`)
	if len(got) != 1 || !strings.HasPrefix(got[0], "target: ") {
		t.Errorf("duplicateKeys = %q", got)
	}
}
