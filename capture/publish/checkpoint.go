package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Checkpoint is how far capture has published, stored on the checkpoint
// topic under the slot name, in the same Kafka transaction as the events.
type Checkpoint struct {
	// Slot is the replication slot the position belongs to.
	Slot string `json:"slot"`
	// LSN is the end LSN of the last source transaction whose events are
	// published; capture skips transactions that end at or before it.
	LSN uint64 `json:"lsn"`
	// Snapshot is the progress of the initial snapshot; nil once it is done
	// or when there was none.
	Snapshot *SnapshotProgress `json:"snapshot,omitempty"`
	// SnapshotDone is set once the initial snapshot has been published.
	SnapshotDone bool `json:"snapshot_done"`
	// Tick is the last validity day the clock has emitted ticks for.
	Tick string `json:"tick,omitempty"`
	// Partial is set while a source transaction too large for one Kafka
	// transaction is being published in parts.
	Partial *Partial `json:"partial,omitempty"`
}

// Partial says how much of one large source transaction is published: its
// first Records records, in capture's deterministic order. LSN still points
// before the transaction; on restart capture skips those records.
type Partial struct {
	EndLSN  uint64 `json:"end_lsn"`
	Records int64  `json:"records"`
}

// SnapshotProgress says where an interrupted initial snapshot resumes.
type SnapshotProgress struct {
	// Visible is pg_current_snapshot() of the exported snapshot: the
	// registrations visible in it are the ones the snapshot publishes, also
	// when it resumes under a later snapshot.
	Visible string `json:"visible"`
	// Class is the LoRa class being published; Classes before it are done.
	Class string `json:"class"`
	// After is the last object uuid of Class that has been published.
	After string `json:"after"`
	// Published counts the snapshot events published so far.
	Published int64 `json:"published"`
}

// ReadCheckpoint returns the last committed checkpoint of slot from topic,
// or nil if the topic holds none for slot. It reads the single-partition
// compacted topic from the start to its end with read_committed isolation.
// The caller must first have fenced any predecessor (a transactional commit
// with the same transactional id), so no transaction is left open to wait
// for. base holds the connection options (seed brokers, TLS, SASL).
//
// nil means the whole topic was read and holds no checkpoint of slot:
// a failed or stalled read, or a checkpoint record that does not decode,
// is an error, never nil — capture drops the slot when there is none.
func ReadCheckpoint(ctx context.Context, base []kgo.Opt, topic, slot string) (*Checkpoint, error) {
	rd, err := kgo.NewClient(append(append([]kgo.Opt{}, base...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	defer rd.Close()
	// The high watermark after the caller's own fencing commit: the last
	// record below it is that commit's marker, so reading up to it waits
	// for every earlier transaction's marker to land (markers are written
	// after EndTxn returns) instead of stopping at a stale stable offset.
	ends, err := kadm.NewClient(rd).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: list offsets of %s: %w", topic, err)
	}
	lo, ok := ends.Lookup(topic, 0)
	if !ok || lo.Err != nil {
		return nil, fmt.Errorf("read checkpoint: topic %s partition 0: %v", topic, lo.Err)
	}
	if lo.Offset == 0 {
		return nil, nil
	}
	var (
		last *Checkpoint
		pos  int64 // next offset to read
	)
	for {
		pctx, cancel := context.WithTimeout(ctx, checkpointStall)
		fs := rd.PollFetches(pctx)
		stalled := pctx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = errors.Join(ferr, err)
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("read checkpoint topic %s: %w", topic, ferr)
		}
		done := false
		var derr error
		fs.EachRecord(func(r *kgo.Record) {
			pos = r.Offset + 1
			if !r.Attrs.IsControl() && string(r.Key) == slot && r.Value != nil {
				var c Checkpoint
				if err := json.Unmarshal(r.Value, &c); err != nil {
					derr = fmt.Errorf("checkpoint of slot %s at %s offset %d does not decode: %w (was something else written to the checkpoint topic?)", slot, topic, r.Offset, err)
					return
				}
				last = &c
			}
			if r.Offset+1 >= lo.Offset {
				done = true
			}
		})
		if derr != nil {
			return nil, derr
		}
		if done {
			return last, nil
		}
		if stalled {
			return nil, fmt.Errorf("read checkpoint topic %s: no record after offset %d for %s although it ends at %d (an open transaction of another producer, or an overloaded broker)", topic, pos, checkpointStall, lo.Offset)
		}
	}
}

// checkpointStall bounds how long ReadCheckpoint waits for the next record.
const checkpointStall = 30 * time.Second
