package reconcile

import (
	"context"
	"sync"
)

// Queue is a FIFO of keys without duplicates, like controller-runtime's
// work queue: a key added while waiting is not added twice, and a key
// added while being processed (between Get and Done) is processed again
// after Done, never concurrently. Keys added with AddBackground (a full
// resync, a fan-out to many owners) wait until no key added with Add
// does, so one owner's own change is not stuck behind thousands of
// others; Add promotes a background key. Safe for concurrent use.
type Queue struct {
	mu      sync.Mutex
	order   []string // Add
	low     []string // AddBackground
	queued  map[string]int
	running map[string]bool
	again   map[string]int
	signal  chan struct{}
}

const (
	high = 1
	low  = 2
)

// NewQueue returns an empty queue.
func NewQueue() *Queue {
	return &Queue{queued: map[string]int{}, running: map[string]bool{}, again: map[string]int{}, signal: make(chan struct{}, 1)}
}

// Add queues keys that are not queued yet (or only in the background).
func (q *Queue) Add(keys ...string) { q.add(high, keys) }

// AddBackground queues keys that are not queued yet, behind every key
// added with Add.
func (q *Queue) AddBackground(keys ...string) { q.add(low, keys) }

func (q *Queue) add(prio int, keys []string) {
	q.mu.Lock()
	for _, k := range keys {
		switch {
		case q.running[k]:
			if a := q.again[k]; a == 0 || prio < a {
				q.again[k] = prio
			}
		case q.queued[k] == 0:
			q.queued[k] = prio
			q.push(prio, k)
		case prio == high && q.queued[k] == low:
			q.queued[k] = high // its entry in low is skipped
			q.order = append(q.order, k)
		}
	}
	q.mu.Unlock()
	q.wake()
}

func (q *Queue) push(prio int, k string) {
	if prio == high {
		q.order = append(q.order, k)
	} else {
		q.low = append(q.low, k)
	}
}

func (q *Queue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop takes the next key (high first); the caller holds the lock.
func (q *Queue) pop() (string, bool) {
	for len(q.order) > 0 {
		k := q.order[0]
		q.order[0] = ""
		q.order = q.order[1:]
		if q.queued[k] == high {
			return k, true
		}
	}
	for len(q.low) > 0 {
		k := q.low[0]
		q.low[0] = ""
		q.low = q.low[1:]
		if q.queued[k] == low {
			return k, true
		}
	}
	return "", false
}

// Get blocks until a key is queued and returns it, marked as being
// processed; it returns false when ctx ends.
func (q *Queue) Get(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		if k, ok := q.pop(); ok {
			delete(q.queued, k)
			q.running[k] = true
			more := len(q.queued) > 0
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
	prio := q.again[key]
	delete(q.again, key)
	q.mu.Unlock()
	if prio != 0 {
		q.add(prio, []string{key})
	}
}

// Len returns how many keys wait (not counting those being processed).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

// Has reports whether key waits in the queue.
func (q *Queue) Has(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued[key] != 0
}

// Idle reports whether nothing waits and nothing is being processed.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued) == 0 && len(q.running) == 0
}

// IdleBut reports whether nothing is being processed and nothing waits
// but (possibly) key: a marker key does not count as work.
func (q *Queue) IdleBut(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.running) > 0 && !(len(q.running) == 1 && q.running[key]) {
		return false
	}
	n := len(q.queued)
	if q.queued[key] != 0 {
		n--
	}
	return n == 0 && len(q.again) == 0
}
