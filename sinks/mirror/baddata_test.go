package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// proxy is a TCP proxy in front of the target that the test can take down
// (every connection cut, new ones refused) and bring back up.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[s] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *proxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy up again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// throughProxy returns cfg with its DSN pointing at a new proxy to its
// target, and the proxy.
func throughProxy(t *testing.T, cfg Config) (Config, *proxy) {
	switch cfg.Dialect {
	case "postgres":
		u, err := url.Parse(cfg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		target := u.Host
		p := newProxy(t, target)
		u.Host = p.addr
		cfg.DSN = u.String()
		return cfg, p
	case "mysql":
		mc, err := gomysql.ParseDSN(cfg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		p := newProxy(t, mc.Addr)
		mc.Addr = p.addr
		cfg.DSN = mc.FormatDSN()
		return cfg, p
	}
	t.Fatalf("no proxy for %s", cfg.Dialect)
	return cfg, nil
}

// The target goes away (connections cut, new ones refused) at start and
// again while changes flow: the mirror retries with backoff and, once the
// target is back, holds every change.
func TestTargetDownRetriesAndLosesNothing(t *testing.T) {
	for _, dialect := range localDialects() {
		t.Run(dialect, func(t *testing.T) {
			k := newKafkaEnv(t)
			direct := newTarget(t, dialect, Actual)
			cfg, px := throughProxy(t, direct)
			db, err := Open(direct)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d, _ := dialectFor(cfg)

			w := newWorkload(3)
			k.send(t, w.seed(100, 150)...)
			px.down() // down before the mirror even starts
			reg := prometheus.NewRegistry()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, cfg, RunDeps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(k.brokers...)}, Topics: k.topics, Registry: reg, Clock: fixedClock,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			time.Sleep(1500 * time.Millisecond)
			px.up(t)
			k.waitCaughtUp(t, db, d, time.Minute)

			// Down in the middle of the stream.
			var msgs []msg
			for len(msgs) < 1500 {
				msgs = append(msgs, w.change()...)
			}
			k.send(t, msgs[:500]...)
			time.Sleep(100 * time.Millisecond)
			px.down()
			k.send(t, msgs[500:]...)
			time.Sleep(2 * time.Second)
			end := int64(0)
			for _, parts := range k.end(t) {
				for _, n := range parts {
					end += n
				}
			}
			if got := applied(t, db, d); got >= end {
				t.Fatalf("all %d records were applied although the target was down", end)
			}
			px.up(t)
			k.waitCaughtUp(t, db, d, time.Minute)
			waitWorkload(t, db, d, w, 30*time.Second)
			retries := counterValue(t, reg, "mocdc_sink_retries_total")
			if retries == 0 {
				t.Fatal("the runner never retried although the target was down")
			}
			t.Logf("retried %v times while the target was down", retries)
		})
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// Wrong credentials or a missing database stop the mirror at once with
// an error that says what to check; they are not retried.
func TestStartErrorsSayWhatToCheck(t *testing.T) {
	ctx := context.Background()
	start := func(cfg Config) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return Run(ctx, cfg, RunDeps{Topics: event.Topics{Prefix: "unused"}})
	}
	expect := func(t *testing.T, err error, want string) {
		t.Helper()
		var se *StartError
		if !errors.As(err, &se) {
			t.Fatalf("got %v, want a StartError", err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	only := func(t *testing.T, dialect string) {
		if !selected(dialect) {
			t.Skip("not run: " + EnvDialects + " leaves " + dialect + " out")
		}
	}
	t.Run("postgres wrong user", func(t *testing.T) {
		only(t, "postgres")
		cfg := newTarget(t, "postgres", Actual)
		u, _ := url.Parse(cfg.DSN)
		u.User = url.UserPassword("no_such_user", "secret")
		cfg.DSN = u.String()
		expect(t, start(cfg), "Check the user and password")
	})
	t.Run("postgres missing database", func(t *testing.T) {
		only(t, "postgres")
		cfg := newTarget(t, "postgres", Actual)
		u, _ := url.Parse(cfg.DSN)
		u.Path = "/no_such_database"
		cfg.DSN = u.String()
		expect(t, start(cfg), "does not exist")
	})
	t.Run("mysql wrong password", func(t *testing.T) {
		only(t, "mysql")
		cfg := newTarget(t, "mysql", Actual)
		mc, _ := gomysql.ParseDSN(cfg.DSN)
		mc.Passwd = "wrong"
		cfg.DSN = mc.FormatDSN()
		expect(t, start(cfg), "Check the user and password")
	})
	t.Run("mysql missing database", func(t *testing.T) {
		only(t, "mysql")
		cfg := newTarget(t, "mysql", Actual)
		mc, _ := gomysql.ParseDSN(cfg.DSN)
		mc.DBName = "no_such_database"
		cfg.DSN = mc.FormatDSN()
		expect(t, start(cfg), "does not exist")
	})
}

// An existing table whose columns differ is an error at start naming the
// table and the columns; the mirror never alters it. Switching modes on
// built tables is refused too.
func TestDifferingTablesAreRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		cfg := newTarget(t, dialect, Actual)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)
		// A BI team's own enheder from an old export: navn too short, no
		// opmærkning columns, an extra column.
		q := fmt.Sprintf("CREATE TABLE %s (%s INT PRIMARY KEY, %s VARCHAR(36), %s VARCHAR(100), %s VARCHAR(10))", d.Quote(tEnheder),
			d.Quote("id"), d.Quote("uuid"), d.Quote("navn"), d.Quote("gammel_kolonne"))
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
		m, err := New(db, cfg, event.Topics{})
		if err != nil {
			t.Fatal(err)
		}
		err = m.Prepare(context.Background(), false)
		var se *StartError
		if !errors.As(err, &se) {
			t.Fatalf("Prepare over a differing enheder: %v, want a StartError", err)
		}
		for _, want := range []string{"table enheder", "opmærkning_uuid", "gammel_kolonne", "navn is string(100), want string(250)", "--rebuild"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %q:\n%v", want, err)
			}
		}
		cols := query(t, db, d.Introspect(), tEnheder)
		if len(cols) != 4 {
			t.Fatalf("the mirror altered enheder: it has %d columns now", len(cols))
		}
		// --rebuild replaces it.
		if err := m.Prepare(context.Background(), true); err != nil {
			t.Fatalf("Prepare --rebuild: %v", err)
		}
		// The tables are actual-state now; historic is refused.
		hc := cfg
		hc.Mode = Historic
		hm, _ := New(db, hc, event.Topics{})
		err = hm.Prepare(context.Background(), false)
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "built in actual mode") {
			t.Fatalf("switching to historic: %v", err)
		}
	})
}

