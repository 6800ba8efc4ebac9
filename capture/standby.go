package capture

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Standby timing: how often a standby tries the lock (the takeover delay
// after the active capture stops), and how often it checks that Kafka
// answers.
const (
	standbyLockPoll  = time.Second
	standbyKafkaPoll = 30 * time.Second
)

// standby waits on conn until this process holds the single-active lock.
// It says who holds it, tries the lock every second, and checks every 30 s
// that Kafka answers, warning while it does not: a standby that cannot
// reach Kafka cannot take over. It returns nil with the lock held, the
// error of a failed lock query (the MO store is unreachable: Run retries),
// or a permanent Kafka error (a refused login or right).
func (c *Capture) standby(ctx context.Context, conn *pgx.Conn) error {
	holder := lockHolder(ctx, conn, c.cfg.LockID)
	c.log.Info("another capture holds the slot; waiting as standby: this one takes over when it stops",
		slog.String("slot", c.cfg.Slot), slog.String("active", holder))
	cl, err := kgo.NewClient(c.kopts...)
	if err != nil {
		return &permanentError{fmt.Errorf("kafka client: %w", err)}
	}
	defer cl.Close()
	var nextKafka time.Time
	kafkaDown := false
	for {
		if time.Now().After(nextKafka) {
			nextKafka = time.Now().Add(standbyKafkaPoll)
			switch err := pingKafka(ctx, cl); {
			case ctx.Err() != nil:
				return ctx.Err()
			case err == nil:
				if kafkaDown {
					c.log.Info("standby: Kafka answers again", slog.String("slot", c.cfg.Slot))
				}
				kafkaDown = false
			default:
				if perm, _ := classify(err); perm {
					return err
				}
				kafkaDown = true
				c.log.Warn("standby: Kafka is unreachable; this capture could not take over now (checking again)",
					slog.String("slot", c.cfg.Slot), slog.Any("err", err), slog.Duration("retry_in", standbyKafkaPoll))
			}
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, c.cfg.LockID).Scan(&got); err != nil {
			return fmt.Errorf("standby: wait for the capture lock: %w", err)
		}
		if got {
			c.log.Info("standby: the active capture stopped; taking over", slog.String("slot", c.cfg.Slot))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(standbyLockPoll):
		}
	}
}

// lockHolder describes the session holding advisory lock id, for the
// standby's log line; "unknown" when it cannot be read.
func lockHolder(ctx context.Context, conn *pgx.Conn, id int64) string {
	var pid int32
	var addr, app *string
	err := conn.QueryRow(ctx, `SELECT a.pid, host(a.client_addr), a.application_name
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.classid = (($1::bigint >> 32) & 4294967295)::oid AND l.objid = ($1::bigint & 4294967295)::oid
		LIMIT 1`, id).Scan(&pid, &addr, &app)
	if err != nil {
		return "unknown"
	}
	s := fmt.Sprintf("pid %d", pid)
	if addr != nil {
		s += " from " + *addr
	}
	if app != nil && *app != "" {
		s += " (" + *app + ")"
	}
	return s
}
