package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
)

const e2eCVR = "29189846"

// TestFKEndToEnd: capture and the fk sink run as processes against real
// PostgreSQL and Kafka and the OS2sync double. While churn (label changes
// and unit moves included) runs, the sink is killed with SIGKILL again and
// again. Afterwards FK Organisation (the double's state) equals what the
// MO store says by SQL, no account is in FK twice, the double refused
// nothing, and a restart — a replay of every topic from offset 0 — sends
// no request at all. Then, without kills, it measures requests per MO
// change and the commit-to-FK latency.
func TestFKEndToEnd(t *testing.T) {
	double := fkdouble.New(fkdouble.Config{APIKey: "e2e-key", ApplyEvery: 10 * time.Millisecond})
	defer double.Close()
	srv := httptest.NewServer(double.Handler())
	defer srv.Close()

	// MOCDC_FK_E2E=persons,changes,rate scales the measurement (default
	// 250,300,50: small enough for CI).
	persons, measure, rate := 250, 300, 50.0
	if v := os.Getenv("MOCDC_FK_E2E"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%g", &persons, &measure, &rate); err != nil {
			t.Fatalf("MOCDC_FK_E2E=%q: want persons,changes,rate", v)
		}
	}
	e := newE2E(t, persons, "")
	ctx := context.Background()
	rules, fkSection := fkSetup(t, e, srv.URL)
	appendFile(t, e.config, fkSection)
	// The sink's own copy, with a metrics port (capture reads the other).
	port := freePort(t)
	sinkConfig := filepath.Join(e.dir, "fk.yaml")
	b, _ := os.ReadFile(e.config)
	if err := os.WriteFile(sinkConfig, append(b, fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%s\n", port)...), 0o600); err != nil {
		t.Fatal(err)
	}

	e.spawn("capture", "--config", e.config)
	e.waitSnapshot()
	sink := e.spawn("sink", "fk", "--config", sinkConfig)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	churned := make(chan demo.ChurnStats, 1)
	go func() {
		st, err := demo.Churn(cctx, e.pool, demo.ChurnOptions{Seed: 15, Rate: 80, MaxChanges: 700, Workers: 2}, nil)
		if err != nil {
			t.Error(err)
		}
		churned <- st
	}()
	rng := rand.New(rand.NewPCG(15, 15))
	kills := 0
	for running := true; running; {
		select {
		case <-churned:
			running = false
			continue
		case <-time.After(time.Duration(400+rng.IntN(1200)) * time.Millisecond):
		}
		sink.kill()
		sink = e.spawn("sink", "fk", "--config", sinkConfig)
		kills++
	}
	e.waitCaptured()
	e.compareFK(t, double, rules, 2*time.Minute)
	// A kill between a write and the commit of its digest repeats that
	// batch's writes: an upsert again changes nothing, a delete again is a
	// delete of an absent object, which OS2sync's queue logs as failed.
	// Anything else the double refused is a request the real server
	// would refuse too: the sink must never send one.
	repeated := 0
	for _, f := range double.Failures() {
		if f.Operation == "DELETE" && strings.HasPrefix(f.Error, "no ") {
			repeated++
			continue
		}
		t.Errorf("the double's queue refused a write: %+v", f)
	}
	if st := double.Stats(); st.Rejected != 0 {
		t.Errorf("the double refused %d requests: %v", st.Rejected, st.Requests)
	}
	t.Logf("%d kills of the sink during churn; %d deletes repeated after a kill", kills, repeated)

	// A restart reads every topic from offset 0 again: nothing is sent.
	// First the sink must have committed the digests of what it sent (its
	// position at the end, lag 0): a kill between a reconcile's writes and
	// that commit makes the restart send them again, at least once by
	// design, and a loaded machine makes that window long.
	waitForStatus(t, e, sinkConfig)
	sink.kill()
	before := double.Stats().Total()
	logs := countLines(t, filepath.Join(e.dir, "sink.log"), "fk caught up")
	sink = e.spawn("sink", "fk", "--config", sinkConfig)
	e.waitLog(t, "sink", "fk caught up", logs+1)
	if n := double.Stats().Total() - before; n != 0 {
		t.Errorf("a restart (replay from offset 0) sent %d requests, want 0: %v", n, double.Stats().Requests)
	}

	// mocdc status sees the sink caught up (its position follows while idle).
	waitForStatus(t, e, sinkConfig)

	// Measure: churn without kills.
	marks, _ := e.marks()
	before = double.Stats().Total()
	if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 16, Rate: rate, MaxChanges: measure, Workers: 1}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaptured()
	e.compareFK(t, double, rules, time.Minute)
	changes := len(e.regsAfter(marks))
	reqs := double.Stats().Total() - before
	m := scrape(t, port)
	t.Logf("measured: %d MO registrations caused %d OS2sync requests (%.2f per MO change); commit→FK accepted: mean %.0f ms, p50 ≤ %s, p99 ≤ %s over %d writes",
		changes, reqs, float64(reqs)/float64(max(changes, 1)), 1000*m.sum/max(m.count, 1), m.quantile(0.5), m.quantile(0.99), int(m.count))
}

