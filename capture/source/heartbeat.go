package source

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// HeartbeatPrefix is the prefix of the logical decoding messages the
// heartbeat writes; capture recognises and drops them.
const HeartbeatPrefix = "mocdc.heartbeat"

// Heartbeat writes a non-transactional logical decoding message into the MO
// store's WAL every interval. When the MO store is idle but other databases
// on the same server write, the slot would otherwise never advance and the
// server would keep their WAL for it.
type Heartbeat struct {
	Pool     *pgxpool.Pool
	Interval time.Duration
}

// Run writes heartbeats until ctx ends. Errors are returned to the caller,
// which logs them and keeps going: a missed heartbeat only delays slot
// advance.
func (h *Heartbeat) Run(ctx context.Context, onErr func(error)) error {
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := h.Pool.Exec(ctx, `SELECT pg_logical_emit_message(false, $1, now()::text)`, HeartbeatPrefix); err != nil && ctx.Err() == nil {
				onErr(fmt.Errorf("heartbeat: %w", err))
			}
		}
	}
}

// SlotLag returns how many bytes of WAL the server keeps for slot: the
// distance from its confirmed position to the current WAL end.
func SlotLag(ctx context.Context, pool *pgxpool.Pool, slot string) (int64, error) {
	var lag *int64
	err := pool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&lag)
	if err != nil {
		return 0, fmt.Errorf("slot lag of %s: %w", slot, err)
	}
	if lag == nil {
		return 0, nil
	}
	return *lag, nil
}
