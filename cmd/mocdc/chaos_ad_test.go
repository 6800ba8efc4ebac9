package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// chaosAD is the part of the chaos run around the Samba AD DC and
// OpenSMTPD: two instances of `mocdc sink ad` (through a proxy the
// controller can cut) and `mocdc sink notify` on the private DC and SMTP
// server (chaos_env_test.go), their faults, and the AD and maildir
// invariants, each computed independently of the sinks' code.
type chaosAD struct {
	svc     *chaosServices
	ad      testenv.AD // the private DC, directly (the harness's reads)
	ou      string     // where the accounts are found and created
	proxy   *proxy     // AD sink ↔ DC
	maildir string
	domain  string // the receivers' domain
	smtp    string

	// fresh is, by fault kind, how far behind the sink that kind hits is:
	// it is recovered when that and the mirrors' freshness are under 2 s.
	fresh map[string]func() time.Duration

	mu sync.Mutex
	// notifyBase is the notify sink's count of committed outbox
	// transactions when its last fault was restored.
	notifyBase float64
}

func newChaosAD(t *testing.T, svc *chaosServices, seed uint64, dir string) *chaosAD {
	// A failed run keeps its private services' data; keep the processes'
	// logs beside it (dir is a temporary directory).
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		_ = os.MkdirAll(filepath.Join(svc.data, "logs"), 0o755)
		for _, l := range logs {
			if b, err := os.ReadFile(l); err == nil {
				_ = os.WriteFile(filepath.Join(svc.data, "logs", filepath.Base(l)), b, 0o644)
			}
		}
		t.Logf("chaos: the processes' logs are in %s", filepath.Join(svc.data, "logs"))
	})
	env := func(k string) string {
		v := svc.env[k]
		if v == "" {
			t.Fatalf("the chaos services' env file has no %s (deploy/local/services up samba smtp)", k)
		}
		return v
	}
	a := testenv.AD{URL: env(testenv.EnvADURL), CAFile: env(testenv.EnvADCA), BaseDN: env(testenv.EnvADBase),
		BindDN: env(testenv.EnvADBindDN), PasswordFile: env(testenv.EnvADPasswordFile)}
	b, err := os.ReadFile(a.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	a.Password = strings.TrimSpace(string(b))
	c := &chaosAD{svc: svc, ad: a, ou: "OU=mocdc," + a.BaseDN, maildir: env("MOCDC_TEST_MAILDIR"), smtp: env("MOCDC_TEST_SMTP"),
		domain: fmt.Sprintf("chaos%d.test", seed)}
	c.proxy = newProxy(t, net.JoinHostPort(svc.adAddr, "636"))
	return c
}

// config is the ad and notify sections of the chaos config: the AD sink
// reaches the DC through the proxy (the server certificate names
// 127.0.0.1 too), the notify sink mails the private OpenSMTPD.
func (c *chaosAD) config() string {
	return fmt.Sprintf(`ad:
  url: ldaps://%s
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
  workers: 4
  retry: {min: 50ms, max: 1s}
  session_timeout: 6s
`, c.proxy.addr(), c.ad.CAFile, c.ad.BindDN, c.ad.PasswordFile, c.ad.BaseDN, c.ou) + notifyConfig(c.domain, c.smtp)
}

// adProcs are the processes of this part, started like the others.
var adProcs = [][]string{{"ad-1", "sink", "ad"}, {"ad-2", "sink", "ad"}, {"notify", "sink", "notify"}}

// adFresh is how far the AD sink is behind: the oldest MO change not yet
// reconciled, over both instances; an hour when an instance does not serve
// metrics or its view has not caught up since its start.
func (c *chaosAD) adFresh(metrics map[string]string) time.Duration {
	worst := time.Duration(0)
	for _, n := range []string{"ad-1", "ad-2"} {
		_, port, _ := net.SplitHostPort(metrics[n])
		lag, ok1 := adMetricValue(port, "mocdc_sink_ad_lag_seconds")
		caught, ok2 := adMetricValue(port, "mocdc_view_catchup_seconds")
		if !ok1 || !ok2 || caught == 0 {
			return time.Hour
		}
		if d := time.Duration(lag * float64(time.Second)); d > worst {
			worst = d
		}
	}
	return worst
}

// notifyFresh: the notify sink has no alert waiting in its outbox and has
// committed a batch since the fault was restored (it consumes and mails
// again); an hour otherwise.
func (c *chaosAD) notifyFresh(metrics map[string]string) time.Duration {
	_, port, _ := net.SplitHostPort(metrics["notify"])
	pending, ok1 := adMetricValue(port, "mocdc_outbox_pending")
	committed, ok2 := c.notifyCommitted(port)
	c.mu.Lock()
	base := c.notifyBase
	c.mu.Unlock()
	if !ok1 || !ok2 || pending != 0 || committed <= base {
		return time.Hour
	}
	return 0
}

