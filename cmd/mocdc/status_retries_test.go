package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A mirror whose batches keep failing shows it in its row: RETRIES (the
// attempts in a row that failed, as the target's last health report
// says), STATE "failing" and LAST ERROR with when and which instance; a
// mirror that never failed shows "-".
func TestStatusTableShowsRetriesAndLastError(t *testing.T) {
	at := time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)
	three, zero := 3, 0
	lag := int64(12)
	st := &Status{Time: at, Sinks: []SinkStatus{
		{Name: "bi", Kind: "mirror", Group: "mocdc-mirror-bi", Lag: &lag, LagExact: true, Retries: &three,
			LastError: "mirror bi: apply 5000 records: write enheder: mssql: Lock request time out period exceeded. (1222)", LastErrorAt: &at, Instance: "host-a/4711"},
		{Name: "dwh", Kind: "mirror", Group: "mocdc-mirror-dwh", Lag: new(int64), LagExact: true, Retries: &zero},
		{Name: "pg", Kind: "mirror", Group: "mocdc-mirror-pg", Lag: new(int64), LagExact: true},
	}}
	var buf bytes.Buffer
	writeStatus(&buf, st)
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header, bi, dwh, pg := lines[len(lines)-4], lines[len(lines)-3], lines[len(lines)-2], lines[len(lines)-1]
	for _, col := range []string{"RETRIES", "STATE", "LAST ERROR"} {
		if !strings.Contains(header, col) {
			t.Fatalf("no %s column:\n%s", col, out)
		}
	}
	col := strings.Index(header, "RETRIES")
	if got := strings.Fields(bi[col:])[0]; got != "3" {
		t.Errorf("RETRIES of bi = %q:\n%s", got, out)
	}
	for _, want := range []string{"catching up, failing", "Lock request time out period exceeded. (1222) (2026-06-15 12:30:00, host-a/4711)"} {
		if !strings.Contains(bi, want) {
			t.Errorf("bi's row lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Fields(dwh[col:])[0]; got != "0" || strings.Contains(dwh, "failing") {
		t.Errorf("dwh recovered: %q", dwh)
	}
	if got := strings.Fields(pg[col:])[0]; got != "-" {
		t.Errorf("pg never failed: RETRIES %q", got)
	}
}
