package ad

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// crashChildEnv, when set, makes the test binary run one sink that kills
// itself with SIGKILL at a failpoint (TestMain): a real kill -9 at an
// exact point of a create.
const crashChildEnv = "MOCDC_AD_CRASH_CHILD"

type crashChild struct {
	Config  Config   `json:"config"`
	Prefix  string   `json:"prefix"`
	Brokers []string `json:"brokers"`
	Point   string   `json:"point"`
}

func TestMain(m *testing.M) {
	if v := os.Getenv(crashChildEnv); v != "" {
		os.Exit(runCrashChild(v))
	}
	// The tests here wait on Kafka and the DC, not on the CPU: unless
	// -parallel is given, run up to eight at once (go test's default is
	// GOMAXPROCS, 2 on the CI machine).
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}

// runCrashChild runs the sink until it reaches the failpoint (and dies
// there) or a minute passes (exit 3: the point was never reached).
func runCrashChild(v string) int {
	var c crashChild
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(c.Config, Deps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}, Topics: event.Topics{Prefix: c.Prefix},
		Logger: log, Now: func() time.Time { return testToday }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	s.crash = func(p string) {
		if p == c.Point {
			fmt.Fprintln(os.Stderr, "failpoint "+p+": kill -9")
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	return 3
}

// crashAt runs the sink in a child process that kills itself at point and
// returns its log.
func (w *world) crashAt(cfg Config, point string) string {
	w.t.Helper()
	b, err := json.Marshal(crashChild{Config: cfg, Prefix: w.topics.Prefix, Brokers: w.brokers, Point: point})
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.CommandContext(w.ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(b))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "failpoint "+point) {
		w.t.Fatalf("the sink did not die at %s (%v):\n%s", point, err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		w.t.Fatalf("the sink at %s ended with %v, not SIGKILL", point, err)
	}
	return string(out)
}

// TestCreateCrashes: the sink is killed with SIGKILL at every point of a
// create, one after the other on the same world — after the request is
// sent, after the intent is committed, when the intent is about to be
// performed (before the LDAP add), after the add and before the done
// record, after the link is published — and then runs to the end. Each person gets
// exactly one account, its objectGUID is on the accounts topic and in the
// outbox's done record, and the outbox holds one create per person.
func TestCreateCrashes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	cfg := w.config(func(c *Config) { c.Create = &Create{OU: w.ou}; c.InstanceID = "crash" + w.tag })
	adds, logs := 0, ""
	for _, p := range []string{"request", "intent", "perform", "added", "done"} {
		out := w.crashAt(cfg, p)
		n := strings.Count(out, "msg=\"account created\"")
		if p == "added" && n == 0 {
			t.Errorf("the run killed after the add logged no add:\n%s", out)
		}
		adds += n
		logs += "---- killed at " + p + "\n" + out
	}
	r := w.start(cfg)
	w.idle(r)
	for _, who := range []struct{ given, sam string }{{"Carl", "cada1"}, {"Erik", "erfi1"}} {
		as := w.accounts("(givenName=" + who.given + ")")
		if len(as) != 1 {
			t.Errorf("%s has %d accounts, want 1: %v", who.given, len(as), as)
			continue
		}
		a := as[who.sam]
		if a == nil {
			t.Errorf("%s's account is not %s: %v", who.given, who.sam, as)
			continue
		}
		p := person(3)
		if who.given == "Erik" {
			p = person(5)
		}
		if k := r.s.links.get(p); k == nil || k.State != Created || !strings.EqualFold(k.GUID, a["objectGUID"]) || k.DN != a["dn"] {
			t.Errorf("%s's link on %s: %+v, want created with objectGUID %s", who.given, AccountsTopic(w.topics), k, a["objectGUID"])
		}
	}
	w.want("cada1", map[string]string{"cn": "Carl Dahl", "department": "Børn", "userAccountControl": "512"})
	w.want("erfi1", map[string]string{"cn": "Erik Fisk", "department": "Børn", "userAccountControl": "514"})
	effects := r.s.creates.Effects()
	byPerson := map[string]int{}
	for _, e := range effects {
		var req createRequest
		_ = json.Unmarshal(e.Payload, &req)
		byPerson[req.Person]++
		var res createResult
		_ = json.Unmarshal(e.Result, &res)
		if e.Status != outbox.Done || res.GUID == "" {
			t.Errorf("create effect %s: status %s, result %s; want done with the objectGUID", e.Key, e.Status, e.Result)
		}
		if len(e.Sources) == 0 || e.Sources[len(e.Sources)-1].Topic != CreatesTopic(w.topics) {
			t.Errorf("create effect %s: sources %v, want the request's offset last", e.Key, e.Sources)
		}
	}
	if len(byPerson) != 2 || byPerson[person(3)] != 1 || byPerson[person(5)] != 1 {
		t.Errorf("create effects per person: %v, want one each for Carl and Erik", byPerson)
	}
	// At most one LDAP add per person over all runs (the add the run
	// killed after it was found, not made again). At most: a kill can
	// come between another create's add and its log line.
	if n := adds + int(counter(r, "mocdc_sink_ad_writes_total", "kind", "create")); n > 2 || n < 1 {
		t.Errorf("%d LDAP adds logged over the killed runs and the last, want 1 or 2; the killed runs:\n%s", n, logs)
	}
}

// TestCreateSameName: two persons of one name, both without an account,
// requested at once (two workers): each gets an account of its own, under
// different names, linked to it — never one account for both.
func TestCreateSameName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.produce(mo.Organisation, uOrg, "", "", map[string]any{"user_key": "kommune", "name": "Testkommune"})
	w.produce(mo.ITSystem, sAD, "", "", map[string]any{"user_key": "Active Directory", "name": "Active Directory"})
	w.produce(mo.OrgUnit, uR, "2000-01-01", "", map[string]any{"user_key": "R", "name": "Kommune"})
	for i := 1; i <= 2; i++ {
		w.produce(mo.Person, person(i), "1980-01-01", "", map[string]any{"given_name": "Jens", "surname": "Hansen", "cpr_number": fmt.Sprintf("010190%04d", i)})
		w.produce(mo.Engagement, eng(i), "2020-01-01", "", map[string]any{"user_key": "E", "person": person(i), "org_unit": uR})
	}
	r := w.start(w.config(func(c *Config) { c.Create = &Create{OU: w.ou}; c.Workers = 2 }))
	w.idle(r)
	as := w.accounts("(givenName=Jens)")
	if len(as) != 2 {
		t.Fatalf("%d accounts for the two Jens Hansens, want 2: %v", len(as), keysOf(as))
	}
	guids := map[string]bool{}
	for i := 1; i <= 2; i++ {
		k := r.s.links.get(person(i))
		if k == nil || k.State != Created || guids[k.GUID] {
			t.Fatalf("person %d's link %+v: want created, an account of its own", i, k)
		}
		guids[k.GUID] = true
		found := false
		for _, a := range as {
			found = found || strings.EqualFold(a["objectGUID"], k.GUID)
		}
		if !found {
			t.Errorf("person %d is linked to %s, which is not one of the accounts", i, k.GUID)
		}
	}
}