func (c *chaosAD) notifyCommitted(port string) (float64, bool) {
	mfs, err := scrapeAll(port)
	if err != nil || mfs["mocdc_outbox_transactions_total"] == nil {
		return 0, false
	}
	for _, m := range mfs["mocdc_outbox_transactions_total"].Metric {
		for _, l := range m.Label {
			if l.GetName() == "result" && l.GetValue() == "committed" && m.Counter != nil {
				return m.Counter.GetValue(), true
			}
		}
	}
	return 0, true
}

// markNotify records the notify sink's committed batches at a restore (0
// when it does not serve: a killed sink starts counting from 0).
func (c *chaosAD) markNotify(metrics map[string]string) {
	_, port, _ := net.SplitHostPort(metrics["notify"])
	v, _ := c.notifyCommitted(port)
	c.mu.Lock()
	c.notifyBase = v
	c.mu.Unlock()
}

// waitFresh waits, before the first fault, until the AD sink has made
// the seeded persons' accounts and both it and the notify sink keep up
// with the churn: a fault's recovery is then its own, not the initial
// sync's (hundreds of creates, one at a time).
func (c *chaosAD) waitFresh(t *testing.T, metrics map[string]string) {
	start := time.Now()
	c.markNotify(metrics)
	for deadline := start.Add(10 * time.Minute); ; time.Sleep(time.Second) {
		ad, notify := c.adFresh(metrics), c.notifyFresh(metrics)
		queued := 0.0 // the start's resync (every person, creates included) is no lag
		for _, n := range []string{"ad-1", "ad-2"} {
			_, port, _ := net.SplitHostPort(metrics[n])
			q, ok := adMetricValue(port, "mocdc_sink_ad_queue_length")
			if !ok {
				q = 1
			}
			queued += q
		}
		if ad < 2*time.Second && notify < 2*time.Second && queued == 0 {
			t.Logf("chaos: the AD and notify sinks caught up %s after the start", time.Since(start).Round(time.Second))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AD and notify sinks did not catch up within 10 minutes of the start (AD %s behind, %v persons queued; notify %s)", ad, queued, notify)
		}
	}
}

// faults are this part's fault kinds; recovery of each is measured by the
// mirrors' freshness and by the sink it hits (c.fresh).
func (c *chaosAD) faults(rng *rand.Rand, procs map[string]*supervised, metrics map[string]string) []fault {
	short := func(r *rand.Rand) time.Duration { return time.Duration(500+r.IntN(1500)) * time.Millisecond }
	adFresh := func() time.Duration { return c.adFresh(metrics) }
	notifyFresh := func() time.Duration { return c.notifyFresh(metrics) }
	service := func(name string, after func()) func() func() {
		return func() func() {
			c.svc.kill9(name)
			return func() { c.svc.restart(name); after() }
		}
	}
	killProc := func(names ...string) func() func() {
		return func() func() {
			procs[names[rng.IntN(len(names))]].signal(syscall.SIGKILL, time.Duration(rng.IntN(1500))*time.Millisecond)
			return func() {}
		}
	}
	fs := []struct {
		fault
		fresh func() time.Duration
	}{
		{fault{"kill -9 Samba AD DC", short, service("samba", func() {})}, adFresh},
		{fault{"kill -9 OpenSMTPD", short, service("smtp", func() { c.markNotify(metrics) })}, notifyFresh},
		{fault{"cut network AD sink ↔ DC", func(r *rand.Rand) time.Duration { return time.Duration(3+r.IntN(6)) * time.Second },
			func() func() { c.proxy.setCut(true); return func() { c.proxy.setCut(false) } }}, adFresh},
		{fault{"kill -9 AD sink instance", short, killProc("ad-1", "ad-2")}, adFresh},
		{fault{"kill -9 notify sink", short, func() func() {
			killProc("notify")()
			return func() { c.markNotify(metrics) }
		}}, notifyFresh},
	}
	c.fresh = map[string]func() time.Duration{}
	var out []fault
	for _, f := range fs {
		out = append(out, f.fault)
		c.fresh[f.kind] = f.fresh
	}
	return out
}

