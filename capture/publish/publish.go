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
type Publisher struct {
	cl    *kgo.Client
	topic string
}

// New returns a Publisher on cl, which must be configured with
// kgo.TransactionalID (one id per capture slot: the broker fences a zombie
// predecessor that uses the same id). checkpointTopic receives the
// checkpoint record of each batch.
func New(cl *kgo.Client, checkpointTopic string) *Publisher {
	return &Publisher{cl: cl, topic: checkpointTopic}
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
	if err := p.cl.BeginTransaction(); err != nil {
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
		p.cl.Produce(ctx, r, promise)
	}
	p.cl.Produce(ctx, &kgo.Record{Topic: p.topic, Partition: 0, Key: []byte(b.Checkpoint.Slot), Value: cp}, promise)
	if err := p.cl.Flush(ctx); err != nil {
		perr = errors.Join(perr, fmt.Errorf("flush: %w", err))
	}
	mu.Lock()
	failed := perr
	mu.Unlock()
	if failed != nil {
		abortErr := p.cl.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return errors.Join(failed, abortErr)
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit kafka transaction: %w", err)
	}
	return nil
}
