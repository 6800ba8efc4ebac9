package reconcile

import (
	"context"
	"sync"
)

// Queue is a FIFO of keys without duplicates, like controller-runtime's
// work queue: a key added while waiting is not added twice, and a key
// added while being processed (between Get and Done) is processed again
// after Done, never concurrently. Safe for concurrent use.
type Queue struct {
	mu      sync.Mutex
	order   []string
	queued  map[string]bool
	running map[string]bool
	again   map[string]bool
	signal  chan struct{}
}

// NewQueue returns an empty queue.
func NewQueue() *Queue {
	return &Queue{queued: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{}, signal: make(chan struct{}, 1)}
}

// Add queues keys that are not queued yet.
func (q *Queue) Add(keys ...string) {
	q.mu.Lock()
	for _, k := range keys {
		switch {
		case q.running[k]:
			q.again[k] = true
		case !q.queued[k]:
			q.queued[k] = true
			q.order = append(q.order, k)
		}
	}
	q.mu.Unlock()
	q.wake()
}

func (q *Queue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// Get blocks until a key is queued and returns it, marked as being
// processed; it returns false when ctx ends.
func (q *Queue) Get(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		for len(q.order) > 0 {
			k := q.order[0]
			q.order[0] = ""
			q.order = q.order[1:]
			delete(q.queued, k)
			q.running[k] = true
			more := len(q.order) > 0
			q.mu.Unlock()
			if more {
				q.wake() // another worker may take the next one
			}
			return k, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case <-q.signal:
		}
	}
}

// Done marks key as processed; if it was added meanwhile it is queued again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	delete(q.running, key)
	requeue := q.again[key]
	delete(q.again, key)
	q.mu.Unlock()
	if requeue {
		q.Add(key)
	}
}

// Len returns how many keys wait (not counting those being processed).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// Has reports whether key waits in the queue.
func (q *Queue) Has(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued[key]
}

// Idle reports whether nothing waits and nothing is being processed.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order) == 0 && len(q.running) == 0
}
