package capture

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/capture/build"
	"github.com/os2mo-cdc/mocdc/capture/policy"
	"github.com/os2mo-cdc/mocdc/capture/snapshot"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// txnResult is what one committed source transaction yielded.
type txnResult struct {
	src      event.Source
	regs     []*build.NewRegistration
	reads    []*build.Read
	actors   []build.Actor
	rejected []event.DeadLetter
}

// eventMaker turns registrations into envelopes. It remembers recent object
// versions to list changed fields and reads older ones from the store.
type eventMaker struct {
	topics   event.Topics
	db       snapshot.Querier
	catalog  *catalog
	versions *versions
	// policy, when set, redacts every object built (capture/policy).
	policy *policy.Policy
	// lastEngagement is, per engagement, what its last event was built
	// from (policy.go).
	lastEngagement map[string]publishedEngagement
	// deadLetter counts what went to the dead-letter topic, by stage.
	deadLetter func(stage string)
	// counted is told, by commitCounts, of the events of a committed batch.
	counted func(typ, op string, n int)
	pending map[[2]string]int
	// policyCounted is told of the batch's events with withheld fields and
	// of the engagements republished for their export title.
	policyCounted       func(withheld, republished int)
	withheld, republish int
}

// records returns the Kafka records of a batch of transactions, in source
// order: per transaction its object events (a delete followed by its
// tombstone), reads, actor records and dead letters.
func (m *eventMaker) records(ctx context.Context, batch []txnResult) ([]*kgo.Record, error) {
	if err := m.prefetch(ctx, batch); err != nil {
		return nil, err
	}
	var out []*kgo.Record
	for i := range batch {
		t := &batch[i]
		for _, reg := range t.regs {
			recs, err := m.registration(ctx, t.src, reg)
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
		}
		for _, r := range t.reads {
			out = append(out, m.read(t.src, r))
		}
		for _, a := range t.actors {
			v, _ := json.Marshal(event.Actor{Version: event.Version, UUID: a.UUID, Name: a.Name})
			out = append(out, &kgo.Record{Topic: m.topics.Actor(), Key: []byte(a.UUID), Value: v})
		}
		for _, d := range t.rejected {
			out = append(out, m.dead(d))
		}
	}
	return out, nil
}

// prefetch reads, in one query set per class, the previous registrations
// the batch needs that are neither in the cache nor created in the batch.
func (m *eventMaker) prefetch(ctx context.Context, batch []txnResult) error {
	inBatch := map[versionKey]bool{}
	need := map[*lora.Class][]int64{}
	for i := range batch {
		for _, reg := range batch[i].regs {
			k := versionKey{reg.Class.Name, reg.Closed}
			if reg.Closed != 0 && !inBatch[k] {
				if _, ok := m.versions.get(k); !ok {
					need[reg.Class] = append(need[reg.Class], reg.Closed)
				}
			}
			inBatch[versionKey{reg.Class.Name, reg.ID}] = true
		}
	}
	for class, ids := range need {
		regs, err := snapshot.ReadRegistrations(ctx, m.db, class, ids)
		if err != nil {
			return fmt.Errorf("read previous registrations: %w", err)
		}
		for _, r := range regs {
			obj, err := m.build(class, r.UUID, &r.State, nil)
			if err != nil {
				// The previous version cannot be built either: list
				// every field as changed.
				continue
			}
			m.versions.put(versionKey{class.Name, r.ID}, obj)
		}
	}
	return nil
}

// build makes the object of one registration, redacted by the policy. prev
// names the type of a deleted organisationfunktion, whose state has no
// funktionsnavn.
func (m *eventMaker) build(class *lora.Class, uuid string, s *lora.State, prev *mo.Object) (*mo.Object, error) {
	obj, err := m.buildRaw(class, uuid, s, prev)
	if err == nil && m.policy != nil {
		m.policy.Apply(obj)
	}
	return obj, err
}

// buildRaw is build without the policy: for the policy's own look-ups.
func (m *eventMaker) buildRaw(class *lora.Class, uuid string, s *lora.State, prev *mo.Object) (*mo.Object, error) {
	spec, err := build.SpecFor(class, s)
	if err != nil {
		return nil, err
	}
	if spec == nil {
		if prev == nil {
			return nil, &build.PermanentError{Reason: "organisationfunktion without rows and no earlier version: its MO type is unknown"}
		}
		spec = mo.SpecOf(prev.Type)
	}
	return build.Object(spec, class, uuid, s, m.catalog)
}

