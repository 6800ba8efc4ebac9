package capture

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
)

// proxy is a TCP forwarder that a test can cut and restore, to make
// PostgreSQL unreachable for a while.
type proxy struct {
	mu     sync.Mutex
	target string
	addr   string
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every forwarded connection.
func (p *proxy) cut() {
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

// restore listens again on the same address.
func (p *proxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve(ln)
}

// TestCapturePostgresOutage: PostgreSQL becomes unreachable for capture
// for a few seconds while the MO store keeps changing; capture logs,
// backs off, reconnects and publishes every change exactly once.
func TestCapturePostgresOutage(t *testing.T) {
	e := newEnv(t)
	e.seed(40)
	px := newProxy(t, "127.0.0.1:55432")
	viaProxy := strings.Replace(e.dsn, "127.0.0.1:55432", px.addr, 1)
	pool, err := pgxpool.New(context.Background(), viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	direct := e.dsn
	e.dsn, e.pool = viaProxy, pool
	c := e.capture(nil, nil)
	e.dsn = direct
	e.pool, _ = pgxpool.New(context.Background(), direct)
	t.Cleanup(e.pool.Close)
	e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 3, Rate: 100, MaxChanges: 600}, nil); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(2 * time.Second)
	px.cut()
	time.Sleep(4 * time.Second)
	px.restore(t)
	<-done
	e.waitCaughtUp(2 * time.Minute)
	if v := counter(c.metrics.restarts); v < 1 {
		t.Errorf("capture did not notice the outage (restarts=%v)", v)
	}
	checkSequences(t, e.readObjects(1, time.Minute), e.registrations(context.Background()))
}

// TestHeartbeatAdvancesIdleSlot: with the MO store idle and another
// database on the same server writing, the slot still advances, and the
// slot lag metric reports it.
func TestHeartbeatAdvancesIdleSlot(t *testing.T) {
	e := newEnv(t)
	e.seed(10)
	c := e.capture(nil, nil)
	e.start(c)
	e.waitSlot(time.Minute)
	e.waitCaughtUp(time.Minute)

	other := testenv.NewPostgresDB(t, "other")
	op, err := pgxpool.New(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	ctx := context.Background()
	if _, err := op.Exec(ctx, `CREATE TABLE noise AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 200000) g`); err != nil {
		t.Fatal(err)
	}
	var after string
	if err := op.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var passed bool
		if err := e.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2`, after, e.slot).Scan(&passed); err != nil {
			t.Fatal(err)
		}
		if passed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot did not advance past %s while the MO store was idle", after)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(6 * time.Second) // the lag gauge is sampled every 5 s
	// The other database wrote tens of MB of WAL; a slot that did not
	// advance would report all of it as lag.
	if lag := gauge(c.metrics.slotLag); lag < 0 || lag > 16<<20 {
		t.Errorf("slot lag gauge %v bytes, want under 16 MiB", lag)
	}
}