// A record the target would reject (an address value longer than
// adresser.værdi) goes to the dead-letter topic with the reason; the rest
// of its batch is applied.
func TestRejectedRowIsDeadLetteredAndTheRestApplies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		k := newKafkaEnv(t)
		cfg := newTarget(t, dialect, Actual)
		runMirror(t, cfg, k, fixedClock)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)
		long := "https://intra.kommune.dk/" + strings.Repeat("ø", 300)
		addr := func(n int, value string) msg {
			return put(event.Create, obj(mo.Address, id(7, n), ver("2020-01-01", "", map[string]any{"user_key": fmt.Sprint(n), "value": value, "person": p1})))
		}
		k.send(t, addr(1, "a@kommune.dk"), addr(2, long), addr(3, "c@kommune.dk"), addr(4, "d@kommune.dk"))
		k.waitCaughtUp(t, db, d, time.Minute)
		got := query(t, db, selectSQL(d, tAdresser, []string{"uuid", "værdi"}, "uuid"))
		want := []string{r(id(7, 1), "a@kommune.dk"), r(id(7, 3), "c@kommune.dk"), r(id(7, 4), "d@kommune.dk")}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("adresser:\n got %v\nwant %v", got, want)
		}
		dc, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumeTopics(k.topics.DeadLetter()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer dc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		recs := dc.PollFetches(ctx).Records()
		if len(recs) != 1 {
			t.Fatalf("dead-letter topic holds %d records, want 1", len(recs))
		}
		var dl event.DeadLetter
		if err := json.Unmarshal(recs[0].Value, &dl); err != nil {
			t.Fatal(err)
		}
		if dl.Stage != "apply" || dl.Topic != k.topics.Object(mo.Address) || !strings.Contains(dl.Reason, "adresser.værdi") || !strings.Contains(dl.Reason, "longer than 250") {
			t.Fatalf("dead letter %+v does not say where and why", dl)
		}
		if string(recs[0].Key) != id(7, 2) {
			t.Fatalf("dead letter key %s, want %s", recs[0].Key, id(7, 2))
		}
	})
}

// --rebuild drops the tables, offsets and state and rebuilds them from the
// compacted topics: a row someone changed by hand is right again.
func TestRebuildFromTopics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		k := newKafkaEnv(t)
		cfg := newTarget(t, dialect, Actual)
		stop := runMirror(t, cfg, k, fixedClock)
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d, _ := dialectFor(cfg)
		k.send(t, municipality()...)
		k.send(t, put(event.Create, classObj(pedel)))
		k.waitCaughtUp(t, db, d, time.Minute)
		stop()
		want := wantRound1(Actual)
		want[tKlasser] = append(want[tKlasser], r(cPedel, "pedel", "Pedel", fJob, "engagement_job_function"))
		for i, row := range want[tEngagementer] {
			want[tEngagementer][i] = strings.Replace(row, cPedel+" | "+N, cPedel+" | Pedel", 1)
		}
		assertTables(t, db, d, want, 0)
		if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET %s = 'Forkert'", d.Quote(tBrugere), d.Quote("fornavn"))); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var logBuf syncBuffer
		go func() {
			done <- Run(ctx, cfg, RunDeps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(k.brokers...)}, Topics: k.topics, Rebuild: true, Clock: fixedClock,
				Logger: slog.New(slog.NewTextHandler(&logBuf, nil)), ProgressEvery: 200 * time.Millisecond})
		}()
		// The old offsets are still there until the rebuild has dropped
		// them: wait for it to be under way before waiting to catch up.
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logBuf.String(), "mirror ready"); {
			if time.Now().After(deadline) {
				t.Fatalf("the rebuild never got ready:\n%s", logBuf.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		k.waitCaughtUp(t, db, d, time.Minute)
		assertTables(t, db, d, want, 10*time.Second)
		time.Sleep(500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"rebuild: dropped", "rebuild done"} {
			if !strings.Contains(logBuf.String(), line) {
				t.Errorf("log lacks %q:\n%s", line, logBuf.String())
			}
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
