package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Batch is what one Kafka transaction carries: the events of one or more
// whole source transactions, and the checkpoint that says how far they go.
type Batch struct {
	Records    []*kgo.Record
	Checkpoint Checkpoint
}

// Publisher writes batches with a transactional producer. It is not safe
// for concurrent use: capture publishes one batch at a time, in order.
//
// With more than one client (each its own transactional id), batches take
// them in turn. A Kafka transaction's commit returns once the broker has
// decided it; the markers that make it visible are written afterwards, and
// the same transactional id cannot begin producing again until they are
// (the broker answers CONCURRENT_TRANSACTIONS, a loaded broker for a second
// or more). The next client need not wait for them. Order holds: a batch
// is produced only after the previous one committed, so its records follow
// the previous one's in every partition, and a read_committed consumer
// sees nothing past a transaction still completing.
type Publisher struct {
	cls   []*kgo.Client
	next  int
	topic string
}

// New returns a Publisher on cls, each configured with its own
// kgo.TransactionalID (per capture slot: the broker fences a zombie
// predecessor that uses the same ids). checkpointTopic receives the
// checkpoint record of each batch.
func New(checkpointTopic string, cls ...*kgo.Client) *Publisher {
	return &Publisher{cls: cls, topic: checkpointTopic}
}

// Fence commits an empty transaction with each client, so that a
// predecessor that died inside a Kafka transaction is fenced (its open
// transactions aborted, its completing ones completed) before anyone
// reads the checkpoint. fence is the checkpoint key it writes.
func (p *Publisher) Fence(ctx context.Context, fence Checkpoint) error {
	for range p.cls {
		if err := p.Publish(ctx, Batch{Checkpoint: fence}); err != nil {
			return err
		}
	}
	return nil
}

// Publish writes all records of b and its checkpoint in one Kafka
// transaction and returns nil only once that transaction has committed. On
// error nothing of b is visible to read_committed consumers, or the outcome
// is unknown; either way the caller must not confirm b's position and must
// resume from ReadCheckpoint.
func (p *Publisher) Publish(ctx context.Context, b Batch) error {
	cp, err := json.Marshal(b.Checkpoint)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	cl := p.cls[p.next]
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin kafka transaction: %w", err)
	}
	var (
		mu   sync.Mutex
		perr error
	)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			perr = errors.Join(perr, fmt.Errorf("produce to %s: %w", r.Topic, err))
			mu.Unlock()
		}
	}
	for _, r := range b.Records {
		cl.Produce(ctx, r, promise)
	}
	cl.Produce(ctx, &kgo.Record{Topic: p.topic, Partition: 0, Key: []byte(b.Checkpoint.Slot), Value: cp}, promise)
	if err := cl.Flush(ctx); err != nil {
		perr = errors.Join(perr, fmt.Errorf("flush: %w", err))
	}
	mu.Lock()
	failed := perr
	mu.Unlock()
	if failed != nil {
		abortErr := cl.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return errors.Join(failed, abortErr)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit kafka transaction: %w", err)
	}
	p.next = (p.next + 1) % len(p.cls)
	return nil
}
