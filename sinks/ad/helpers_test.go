package ad

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// clock is a settable clock for the sink.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// today in the tests: 2026-06-15 10:00 in Copenhagen.
var testToday = time.Date(2026, 6, 15, 10, 0, 0, 0, mo.Location)

// world is a test's MO (events produced straight to Kafka) and AD (a
// fresh OU in the local Samba DC).
type world struct {
	t       *testing.T
	ctx     context.Context
	ad      testenv.AD
	conn    *ldap.Conn
	ou      string
	topics  event.Topics
	kopts   []kgo.Opt
	brokers []string
	cl      *kgo.Client
	clock   *clock
	// tag ends every sAMAccountName the world uses: they are unique in the
	// whole domain, and other test runs share it.
	tag string
}

// sam is a world's sAMAccountName.
func (w *world) sam(name string) string { return name + w.tag }

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	w := &world{t: t, ctx: ctx, ad: testenv.LocalAD(t), clock: &clock{t: testToday}, tag: "x" + strings.ToLower(fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff))}
	w.conn = w.ad.Conn(t)
	w.ou = w.ad.NewOU(t, "adsink")
	brokers := testenv.KafkaBrokers(t)
	w.topics = event.Topics{Prefix: testenv.UniqueTopicPrefix(t) + "mo"}
	w.kopts, w.brokers = []kgo.Opt{kgo.SeedBrokers(brokers...)}, brokers
	cl, err := kgo.NewClient(w.kopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	w.cl = cl
	// Only the topics the sink reads (Types): topic creation is most of a
	// world's cost.
	var topics []string
	for _, typ := range Types {
		topics = append(topics, w.topics.Object(typ))
	}
	testenv.CreateTopics(t, 3, nil, topics...)
	return w
}

// config is a sink config for the world's OU.
func (w *world) config(mut ...func(*Config)) Config {
	c := Config{URL: w.ad.URL, CAFile: w.ad.CAFile, BindDN: w.ad.BindDN, BindPassword: w.ad.Password,
		BaseDN: w.ad.BaseDN, SearchOUs: []string{w.ou}, WriteOUs: []string{w.ou}, GUIDField: "external_id",
		Group: w.topics.Prefix + "-ad", SessionTimeout: 6 * time.Second, RateLimit: -1}
	c.Retry.Min, c.Retry.Max = 20*time.Millisecond, 500*time.Millisecond
	for _, m := range mut {
		m(&c)
	}
	if c.Create != nil && len(c.Create.SAMAccountName) == 0 {
		c.Create.SAMAccountName = []string{`{{ printf "%.2s%.2s" (ascii .Person.GivenName) (ascii .Person.Surname) | lower }}{{ .N }}` + w.tag}
	}
	c.Defaults()
	return c
}

// running is a sink started by start.
type running struct {
	s    *Sink
	reg  *prometheus.Registry
	stop func()
	err  chan error
}

func (w *world) start(cfg Config) *running { return w.startHooked(cfg, nil) }

// startHooked is start with failpoint calls to hook (nil: none).
func (w *world) startHooked(cfg Config, hook func(point string)) *running {
	w.t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(cfg, Deps{KafkaOpts: w.kopts, Topics: w.topics, Logger: log, Registry: reg, Now: w.clock.now})
	if err != nil {
		w.t.Fatal(err)
	}
	s.crash = hook
	ctx, cancel := context.WithCancel(w.ctx)
	r := &running{s: s, reg: reg, err: make(chan error, 1)}
	go func() { r.err <- s.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-r.err; err != nil {
				w.t.Errorf("sink: %v", err)
			}
		})
	}
	w.t.Cleanup(r.stop)
	return r
}

