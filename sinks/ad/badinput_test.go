package ad

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// TestWrongPassword: a wrong bind password stops the sink at start with
// AD's reason and what to fix.
func TestWrongPassword(t *testing.T) {
	t.Parallel()
	// No world: the sink must stop at the bind, before it touches Kafka.
	ad := testenv.LocalAD(t)
	cfg := Config{URL: ad.URL, CAFile: ad.CAFile, BindDN: ad.BindDN, BindPassword: "not-the-password", BaseDN: ad.BaseDN, WriteOUs: []string{ad.BaseDN}}
	cfg.Defaults()
	s, err := New(cfg, Deps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(testenv.KafkaBrokers(t)...)}, Topics: event.Topics{Prefix: testenv.UniqueTopicPrefix(t) + "mo"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "wrong password (data 52e)") || !strings.Contains(err.Error(), "ad.bind_password") {
		t.Fatalf("want a clear bind error, got %v", err)
	}
}

// TestRejectedAttribute: an attribute AD rejects is dead-lettered with AD's
// message; the account's other attributes and the other accounts are
// written.
func TestRejectedAttribute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	// countryCode is an integer in AD; OS2mo maps the engagement user_key
	// to it, which here is not a number.
	r := w.start(w.config(func(c *Config) {
		c.Mapping = map[string]string{"countryCode": "{{ with .Engagement }}{{ .UserKey }}{{ end }}"}
	}))
	w.idle(r)
	w.want("anbe", map[string]string{"givenName": "Anna", "title": "Pædagog", "countryCode": "0"}) // AD's default: not written
	w.want("boho", map[string]string{"title": "Lærer"})
	found := false
	for _, d := range w.deadLetters() {
		if strings.Contains(d.Reason, "countryCode") && strings.Contains(d.Reason, "invalid value") && d.Stage == StageAD {
			found = true
		}
	}
	if !found {
		t.Errorf("no dead letter with AD's message about countryCode: %+v", w.deadLetters())
	}
}

// TestADDown: while AD cannot be reached the sink retries; nothing is lost.
func TestADDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	p := newProxy(t, strings.TrimPrefix(w.ad.URL, "ldaps://"))
	r := w.start(w.config(func(c *Config) { c.URL = "ldaps://" + p.addr }))
	w.idle(r)
	p.down()
	w.produce(mo.Person, person(1), "1980-01-01", "", map[string]any{"given_name": "Annemette", "surname": "Berg", "cpr_number": "0101901111"})
	deadline := time.Now().Add(30 * time.Second)
	for counter(r, "mocdc_sink_ad_retries_total") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no retries while AD is down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.s.Idle() {
		t.Fatal("the change counts as done while AD is down")
	}
	p.up()
	w.idle(r)
	w.want("anbe", map[string]string{"givenName": "Annemette", "cn": "Annemette Berg"})
	for _, d := range w.deadLetters() {
		if !strings.HasPrefix(d.Reason, "missing:") && !strings.HasPrefix(d.Reason, "ambiguous:") {
			t.Errorf("AD being down must not dead-letter: %s", d.Reason)
		}
	}
}

// TestDryRunAndWindow: dry-run reads and logs but writes nothing; inside
// the maintenance window changes wait, after it they are written.
func TestDryRunAndWindow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	before := w.accounts("")
	r := w.start(w.config(func(c *Config) { c.DryRun = true; c.Create = &Create{OU: w.ou} }))
	w.idle(r)
	if n := counter(r, "mocdc_sink_ad_dry_run_writes_total"); n == 0 {
		t.Error("dry-run logged no writes, though the accounts differ from MO")
	}
	after := w.accounts("")
	for sam, a := range before {
		if after[sam]["uSNChanged"] != a["uSNChanged"] {
			t.Errorf("dry-run changed %s", sam)
		}
	}
	if len(after) != len(before) {
		t.Errorf("dry-run created accounts: %d → %d", len(before), len(after))
	}
	r.stop()

	// 10:00 is inside 09:00-11:00: nothing is written until the clock
	// leaves the window.
	r = w.start(w.config(func(c *Config) { c.Maintenance = &Window{Start: "09:00", End: "11:00"} }))
	deadline := time.Now().Add(30 * time.Second)
	for r.s.queue.Len() < 5 { // up, caught up, persons waiting
		if time.Now().After(deadline) {
			t.Fatal("the sink did not queue the resync")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.want("anbe", map[string]string{"givenName": "Old"})
	w.clock.set(testToday.Add(75 * time.Minute))
	deadline = time.Now().Add(30 * time.Second)
	for w.accounts("(sAMAccountName=" + w.sam("anbe") + ")")["anbe"]["givenName"] != "Anna" {
		if time.Now().After(deadline) {
			t.Fatal("not written after the maintenance window")
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.idle(r)
	w.want("anbe", map[string]string{"title": "Pædagog", "department": "Skoler"})
}

// TestPlacement: accounts go to the OU of their engagement's unit (the
// nearest mapped unit on the path, else the default) and move with it.
func TestPlacement(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	sub := func(name string) string {
		dn := "OU=" + name + "," + w.ou
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		if err := w.conn.Add(req); err != nil {
			t.Fatal(err)
		}
		return dn
	}
	schools, other := sub("Skoler"), sub("Andre")
	r := w.start(w.config(func(c *Config) { c.Placement = &Placement{Units: map[string]string{"A": schools}, Default: other} }))
	w.idle(r)
	if dn := w.dn("anbe"); !strings.HasSuffix(dn, ","+schools) || !strings.HasPrefix(dn, "CN=Anna Berg,") {
		t.Errorf("Anna (unit A) is at %s, want CN=Anna Berg,%s", dn, schools)
	}
	if dn := w.dn("boho"); !strings.HasSuffix(dn, ","+other) {
		t.Errorf("Bo (unit R, not mapped) is at %s, want in %s", dn, other)
	}
	w.produce(mo.Engagement, eng(1), "2020-01-01", "", map[string]any{"user_key": "E1", "person": person(1), "org_unit": uB, "job_function": cJF1, "primary": cPrim})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.HasSuffix(w.dn("anbe"), ","+other) {
		if time.Now().After(deadline) {
			t.Fatalf("Anna's account did not move with her engagement: %s", w.dn("anbe"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.idle(r)
	w.want("anbe", map[string]string{"department": "Børn"})
}

// TestDelete: with ad.delete, the account the sink created is deleted when
// MO deletes the person; accounts it did not create stay.
func TestDelete(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	r := w.start(w.config(func(c *Config) { c.Create = &Create{OU: w.ou}; c.Delete = true }))
	w.idle(r)
	if w.dn("cada1") == "" {
		t.Fatalf("Carl's account was not created: %v", w.accounts(""))
	}
	for _, p := range []int{3, 2} { // Carl (created by the sink), Bo (found by CPR)
		if err := w.cl.ProduceSync(w.ctx, &kgo.Record{Topic: w.topics.Object(mo.Person), Key: []byte(person(p))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for w.dn("cada1") != "" {
		if time.Now().After(deadline) {
			t.Fatal("Carl's account was not deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.idle(r)
	if w.dn("boho") == "" {
		t.Error("Bo's account (not created by the sink) was deleted")
	}
	if k := r.s.links.get(person(3)); k == nil || k.State != Deleted {
		t.Errorf("Carl's link: %+v", k)
	}
}