// check is this part's invariants after the drain: AD equals the SQL
// oracle over the MO store (ad_oracle_test.go), and the maildir holds
// exactly the mails the MO state calls for, once each.
func (c *chaosAD) check(t *testing.T, ctx context.Context, e *e2e, dir string) []invariant {
	var out []invariant
	add := func(name string, held bool, format string, args ...any) {
		out = append(out, invariant{name, held, fmt.Sprintf(format, args...)})
	}

	// AD: every person's account as the MO store says by SQL, one account
	// per person.
	conn := c.ad.Conn(t)
	var diffs []string
	var accounts map[string]map[string]string
	persons := 0
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(2 * time.Second) {
		diffs, accounts, persons = adDiffs(t, e.pool, conn, c.ou)
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	add("AD accounts (Samba DC, two sink instances) equal the SQL oracle over the MO store", len(diffs) == 0,
		"%d accounts, %d persons with a CPR; %d differences, first: %s", len(accounts), persons, len(diffs), firstOr(diffs, "none"))

	// The maildir: wait until the sink has consumed everything, its outbox
	// has nothing pending and every alert it recorded is in the maildir.
	group := e.prefix + ".notify"
	state := e.prefix + ".notify.state"
	var effects map[string]outbox.Effect
	var mails []received
	why := ""
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		effects = outboxEffects(t, e.kafka(), state)
		mails = readMails(t, c.maildir, c.domain)
		got := map[string]bool{}
		for _, m := range mails {
			got[m.key] = true
		}
		why = ""
		if !consumedAll(t, e, group) {
			why = "the notify sink has not consumed every event"
		}
		for k, ef := range effects {
			if why == "" && (ef.Status != outbox.Done || !got[k]) {
				why = fmt.Sprintf("alert %s is %s, mailed %v", k, ef.Status, got[k])
			}
		}
		if why == "" || time.Now().After(deadline) {
			break
		}
	}
	since := since(t, e)
	want := finalAlerts(t, e, since)
	byKey := map[string][]received{}
	for _, m := range mails {
		byKey[m.key] = append(byKey[m.key], m)
	}
	var problems []string
	if why != "" {
		problems = append(problems, "after 3 minutes: "+why)
	}
	if since.IsZero() {
		problems = append(problems, "the notify sink recorded no start mark")
	}
	for k := range byKey {
		if _, ok := effects[k]; !ok {
			problems = append(problems, fmt.Sprintf("a mail with key %q the outbox never recorded", k))
		}
	}
	missing := 0
	for k, what := range want {
		if !alertFound(func(k string) bool { return mailedKey(byKey, k) }, k, what) {
			missing++
			var sinks []string
			for ek, ef := range effects {
				if strings.HasPrefix(ek, k[:strings.LastIndexByte(k, '/')+1]) {
					sinks = append(sinks, ek+" "+string(ef.Status))
				}
			}
			problems = append(problems, fmt.Sprintf("no mail for alert %s (%s) that the final MO state calls for; the sink's alerts of the object: %v", k, what, sinks))
		}
	}
	// Twice: only where a crash explains it — the sink killed between the
	// server's acceptance and its done record (it logs the re-send as
	// recovered), the server killed after it took the mail but before it
	// answered (the sink logged the failed end of DATA and sent again), or
	// OpenSMTPD killed after delivering but before it dropped the mail from
	// its queue (both copies carry the same queue id in Received).
	logPath := filepath.Join(dir, "notify.log")
	recovered := recoveredSendsIn(t, logPath)
	endOfData := failedEndOfData(logPath)
	dups, bySink, byServer := 0, 0, 0
	for k, ms := range byKey {
		if len(ms) < 2 {
			continue
		}
		dups += len(ms) - 1
		queue := map[string]int{}
		for _, m := range ms {
			queue[queueID(m.file)]++
		}
		redelivered := 0
		for id, n := range queue {
			if id != "" && n > 1 {
				redelivered += n - 1
			}
		}
		sinkSent := len(ms) - redelivered - 1
		switch {
		case sinkSent <= recovered[k]+endOfData[k]:
			bySink += sinkSent
			byServer += redelivered
		default:
			problems = append(problems, fmt.Sprintf("alert %s mailed %d times (%d redelivered by the server); the sink re-sent it after a crash %d times, after a failed end of DATA %d times",
				k, len(ms), redelivered, recovered[k], endOfData[k]))
		}
	}
	sort.Strings(problems)
	add("maildir (OpenSMTPD) holds exactly the mails the final MO state calls for, once each (repeats only from a crash's window)", len(problems) == 0,
		"%d alerts the final MO state calls for, %d mailed (%d mails, %d repeats: %d re-sent by the sink after a crash, %d redelivered by OpenSMTPD), %d missing; %s",
		len(want), len(byKey), len(mails), dups, bySink, byServer, missing, firstOr(problems, "no difference"))
	return out
}

// failedEndOfData counts, per alert key, the sends the notify sink's log
// says failed at the end of DATA (the server may have taken the mail).
func failedEndOfData(path string) map[string]int {
	b, _ := os.ReadFile(path)
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "effect failed; retrying") || !strings.Contains(line, "end of DATA") {
			continue
		}
		if _, rest, ok := strings.Cut(line, " key="); ok {
			k, _, _ := strings.Cut(rest, " ")
			out[k]++
		}
	}
	return out
}

var receivedID = regexp.MustCompile(`\bwith E?SMTP id ([0-9a-f]+)`)

// queueID is the OpenSMTPD queue id in a mail's Received header.
func queueID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		return ""
	}
	if r := receivedID.FindStringSubmatch(m.Header.Get("Received")); r != nil {
		return r[1]
	}
	return ""
}
