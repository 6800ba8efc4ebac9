package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5/pgxpool"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// TestADEndToEnd: capture and two instances of the AD sink run as
// processes against real PostgreSQL, Kafka and the local Samba AD DC. Some
// persons have accounts before (found by CPR); the sink creates the
// others'. While churn runs (hires, moves, job-function changes, new
// addresses, IT users relinked, terminations, future-dated changes) one
// instance, or both, is killed with SIGKILL again and again and restarted
// under its instance_id: a static member that takes its persons back at
// once (checked: well within the session timeout). Afterwards every
// account equals what the MO store says by SQL (ad_oracle_test.go), no
// person has two accounts, and a restart of both — a replay of every
// topic — changes no account (uSNChanged). Then, without kills, it
// measures commit→AD latency and writes per MO change.
func TestADEndToEnd(t *testing.T) {
	e := newE2E(t, 80, "")
	adEnv := testenv.LocalAD(t)
	ou := adEnv.NewOU(t, "e2ead")
	conn := adEnv.Conn(t)
	// Three persons in four (by uuid) have an account already, under an
	// old name, found by the CPR in employeeID; the sink creates the
	// fourth's (and the hires').
	rows, err := e.pool.Query(context.Background(), `
		SELECT b.bruger_id::text, u.fornavn, u.efternavn, replace(r.rel_maal_urn, 'urn:dk:cpr:person:', '')
		FROM actual_state.bruger_registrering b
		JOIN actual_state.bruger_attr_udvidelser u ON u.bruger_registrering_id = b.id AND (u.virkning).timeperiod @> now()
		JOIN actual_state.bruger_relation r ON r.bruger_registrering_id = b.id AND r.rel_type = 'tilknyttedepersoner'
		WHERE upper((b.registrering).timeperiod) = 'infinity' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type person struct{ given, sur, cpr string }
	var ps []person
	for rows.Next() {
		var uuid string
		var p person
		if err := rows.Scan(&uuid, &p.given, &p.sur, &p.cpr); err != nil {
			rows.Close()
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	rows.Close()
	pre := 0
	tag := strings.TrimPrefix(e.prefix, "t")[:6] // sAMAccountNames are unique domain-wide; other runs share the DC
	for i, p := range ps {
		if i%4 == 0 {
			continue
		}
		req := ldap.NewAddRequest("CN="+ldap.EscapeDN(fmt.Sprintf("%s, %s (%d)", p.sur, p.given, i))+","+ou, nil)
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		req.Attribute("sAMAccountName", []string{fmt.Sprintf("p%s%04d", tag, i)})
		req.Attribute("employeeID", []string{p.cpr})
		req.Attribute("userAccountControl", []string{"514"})
		if err := conn.Add(req); err != nil {
			t.Fatalf("add %s's account: %v", p.given, err)
		}
		pre++
	}

	const session = 30 * time.Second // far above the static rejoin checked below
	appendFile(t, e.config, fmt.Sprintf(`ad:
  url: %s
  ca_file: %s
  bind_dn: %s
  bind_password_file: %s
  base_dn: %s
  search_ous: ["%[6]s"]
  write_ous: ["%[6]s"]
  it_system: AD
  guid_field: external_id
  mapping:
    employeeID: "{{ .Person.CPR }}"
    company: ""
    mail: ""
    telephoneNumber: ""
    manager: ""
  create:
    ou: "%[6]s"
  rate_limit: -1
  retry: {min: 50ms, max: 1s}
  session_timeout: %[7]s
`, adEnv.URL, adEnv.CAFile, adEnv.BindDN, adEnv.PasswordFile, adEnv.BaseDN, ou, session))
	// Two instances, each with its own metrics port and the process's
	// instance_id (the top-level key, as a StatefulSet's ${POD_NAME}).
	b, _ := os.ReadFile(e.config)
	var configs, ports [2]string
	for i := range configs {
		ports[i] = freePort(t)
		configs[i] = filepath.Join(e.dir, fmt.Sprintf("ad-%d.yaml", i))
		extra := fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%s\ninstance_id: e2e-ad-%d\n", ports[i], i)
		if err := os.WriteFile(configs[i], append(append([]byte(nil), b...), extra...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var sinks [2]*proc
	start := func(i int) { sinks[i] = e.spawnAs(fmt.Sprintf("sink-%d", i), "sink", "ad", "--config", configs[i]) }
	logs := func() string { return "sink-0: " + e.tail("sink-0") + "\nsink-1: " + e.tail("sink-1") }
	began := time.Now()
	e.spawn("capture", "--config", e.config)
	e.waitSnapshot()
	t.Logf("capture's snapshot after %s", time.Since(began).Round(time.Millisecond))
	start(0)
	start(1)

	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		if _, err := demo.Churn(cctx, e.pool, demo.ChurnOptions{Seed: 21, Rate: 50, MaxChanges: 250, Workers: 2}, nil); err != nil {
			t.Error(err)
		}
	}()
	rng := rand.New(rand.NewPCG(21, 21))
	kills, both := 0, 0
	for running := true; running; {
		select {
		case <-churned:
			running = false
			continue
		case <-time.After(time.Duration(300+rng.IntN(1200)) * time.Millisecond):
		}
		switch i := rng.IntN(4); i {
		case 0, 1, 2: // one instance; the other goes on
			i %= 2
			sinks[i].kill()
			start(i)
			kills++
		default:
			sinks[0].kill()
			sinks[1].kill()
			start(0)
			start(1)
			kills += 2
			both++
		}
	}
	// Static membership: the restarted instances hold their partitions
	// again without waiting out the dead members' session timeout.
	churnEnd := time.Now()
	e.waitADMembers(t, e.prefix+".ad", []string{"e2e-ad-0", "e2e-ad-1"}, session/2)
	t.Logf("churn with kills over after %s; both instances held their partitions again %s later", churnEnd.Sub(began).Round(time.Millisecond), time.Since(churnEnd).Round(time.Millisecond))
	e.waitCaptured()
	// A deadline for a loaded machine (the shared DC serves one request at a
	// time): the comparison returns as soon as AD is equal.
	accounts := e.compareAD(t, conn, ou, pre, 4*time.Minute, logs)
	t.Logf("AD equal to the oracle %s after the churn", time.Since(churnEnd).Round(time.Millisecond))
	t.Logf("%d kills with SIGKILL during churn (%d of both instances at once); %d accounts (%d made before)", kills, both, len(accounts), pre)

	// A restart reads every topic again and reconciles everyone: nothing
	// is written, so no account's uSNChanged moves.
	for _, p := range ports {
		e.waitADIdle(t, p, logs)
	}
	sinks[0].kill()
	sinks[1].kill()
	before := readAccounts(t, conn, ou)
	resyncs := [2]int{}
	for i := range sinks {
		resyncs[i] = countLines(t, filepath.Join(e.dir, fmt.Sprintf("sink-%d.log", i)), "full resync")
		start(i)
	}
	for i := range sinks {
		e.waitLog(t, fmt.Sprintf("sink-%d", i), "full resync", resyncs[i]+1)
		e.waitADIdle(t, ports[i], logs)
	}
	after := readAccounts(t, conn, ou)
	for cpr, a := range before {
		if after[cpr]["uSNChanged"] != a["uSNChanged"] {
			t.Errorf("the replay changed %s (%s): uSNChanged %s → %s", a["dn"], cpr, a["uSNChanged"], after[cpr]["uSNChanged"])
		}
	}
	for _, p := range ports {
		if n := metricSum(t, p, "mocdc_sink_ad_writes_total"); n != 0 {
			t.Errorf("the replay made %v LDAP writes", n)
		}
	}

	// Measure: churn without kills.
	marks, _ := e.marks()
	if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 22, Rate: 20, MaxChanges: 120, Workers: 1}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaptured()
	for _, p := range ports {
		e.waitADIdle(t, p, logs)
	}
	e.compareAD(t, conn, ou, pre, 2*time.Minute, logs)
	changes := len(e.regsAfter(marks))
	writes := metricSum(t, ports[0], "mocdc_sink_ad_writes_total") + metricSum(t, ports[1], "mocdc_sink_ad_writes_total")
	h := mergeHist(metricFamily(t, ports[0], "mocdc_sink_ad_commit_to_write_seconds"), metricFamily(t, ports[1], "mocdc_sink_ad_commit_to_write_seconds"))
	s := mergeHist(metricFamily(t, ports[0], "mocdc_sink_ad_event_to_write_seconds"), metricFamily(t, ports[1], "mocdc_sink_ad_event_to_write_seconds"))
	t.Logf("measured (two instances): %d MO registrations caused %.0f LDAP writes (%.2f per MO change); commit→AD written: p50 ≤ %s, p99 ≤ %s over %d writes; of which in the sink (event read → written): p50 ≤ %s, p99 ≤ %s",
		changes, writes, writes/float64(max(changes, 1)), bucketQuantile(h, 0.5), bucketQuantile(h, 0.99), histCount(h), bucketQuantile(s, 0.5), bucketQuantile(s, 0.99))
}

// waitADMembers waits until the group's members are exactly the static
// instances ids, each assigned partitions, and fails after within.
func (e *e2e) waitADMembers(t *testing.T, group string, ids []string, within time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(e.kafka()...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(within)
	last := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		gs, err := adm.DescribeGroups(ctx, group)
		cancel()
		got := map[string]int{}
		if err == nil {
			g := gs[group]
			last = g.State
			for _, m := range g.Members {
				if m.InstanceID == nil {
					continue
				}
				if a, ok := m.Assigned.AsConsumer(); ok {
					for _, tp := range a.Topics {
						got[*m.InstanceID] += len(tp.Partitions)
					}
				}
			}
			ok := g.State == "Stable" && len(g.Members) == len(ids)
			for _, id := range ids {
				ok = ok && got[id] > 0
			}
			if ok {
				return
			}
			last = fmt.Sprintf("%s, members %d, partitions by instance_id %v", g.State, len(g.Members), got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: the restarted instances %v do not hold partitions %s after their restart (%s; %v)", group, ids, within, last, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mergeHist adds two scrapes of one histogram (same buckets).
func mergeHist(a, b *dto.MetricFamily) *dto.MetricFamily {
	if a == nil || len(a.Metric) == 0 || a.Metric[0].Histogram == nil {
		return b
	}
	if b == nil || len(b.Metric) == 0 || b.Metric[0].Histogram == nil {
		return a
	}
	ha, hb := a.Metric[0].Histogram, b.Metric[0].Histogram
	n := ha.GetSampleCount() + hb.GetSampleCount()
	out := &dto.Histogram{SampleCount: &n}
	for i, bk := range ha.Bucket {
		c := bk.GetCumulativeCount()
		if i < len(hb.Bucket) {
			c += hb.Bucket[i].GetCumulativeCount()
		}
		out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: bk.UpperBound, CumulativeCount: &c})
	}
	return &dto.MetricFamily{Metric: []*dto.Metric{{Histogram: out}}}
}

// readAccounts reads every user of the OU keyed by employeeID (the CPR).
func readAccounts(t *testing.T, conn *ldap.Conn, ou string) map[string]map[string]string {
	t.Helper()
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=user)",
		[]string{"cn", "givenName", "sn", "displayName", "title", "department", "employeeID", "userAccountControl", "uSNChanged"}, nil), 500)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, en := range res.Entries {
		m := map[string]string{"dn": en.DN}
		for _, a := range en.Attributes {
			m[a.Name] = strings.Join(a.Values, "|")
		}
		key := m["employeeID"]
		if key == "" {
			key = "no employeeID: " + en.DN
		}
		if _, dup := out[key]; dup {
			key = "twice: " + key + " " + en.DN
		}
		out[key] = m
	}
	return out
}

// compareAD waits until AD equals the oracle, then reports every
// difference; it returns the accounts.
func (e *e2e) compareAD(t *testing.T, conn *ldap.Conn, ou string, pre int, within time.Duration, logs func() string) map[string]map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		diffs, got, persons := adDiffs(t, e.pool, conn, ou)
		if len(diffs) == 0 {
			t.Logf("AD holds %d accounts, as the MO store says (%d persons with a CPR)", len(got), persons)
			return got
		}
		if time.Now().After(deadline) {
			if len(diffs) > 20 {
				diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
			}
			t.Errorf("AD differs from the MO store:\n%s\nsink logs: %s", strings.Join(diffs, "\n"), logs())
			return got
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// adDiffs compares every account in ou with what the MO store says by SQL
// (adOracle): the differences (sorted), the accounts by employeeID and the
// number of persons with a CPR.
func adDiffs(t *testing.T, pool *pgxpool.Pool, conn *ldap.Conn, ou string) ([]string, map[string]map[string]string, int) {
	t.Helper()
	want := adOracle(t, pool, demo.ITSystemAD)
	got := readAccounts(t, conn, ou)
	var diffs []string
	byCPR := map[string]*adWant{}
	for uuid, w := range want {
		byCPR[w.cpr] = w
		a := got[w.cpr]
		if a == nil {
			if w.wanted {
				diffs = append(diffs, fmt.Sprintf("person %s (%s %s) has no account", uuid, w.given, w.surname))
			}
			continue
		}
		name := strings.TrimSpace(w.given + " " + w.surname)
		check := func(attr, want string) {
			if a[attr] != want {
				diffs = append(diffs, fmt.Sprintf("%s: %s = %q, want %q", a["dn"], attr, a[attr], want))
			}
		}
		check("givenName", w.given)
		check("sn", w.surname)
		check("displayName", name)
		if a["cn"] != name && !strings.HasPrefix(a["cn"], name+" ") {
			diffs = append(diffs, fmt.Sprintf("%s: cn %q, want %q", a["dn"], a["cn"], name))
		}
		uac := "514"
		if w.enabled {
			uac = "512"
		}
		check("userAccountControl", uac)
		if w.checkAttrs && !w.titles[a["title"]] {
			diffs = append(diffs, fmt.Sprintf("%s: title %q, want one of %v", a["dn"], a["title"], keysOf(w.titles)))
		}
		if w.checkAttrs && !w.departments[a["department"]] {
			diffs = append(diffs, fmt.Sprintf("%s: department %q, want one of %v", a["dn"], a["department"], keysOf(w.departments)))
		}
	}
	for key, a := range got {
		if strings.HasPrefix(key, "twice: ") || strings.HasPrefix(key, "no employeeID") {
			diffs = append(diffs, "not one account per person: "+key+" "+a["dn"])
		}
	}
	sort.Strings(diffs)
	return diffs, got, len(want)
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// waitADIdle waits until the sink has nothing queued and no lag, three
// scrapes in a row.
func (e *e2e) waitADIdle(t *testing.T, port string, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for n := 0; n < 3; {
		q, okq := adMetricValue(port, "mocdc_sink_ad_queue_length")
		l, okl := adMetricValue(port, "mocdc_sink_ad_lag_seconds")
		c, okc := adMetricValue(port, "mocdc_view_catchup_seconds")
		if okq && okl && okc && q == 0 && l == 0 && c > 0 {
			n++
		} else {
			n = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AD sink on :%s is not idle after 3 minutes: %s", port, logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func scrapeAll(port string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func adMetricValue(port, name string) (float64, bool) {
	mfs, err := scrapeAll(port)
	if err != nil || mfs[name] == nil {
		return 0, false
	}
	v := 0.0
	for _, m := range mfs[name].Metric {
		switch {
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Counter != nil:
			v += m.Counter.GetValue()
		}
	}
	return v, true
}

func metricSum(t *testing.T, port, name string) float64 {
	t.Helper()
	if _, err := scrapeAll(port); err != nil {
		t.Fatalf("scrape the sink's metrics: %v", err)
	}
	v, _ := adMetricValue(port, name)
	return v
}

func metricFamily(t *testing.T, port, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := scrapeAll(port)
	if err != nil {
		t.Fatalf("scrape the sink's metrics: %v", err)
	}
	return mfs[name]
}

func histCount(mf *dto.MetricFamily) uint64 {
	if mf == nil || len(mf.Metric) == 0 || mf.Metric[0].Histogram == nil {
		return 0
	}
	return mf.Metric[0].Histogram.GetSampleCount()
}

// bucketQuantile is the upper bound of the first bucket holding quantile q.
func bucketQuantile(mf *dto.MetricFamily, q float64) string {
	n := histCount(mf)
	if n == 0 {
		return "n/a"
	}
	h := mf.Metric[0].Histogram
	for _, b := range h.Bucket {
		if float64(b.GetCumulativeCount()) >= q*float64(n) {
			if math.IsInf(b.GetUpperBound(), 1) {
				return "+Inf"
			}
			return fmt.Sprintf("%.2gs", b.GetUpperBound())
		}
	}
	return "+Inf"
}
