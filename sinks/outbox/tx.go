package outbox

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// memory is the committed state: every state value and every effect ever
// recorded, rebuilt from the state topic at start.
type memory struct {
	mu      sync.RWMutex
	state   map[string][]byte
	effects map[string]*Effect
	pending []*pending
}

// pending is an intent waiting for Perform.
type pending struct {
	e    *Effect
	next time.Time     // not before
	wait time.Duration // next backoff
}

func newMemory() *memory {
	return &memory{state: map[string][]byte{}, effects: map[string]*Effect{}}
}

// apply adds one decoded record of the state topic (load order).
func (m *memory) apply(d decoded) {
	switch {
	case d.effect != nil:
		m.effects[d.effect.Key] = d.effect
	case d.state != "" && d.deleted:
		delete(m.state, d.state)
	case d.state != "":
		m.state[d.state] = d.value
	}
}

// Tx is one batch's view of the state: reads see the committed state plus
// the batch's own writes; writes are committed with the batch's offsets, or
// dropped with it. A Tx is used by one goroutine, only during Handle.
type Tx struct {
	m       *memory
	now     time.Time
	dlTopic string

	state      map[string]*[]byte // nil pointer: deleted
	stateOrder []string
	effects    map[string]*Effect
	effOrder   []string
	dead       []*kgo.Record
}

func newTx(m *memory, now time.Time, dlTopic string) *Tx {
	return &Tx{m: m, now: now, dlTopic: dlTopic, state: map[string]*[]byte{}, effects: map[string]*Effect{}}
}

// Get returns the value of a state key.
func (t *Tx) Get(key string) ([]byte, bool) {
	if v, ok := t.state[key]; ok {
		if v == nil {
			return nil, false
		}
		return *v, true
	}
	t.m.mu.RLock()
	defer t.m.mu.RUnlock()
	v, ok := t.m.state[key]
	return v, ok
}

// Put sets a state key.
func (t *Tx) Put(key string, value []byte) {
	if _, ok := t.state[key]; !ok {
		t.stateOrder = append(t.stateOrder, key)
	}
	v := append([]byte{}, value...)
	t.state[key] = &v
}

// Delete removes a state key (a tombstone on the compacted topic).
func (t *Tx) Delete(key string) {
	if _, ok := t.state[key]; !ok {
		t.stateOrder = append(t.stateOrder, key)
	}
	t.state[key] = nil
}

// Effect returns the record of an effect key, if one was ever intended.
func (t *Tx) Effect(key string) (Effect, bool) {
	if e, ok := t.effects[key]; ok {
		return *e, true
	}
	t.m.mu.RLock()
	defer t.m.mu.RUnlock()
	if e, ok := t.m.effects[key]; ok {
		return *e, true
	}
	return Effect{}, false
}

// Intend records an effect to perform once the batch commits. It returns
// false, recording nothing, when an effect with this key was ever intended
// (whatever its status): an effect happens once per key. The key should
// name what the effect is about (e.g. rule, object and content digest).
func (t *Tx) Intend(key string, payload []byte, from ...Source) bool {
	if _, ok := t.Effect(key); ok {
		return false
	}
	t.effects[key] = &Effect{Key: key, Status: Intended, Payload: append([]byte{}, payload...),
		Sources: append([]Source{}, from...), IntendedAt: t.now}
	t.effOrder = append(t.effOrder, key)
	return true
}

// DeadLetter sends a consumed record the handler cannot process to the
// dead-letter topic, with the reason, in the batch's transaction.
func (t *Tx) DeadLetter(r *kgo.Record, stage, reason string) {
	d := event.DeadLetter{Version: event.Version, Stage: stage, Reason: reason,
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	if json.Valid(r.Value) {
		d.Payload = r.Value
	}
	v, _ := json.Marshal(d)
	t.dead = append(t.dead, &kgo.Record{Topic: t.dlTopic, Key: r.Key, Value: v})
}

// records returns what the batch writes to the state topic.
func (t *Tx) records(topic string) ([]*kgo.Record, error) {
	out := make([]*kgo.Record, 0, len(t.stateOrder)+len(t.effOrder)+len(t.dead))
	for _, k := range t.stateOrder {
		r := &kgo.Record{Topic: topic, Partition: 0, Key: stateKey(k)}
		if v := t.state[k]; v != nil {
			b, err := json.Marshal(stateValue{Value: *v})
			if err != nil {
				return nil, err
			}
			r.Value = b
		}
		out = append(out, r)
	}
	for _, k := range t.effOrder {
		b, err := json.Marshal(t.effects[k])
		if err != nil {
			return nil, err
		}
		out = append(out, &kgo.Record{Topic: topic, Partition: 0, Key: effectKey(k), Value: b})
	}
	return append(out, t.dead...), nil
}

// commit applies the batch's writes to memory after its transaction
// committed, and returns the new intents.
func (t *Tx) commit() []*Effect {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	for _, k := range t.stateOrder {
		if v := t.state[k]; v != nil {
			t.m.state[k] = *v
		} else {
			delete(t.m.state, k)
		}
	}
	var out []*Effect
	for _, k := range t.effOrder {
		e := t.effects[k]
		t.m.effects[k] = e
		out = append(out, e)
	}
	return out
}
