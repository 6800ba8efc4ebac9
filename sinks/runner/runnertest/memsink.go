package runnertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

// MemSink is the reference Sink: a map from key to version kept in memory,
// applied all or nothing with its offsets. Values are "v<N>" (put),
// "DEL" or a tombstone (delete) and "POISON…" (can never apply).
type MemSink struct {
	mu      sync.Mutex
	state   map[string]int
	offsets runner.Offsets
	applies int
	// Fail, when set, is returned by the next Apply calls (a flaky target)
	// while it returns a non-nil error.
	Fail func() error
}

var _ runner.Sink = (*MemSink)(nil)

// NewMemSink returns an empty MemSink.
func NewMemSink() *MemSink {
	return &MemSink{state: map[string]int{}, offsets: runner.Offsets{}}
}

// Offsets returns the stored offsets.
func (m *MemSink) Offsets(context.Context) (runner.Offsets, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offsets.Clone(), nil
}

// Apply applies b all or nothing.
func (m *MemSink) Apply(_ context.Context, b *runner.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		if err := m.Fail(); err != nil {
			return err
		}
	}
	if err := runner.CheckStart(m.offsets, b); err != nil {
		return err
	}
	next := map[string]int{}
	for k, v := range m.state {
		next[k] = v
	}
	var failed []runner.RecordError
	for _, r := range b.Records {
		if n, ok := m.offsets.Get(r.Topic, r.Partition); ok && r.Offset < n {
			continue
		}
		key, val := string(r.Key), string(r.Value)
		switch {
		case r.Value == nil || val == "DEL":
			delete(next, key)
		case strings.HasPrefix(val, "POISON"):
			failed = append(failed, runner.RecordError{Record: r, Err: errors.New("poison record")})
		case strings.HasPrefix(val, "v"):
			n, err := strconv.Atoi(val[1:])
			if err != nil {
				failed = append(failed, runner.RecordError{Record: r, Err: fmt.Errorf("bad value %q", val)})
				continue
			}
			next[key] = n
		default:
			failed = append(failed, runner.RecordError{Record: r, Err: fmt.Errorf("bad value %q", val)})
		}
	}
	if len(failed) > 0 {
		return &runner.BatchError{Failed: failed}
	}
	m.state = next
	for _, tp := range b.End.Partitions() {
		n, _ := b.End.Get(tp.Topic, tp.Partition)
		if cur, ok := m.offsets.Get(tp.Topic, tp.Partition); !ok || n > cur {
			m.offsets.Set(tp.Topic, tp.Partition, n)
		}
	}
	m.applies++
	return nil
}

// Snapshot is a MemSink's state and offsets at one moment.
type Snapshot struct {
	state   map[string]int
	offsets runner.Offsets
}

// Snapshot returns what the sink holds now.
func (m *MemSink) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Snapshot{state: m.copyState(), offsets: m.offsets.Clone()}
}

// Restore sets the sink back to s, as a target restored from a backup (or
// one that lost its last commits in a crash) would be.
func (m *MemSink) Restore(s Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = make(map[string]int, len(s.state))
	for k, v := range s.state {
		m.state[k] = v
	}
	m.offsets = s.offsets.Clone()
}

func (m *MemSink) copyState() map[string]int {
	out := make(map[string]int, len(m.state))
	for k, v := range m.state {
		out[k] = v
	}
	return out
}

// State returns a copy of the key → version map.
func (m *MemSink) State() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.copyState()
}

// Harness returns a Harness over fresh MemSinks.
func MemHarness() Harness {
	return func(_ *testing.T, prefix string) *Target {
		m := NewMemSink()
		topic := prefix + "mem"
		return &Target{
			Sink:   m,
			Topics: []string{topic},
			Topic:  topic,
			Key:    func(i int) string { return fmt.Sprintf("key-%03d", i) },
			Put:    func(_ string, v int) []byte { return []byte("v" + strconv.Itoa(v)) },
			Delete: func(string) [][]byte { return [][]byte{[]byte("DEL"), nil} },
			Poison: func(string) []byte { return []byte("POISON") },
			State:  func(context.Context) (map[string]int, error) { return m.State(), nil },
			Dump: func(context.Context) (string, error) {
				off, _ := m.Offsets(context.Background())
				return fmt.Sprint(m.State(), off), nil
			},
		}
	}
}