// TestCreateManySharingNames: a first sync of persons who share a name and
// so the default sAMAccountName prefix ("jeha" for every Jens Hansen),
// reconciled by four workers at once, gets every one an account of its
// own in one pass: no create request is dropped because a namesake's
// request claimed all its proposed names (which cost a requestTimeout
// round each, and made the chaos test's first sync of ~450 accounts take
// over ten minutes).
func TestCreateManySharingNames(t *testing.T) {
	t.Parallel()
	const n = 8
	w := newWorld(t)
	w.produce(mo.Organisation, uOrg, "", "", map[string]any{"user_key": "kommune", "name": "Testkommune"})
	w.produce(mo.ITSystem, sAD, "", "", map[string]any{"user_key": "Active Directory", "name": "Active Directory"})
	w.produce(mo.OrgUnit, uR, "2000-01-01", "", map[string]any{"user_key": "R", "name": "Kommune"})
	for i := 1; i <= n; i++ {
		w.produce(mo.Person, person(i), "1980-01-01", "", map[string]any{"given_name": "Jens", "surname": "Hansen", "cpr_number": fmt.Sprintf("010190%04d", i)})
		w.produce(mo.Engagement, eng(i), "2020-01-01", "", map[string]any{"user_key": "E", "person": person(i), "org_unit": uR})
	}
	r := w.start(w.config(func(c *Config) { c.Create = &Create{OU: w.ou}; c.Workers = 4 }))
	deadline := time.Now().Add(time.Minute)
	for len(w.accounts("(givenName=Jens)")) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	w.idle(r)
	as := w.accounts("(givenName=Jens)")
	if len(as) != n {
		t.Fatalf("%d accounts for the %d Jens Hansens, want %d: %v", len(as), n, n, keysOf(as))
	}
	for _, d := range w.deadLetters() {
		if strings.Contains(d.Reason, "claimed by another person") {
			t.Errorf("a create request was dropped for names a namesake claimed (each costs a %s round): %s", requestTimeout, d.Reason)
		}
	}
	sams := map[string]bool{}
	for _, a := range as {
		if sams[strings.ToLower(a["sAMAccountName"])] {
			t.Errorf("sAMAccountName %s twice", a["sAMAccountName"])
		}
		sams[strings.ToLower(a["sAMAccountName"])] = true
	}
}
