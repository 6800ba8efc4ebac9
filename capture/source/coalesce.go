package source

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// CoalesceReads makes the replication connection of cfg read the
// walsender's messages in bursts: a read that follows a short one (the
// socket was drained) waits until gap has passed since, so the messages
// sent meanwhile arrive in one system call and one wake-up.
//
// Near the WAL end the walsender sends each message of a transaction on its
// own as it decodes them, and a reader that reads each as it comes wakes
// once per message: under a steady trickle of small transactions that, not
// decoding, is most of capture's CPU. A full read (a backlog) is never
// delayed, so throughput is unchanged; the latency added is at most gap per
// burst.
func CoalesceReads(cfg *pgconn.Config, gap time.Duration) {
	if gap <= 0 {
		return
	}
	next := cfg.AfterNetConnect
	cfg.AfterNetConnect = func(ctx context.Context, c *pgconn.Config, conn net.Conn) (net.Conn, error) {
		if next != nil {
			var err error
			if conn, err = next(ctx, c, conn); err != nil {
				return nil, err
			}
		}
		return &coalescingConn{Conn: conn, gap: gap}, nil
	}
}

type coalescingConn struct {
	net.Conn
	gap time.Duration
	// short is when the last short read returned (Unix ns), 0 after a
	// full one.
	short atomic.Int64
}

func (c *coalescingConn) Read(p []byte) (int, error) {
	if at := c.short.Load(); at != 0 {
		if d := c.gap - time.Since(time.Unix(0, at)); d > 0 {
			time.Sleep(d)
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 && n < len(p) {
		c.short.Store(time.Now().UnixNano())
	} else {
		c.short.Store(0)
	}
	return n, err
}