// idle waits until the sink has read everything produced to the object
// topics so far and reconciled it (no person queued, no create in flight).
func (w *world) idle(r *running) {
	w.t.Helper()
	var topics []string
	for _, typ := range Types {
		topics = append(topics, w.topics.Object(typ))
	}
	ends, err := kadm.NewClient(w.cl).ListEndOffsets(w.ctx, topics...)
	if err != nil {
		w.t.Fatal(err)
	}
	read := func() bool {
		pos := r.s.follow.Position()
		ok := true
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > 0 && pos[view.Partition{Topic: o.Topic, Partition: o.Partition}] < o.Offset {
				ok = false
			}
		})
		return ok
	}
	deadline := time.Now().Add(90 * time.Second)
	for n := 0; n < 2; {
		if read() && r.s.Idle() {
			n++ // twice in a row: a worker between Get and Done is seen
		} else {
			n = 0
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("sink not idle after 90 s (queue %d, everything read: %v)", r.s.queue.Len(), read())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counter(r *running, name string, labels ...string) float64 {
	mfs, _ := r.reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				ok := false
				for _, lp := range m.Label {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						ok = true
					}
				}
				if !ok {
					continue next
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

var _ = testutil.ToFloat64

// ---------------------------------------------------------------- MO side

func date(s string) *mo.Date {
	if s == "" {
		return nil
	}
	d := mo.Date(s)
	return &d
}

// produce publishes an object with one validity [from, to] (to "" open).
func (w *world) produce(typ mo.Type, uuid, from, to string, f map[string]any) {
	w.t.Helper()
	w.produceVersions(typ, uuid, [][3]any{{from, to, f}})
}

// produceVersions publishes an object with several validities.
func (w *world) produceVersions(typ mo.Type, uuid string, vs [][3]any) {
	w.t.Helper()
	w.produceChanged(typ, uuid, vs, nil)
}

// produceChanged publishes an update that names the fields it changed,
// as capture's events do (nil: none named, as a snapshot).
func (w *world) produceChanged(typ mo.Type, uuid string, vs [][3]any, changed []string) {
	w.t.Helper()
	o := &mo.Object{Type: typ, UUID: uuid}
	for _, v := range vs {
		val := mo.Validity{From: date(v[0].(string)), To: date(v[1].(string))}
		o.Validities = append(o.Validities, mo.Version{Validity: val, Period: val.Period(), Fields: v[2].(map[string]any)})
	}
	e := &event.Envelope{Version: event.Version, ID: fmt.Sprintf("test/%s/%d", uuid, time.Now().UnixNano()), Op: event.Update,
		Type: typ, UUID: uuid, Object: o, Source: event.Source{CommitTime: time.Now()}, Changed: changed}
	b, err := e.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.cl.ProduceSync(w.ctx, &kgo.Record{Topic: w.topics.Object(typ), Key: []byte(uuid), Value: b}).FirstErr(); err != nil {
		w.t.Fatal(err)
	}
}

// ---------------------------------------------------------------- AD side

// addAccount creates an account in the world's OU and returns its GUID.
func (w *world) addAccount(cn, sam string, attrs map[string]string) string {
	w.t.Helper()
	dn := "CN=" + ldap.EscapeDN(cn) + "," + w.ou
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{w.sam(sam)})
	req.Attribute("unicodePwd", []string{unicodePwd("Start-Pw-2026!x")})
	req.Attribute("userAccountControl", []string{"512"})
	for k, v := range attrs {
		req.Attribute(k, []string{v})
	}
	if err := w.conn.Add(req); err != nil {
		w.t.Fatalf("add %s: %v", dn, err)
	}
	return w.account(dn)["objectGUID"]
}

// account reads one account's attributes (first values; objectGUID as a
// string, DN under "dn").
func (w *world) account(dn string) map[string]string {
	w.t.Helper()
	as := w.accounts("(distinguishedName=" + ldap.EscapeFilter(dn) + ")")
	for _, a := range as {
		return a
	}
	return nil
}

// accounts reads every user below the OU matching filter, keyed by
// sAMAccountName.
func (w *world) accounts(filter string) map[string]map[string]string {
	w.t.Helper()
	res, err := w.conn.Search(ldap.NewSearchRequest(w.ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=user)"+filter+")", []string{"*", "uSNChanged", "objectGUID"}, nil))
	if err != nil {
		w.t.Fatalf("search %s: %v", w.ou, err)
	}
	out := map[string]map[string]string{}
	for _, e := range res.Entries {
		m := map[string]string{"dn": e.DN}
		for _, a := range e.Attributes {
			m[a.Name] = strings.Join(a.Values, "|")
		}
		m["objectGUID"] = guidString(e.GetRawAttributeValue("objectGUID"))
		out[strings.TrimSuffix(e.GetAttributeValue("sAMAccountName"), w.tag)] = m
	}
	return out
}

// deadLetters reads the dead-letter topic's reasons.
func (w *world) deadLetters() []event.DeadLetter {
	w.t.Helper()
	cl, err := kgo.NewClient(append(w.kopts, kgo.ConsumeTopics(w.topics.DeadLetter()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		w.t.Fatal(err)
	}
	defer cl.Close()
	var out []event.DeadLetter
	ctx, cancel := context.WithTimeout(w.ctx, 2*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out
		}
		fs.EachRecord(func(r *kgo.Record) {
			var d event.DeadLetter
			_ = json.Unmarshal(r.Value, &d)
			out = append(out, d)
		})
	}
}

// proxy forwards TCP connections to target until stopped; start it again
// on the same address with restart. It stands for AD going down.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.down)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

// down closes the listener and every connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() { p.listen(p.addr) }

// testenvTopic creates a compacted topic of one partition.
func testenvTopic(t *testing.T, w *world, name string) {
	t.Helper()
	testenv.CreateTopics(t, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, name)
}