func (m *eventMaker) registration(ctx context.Context, src event.Source, reg *build.NewRegistration) ([]*kgo.Record, error) {
	var prev *mo.Object
	if reg.Closed != 0 {
		prev, _ = m.versions.get(versionKey{reg.Class.Name, reg.Closed})
	}
	obj, err := m.build(reg.Class, reg.UUID, &reg.State, prev)
	if err != nil {
		return []*kgo.Record{m.dead(event.DeadLetter{
			Stage: "build", Reason: err.Error(), Source: src,
			Table: reg.Class.RegistreringTable(), Registration: reg.ID,
		})}, nil
	}
	m.versions.put(versionKey{reg.Class.Name, reg.ID}, obj)
	m.catalog.Learn(obj)

	env := &event.Envelope{
		Version: event.Version,
		ID:      event.ObjectID(reg.Class.Name, reg.ID),
		Type:    obj.Type,
		UUID:    reg.UUID,
		Registration: &event.Registration{
			ID: reg.ID, Time: reg.Reg.Period.From, Lifecycle: string(reg.Reg.Lifecycle),
			Actor: reg.Reg.Actor, Note: m.note(reg.Reg.Note),
		},
		Source: src,
		Object: obj,
	}
	switch {
	case reg.Reg.Lifecycle == lora.Slettet:
		env.Op = event.Delete
		env.Object = nil
		env.Changed = []string{}
	case reg.Closed == 0:
		env.Op = event.Create
		env.Changed = mo.Changed(nil, obj)
	default:
		env.Op = event.Update
		env.Changed = mo.Changed(prev, obj)
	}
	v, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", env.ID, err)
	}
	m.count(string(obj.Type), string(env.Op))
	m.countWithheld(env.Object)
	topic := m.topics.Object(obj.Type)
	recs := []*kgo.Record{{Topic: topic, Key: []byte(reg.UUID), Value: v}}
	if env.Op == event.Delete {
		// The tombstone lets compaction forget the object; the delete
		// event before it tells consumers what happened.
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(reg.UUID)})
	}
	m.published(obj, reg.ID, env.Op == event.Delete)
	more, err := m.policyFollowUps(ctx, obj, reg.Reg.Period.From, env.ID, src)
	if err != nil {
		return nil, err
	}
	return append(recs, more...), nil
}

func (m *eventMaker) read(src event.Source, r *build.Read) *kgo.Record {
	a := event.Access{
		Version: event.Version, ID: "read/" + r.ID, Operation: r.ID, Time: r.Time, Actor: r.Actor,
		Model: r.Model, Name: r.Operation, UUIDs: r.UUIDs, Source: src,
	}
	if len(r.Arguments) > 0 && json.Valid(r.Arguments) {
		a.Arguments = r.Arguments
	}
	m.scrubAccess(&a)
	v, _ := json.Marshal(a)
	m.count("access", "read")
	return &kgo.Record{Topic: m.topics.Access(), Key: []byte(r.Actor), Value: v}
}

func (m *eventMaker) dead(d event.DeadLetter) *kgo.Record {
	d.Version = event.Version
	m.scrubDeadLetter(&d)
	if m.deadLetter != nil {
		m.deadLetter(d.Stage)
	}
	v, _ := json.Marshal(d)
	return &kgo.Record{Topic: m.topics.DeadLetter(), Key: []byte(d.Source.LSN), Value: v}
}

func (m *eventMaker) count(typ, op string) {
	if m.pending == nil {
		m.pending = map[[2]string]int{}
	}
	m.pending[[2]string{typ, op}]++
}

// commitCounts reports the events counted since the last call; call it
// once their Kafka transaction committed. discardCounts forgets them.
func (m *eventMaker) commitCounts() {
	for k, n := range m.pending {
		if m.counted != nil {
			m.counted(k[0], k[1], n)
		}
	}
	m.pending = nil
	if m.policyCounted != nil && m.withheld+m.republish > 0 {
		m.policyCounted(m.withheld, m.republish)
	}
	m.withheld, m.republish = 0, 0
}

func (m *eventMaker) discardCounts() { m.pending, m.withheld, m.republish = nil, 0, 0 }