// compareFK waits until the double's state equals the oracle (the sink
// and the double's queue need a moment), then reports every difference.
// fkSetup picks the FK sink's rules from the demo store of e — the top
// unit, one excluded subtree, two hierarchy labels, an ignored level — and
// returns them with the fk: section that configures the sink against the
// OS2sync at url.
func fkSetup(t *testing.T, e *e2e, url string) (fkRules, string) {
	t.Helper()
	ctx := context.Background()
	cat, err := demo.LoadCatalog(ctx, e.pool, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rules := fkRules{excluded: map[string]bool{}, labels: map[string]bool{"Linjeorganisation": true, "Selvejet institution": true}, levels: map[string]bool{"N6": true}}
	var level1 []string
	for _, u := range cat.Units {
		if u.Parent == "" && (u.To == nil) {
			rules.top = u.UUID
		}
	}
	for _, u := range cat.Units {
		if u.Parent == rules.top {
			level1 = append(level1, u.UUID)
		}
	}
	sort.Strings(level1)
	if rules.top == "" || len(level1) < 2 {
		t.Fatalf("demo store: no top unit or too few units below it (%d)", len(level1))
	}
	excluded := level1[len(level1)-1]
	rules.excluded[excluded] = true
	fkSection := fmt.Sprintf(`fk:
  os2sync:
    url: %s/api
    cvr: "%s"
    api_key: e2e-key
    rate_limit: 0
    retry: {min: 50ms, max: 500ms}
  top_unit: %s
  excluded_units: [%s]
  hierarchy_labels: [Linjeorganisation, Selvejet institution]
  ignored_unit_levels: [N6]
  batch: {max_wait: 50ms}
  retry: {min: 100ms, max: 1s}
`, url, e2eCVR, rules.top, excluded)
	return rules, fkSection
}

func (e *e2e) compareFK(t *testing.T, d *fkdouble.Server, r fkRules, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var diffs []string
	for {
		units, users := fkOracle(t, e.pool, r)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = d.Drain(ctx)
		cancel()
		diffs = diffFK(d.State(e2eCVR), units, users)
		if len(diffs) == 0 {
			t.Logf("FK holds %d units and %d users, as the MO store says", len(units), len(users))
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
	}
	t.Errorf("FK differs from the MO store:\n%s\nsink log: %s", strings.Join(diffs, "\n"), e.tail("sink"))
}

func s(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func diffFK(st fkdouble.State, units, users map[string]fkWant) []string {
	var out []string
	for uuid, w := range units {
		g, ok := st.OrgUnits[uuid]
		if !ok {
			out = append(out, "missing unit "+uuid+" "+w.unitName)
			continue
		}
		got := fkWant{unitName: s(g.Name), parent: s(g.ParentOrgUnitUuid), email: s(g.Email), phone: s(g.PhoneNumber),
			extra: map[string]string{"Post": s(g.Post), "Ean": s(g.Ean), "PNR": s(g.PNR), "Url": s(g.Url)}}
		for k, v := range got.extra {
			if v == "" {
				delete(got.extra, k)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			out = append(out, fmt.Sprintf("unit %s: got %+v, want %+v", uuid, got, w))
		}
	}
	for uuid := range st.OrgUnits {
		if _, ok := units[uuid]; !ok {
			out = append(out, "unit in FK that MO does not send: "+uuid)
		}
	}
	accounts := map[string]string{}
	for uuid, g := range st.Users {
		if other, dup := accounts[s(g.UserId)]; dup {
			out = append(out, fmt.Sprintf("account %s is in FK twice: %s and %s", s(g.UserId), other, uuid))
		}
		accounts[s(g.UserId)] = uuid
		w, ok := users[uuid]
		if !ok {
			out = append(out, "user in FK that MO does not send: "+uuid+" "+s(g.UserId))
			continue
		}
		got := fkWant{userID: s(g.UserId), name: s(g.Person.Name), email: s(g.Email), phone: s(g.PhoneNumber), positions: map[string]bool{}}
		for _, p := range g.Positions {
			k := s(p.Name) + "|" + s(p.OrgUnitUuid) + "|" + s(p.StartDate)
			if got.positions[k] {
				out = append(out, "user "+uuid+": position twice: "+k)
			}
			got.positions[k] = true
		}
		if g.Person.Cpr != nil {
			out = append(out, "user "+uuid+": a CPR number was sent although sync_cpr is off")
		}
		if fmt.Sprint(got.userID, got.name, got.email, got.phone, sortedStrings(got.positions)) != fmt.Sprint(w.userID, w.name, w.email, w.phone, sortedStrings(w.positions)) {
			out = append(out, fmt.Sprintf("user %s: got %s %q email %q phone %q %v, want %s %q email %q phone %q %v", uuid,
				got.userID, got.name, got.email, got.phone, sortedStrings(got.positions), w.userID, w.name, w.email, w.phone, sortedStrings(w.positions)))
		}
	}
	for uuid, w := range users {
		if _, ok := st.Users[uuid]; !ok {
			out = append(out, "missing user "+uuid+" "+w.userID)
		}
	}
	sort.Strings(out)
	return out
}

func appendFile(t *testing.T, path, text string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func countLines(t *testing.T, path, substr string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), substr)
}

// waitLog waits until the process's log holds substr n times.
func (e *e2e) waitLog(t *testing.T, name, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for countLines(t, filepath.Join(e.dir, name+".log"), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged by %s within 2 minutes: %s", substr, name, e.tail(name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// histogram is mocdc_fk_commit_to_fk_seconds as scraped.
type histogram struct {
	sum, count float64
	buckets    [][2]float64 // upper bound, cumulative count
}

func (h histogram) quantile(q float64) string {
	for _, b := range h.buckets {
		if b[1] >= q*h.count {
			return strconv.FormatFloat(b[0]*1000, 'f', 0, 64) + " ms"
		}
	}
	return "+Inf"
}

func scrape(t *testing.T, port string) histogram {
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatalf("scrape the sink's metrics: %v", err)
	}
	defer resp.Body.Close()
	var h histogram
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) != 2 || !strings.HasPrefix(line, "mocdc_fk_commit_to_fk_seconds") {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch {
		case strings.HasPrefix(f[0], "mocdc_fk_commit_to_fk_seconds_sum"):
			h.sum = v
		case strings.HasPrefix(f[0], "mocdc_fk_commit_to_fk_seconds_count"):
			h.count = v
		case strings.Contains(f[0], `le="`):
			le := f[0][strings.Index(f[0], `le="`)+4 : strings.LastIndex(f[0], `"`)]
			ub, err := strconv.ParseFloat(le, 64)
			if err == nil {
				h.buckets = append(h.buckets, [2]float64{ub, v})
			}
		}
	}
	return h
}

// waitForStatus waits until `mocdc status --json` shows the fk row with
// lag 0 and no error.
func waitForStatus(t *testing.T, e *e2e, config string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		out, _ := exec.Command(e.bin, "status", "--config", config, "--json").Output()
		var st Status
		if json.Unmarshal(out, &st) == nil {
			for _, s := range st.Sinks {
				if s.Kind == "fk" {
					last = fmt.Sprintf("%+v", s)
					if s.Error == "" && s.Lag != nil && *s.Lag == 0 {
						return
					}
				}
			}
		}
		time.Sleep(time.Second)
	}
	t.Errorf("mocdc status did not show the fk sink caught up within a minute; last row: %s", last)
}
