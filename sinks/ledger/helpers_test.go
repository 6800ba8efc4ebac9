package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// kafkaEnv is one test's own set of topics on the local broker.
type kafkaEnv struct {
	brokers []string
	prefix  string // testenv prefix: topics, groups and transactional ids start with it
	topics  event.Topics
	opts    []kgo.Opt
}

// newKafkaEnv creates the topics capture would create (object topics and
// the access topic with 3 partitions, the actor topic) under a unique prefix.
func newKafkaEnv(t testing.TB) *kafkaEnv {
	t.Helper()
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueTopicPrefix(t)
	env := &kafkaEnv{brokers: brokers, prefix: prefix, topics: event.Topics{Prefix: prefix + "mo"},
		opts: []kgo.Opt{kgo.SeedBrokers(brokers...)}}
	compacted := map[string]*string{"cleanup.policy": ptr("compact")}
	testenv.CreateTopics(t, 3, compacted, env.topics.Objects()...)
	testenv.CreateTopics(t, 3, nil, env.topics.Access())
	testenv.CreateTopics(t, 1, compacted, env.topics.Actor())
	return env
}

// builderConfig is a test configuration: small batches and checkpoints.
func builderConfig() Config {
	c := Config{CheckpointEvery: 50, CheckpointInterval: time.Second, BatchMax: 500}
	c.Defaults()
	return c
}

func (env *kafkaEnv) newBuilder(t testing.TB, cfg Config, key ed25519.PrivateKey, reg prometheus.Registerer) *Builder {
	t.Helper()
	b, err := NewBuilder(cfg, Deps{KafkaOpts: env.opts, Topics: env.topics, Key: key, Logger: testLogger(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start runs b until the test ends (or stop is called) and fails the test
// if Run returns an error.
func start(t testing.TB, b *Builder) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("builder: %v", err)
			}
		case <-time.After(90 * time.Second):
			t.Errorf("builder did not stop within 90s")
		}
	}
	t.Cleanup(stop)
	return stop
}

func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("MOCDC_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("test", t.Name())
}

// waitEntries reads the ledger until it holds want entries (checkpoints
// not counted) and returns all its records.
func (env *kafkaEnv) waitEntries(t testing.TB, want int, timeout time.Duration) []*Record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := env.readLedger(t)
		n := 0
		for _, r := range recs {
			if r.Entry != nil {
				n++
			}
		}
		if n == want {
			return recs
		}
		if n > want {
			t.Fatalf("ledger holds %d entries, more than the %d events", n, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger holds %d of %d entries after %s", n, want, timeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// readLedger returns every record of the ledger (empty if it does not exist yet).
func (env *kafkaEnv) readLedger(t testing.TB) []*Record {
	t.Helper()
	var out []*Record
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(env.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	start, end, err := bounds(ctx, kadm.NewClient(cl), env.topics.Ledger())
	if err != nil {
		if errors.Is(err, errNoTopic) {
			return nil
		}
		t.Fatal(err)
	}
	if err := scan(ctx, env.opts, env.topics.Ledger(), start, end, func(r *kgo.Record) error {
		rec, err := DecodeRecord(r.Offset, r.Value)
		if err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---------------------------------------------------------------- synthetic events

// want is what the ledger must hold for one event.
type want struct {
	kind                                   Kind
	op, typ, model, operation              string
	uuids                                  []string
	actor, actorName, lifecycle, note, lsn string
	changed                                []string
}

type synObj struct {
	typ     mo.Type
	uuid    string
	created bool
	deleted bool
}

// synth makes realistic capture output: per source transaction some
// creates, updates and deletes (with tombstones) of objects of several
// types, snapshot and tick events, reads, and the actor records of actors
// new in that transaction — all in one Kafka transaction, as capture
// publishes them.
type synth struct {
	topics  event.Topics
	rng     *rand.Rand
	lsn     uint64
	reg     int64
	objects []*synObj
	actors  []event.Actor
	newID   int

	// Expectations, for committed transactions only.
	want    map[string]want     // event id → entry
	order   map[string][]string // object uuid → its write event ids in source order
	noEntry map[string]string   // event id → why it must not be in the ledger
}

func newSynth(topics event.Topics, seed uint64, objects int) *synth {
	s := &synth{topics: topics, rng: rand.New(rand.NewPCG(seed, 1)), lsn: 0x1000000,
		want: map[string]want{}, order: map[string][]string{}, noEntry: map[string]string{}}
	types := []mo.Type{mo.Person, mo.OrgUnit, mo.Engagement, mo.Address, mo.ITUser, mo.Manager, mo.Class}
	for i := range objects {
		s.objects = append(s.objects, &synObj{typ: types[i%len(types)], uuid: s.uuid()})
	}
	// Actors that capture's initial snapshot published before everything.
	for _, n := range []string{"SD-Løn import", "OS2sync", "Anne Jensen"} {
		s.actors = append(s.actors, event.Actor{Version: 1, UUID: s.uuid(), Name: n})
	}
	return s
}

func (s *synth) uuid() string {
	s.newID++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s.rng.Uint32(), s.newID&0xffff, s.rng.IntN(0x1000), s.rng.IntN(0x1000), s.rng.Uint64()&0xffffffffffff)
}

// initial returns the actor records and snapshot events capture publishes
// before any change (committed by the caller).
func (s *synth) initial(t testing.TB) []*kgo.Record {
	var out []*kgo.Record
	for _, a := range s.actors {
		out = append(out, &kgo.Record{Topic: s.topics.Actor(), Key: []byte(a.UUID), Value: mustMarshal(t, a)})
	}
	for _, o := range s.objects[:len(s.objects)/3] {
		s.reg++
		o.created = true
		id := event.SnapshotID("x", s.reg)
		s.noEntry[id] = "snapshot"
		out = append(out, s.object(t, o, event.Snapshot, id, nil, 0))
	}
	return out
}

func (s *synth) object(t testing.TB, o *synObj, op event.Op, id string, reg *event.Registration, xid uint32) *kgo.Record {
	env := &event.Envelope{Version: event.Version, ID: id, Op: op, Type: o.typ, UUID: o.uuid, Registration: reg,
		Source:  event.Source{LSN: fmt.Sprintf("%X/%X", s.lsn>>32, uint32(s.lsn)), Xid: xid, CommitTime: time.Unix(int64(s.lsn), 0).UTC()},
		Changed: []string{}, Object: &mo.Object{Type: o.typ, UUID: o.uuid}}
	if op == event.Delete {
		env.Object = nil
	}
	if op == event.Create || op == event.Update {
		env.Changed = []string{"user_key", "validity"}
		if o.typ == mo.Engagement && s.rng.IntN(2) == 0 {
			env.Changed = []string{"job_function"}
		}
	}
	if op == event.Tick {
		env.Day = "2024-04-01"
	}
	return &kgo.Record{Topic: s.topics.Object(o.typ), Key: []byte(o.uuid), Value: mustMarshal(t, env)}
}

// txn returns the records of one source transaction and a function to call
// with whether the Kafka transaction carrying them committed.
func (s *synth) txn(t testing.TB) ([]*kgo.Record, func(committed bool)) {
	s.lsn += uint64(1 + s.rng.IntN(5000))
	xid := uint32(s.lsn)
	at := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(s.lsn-0x1000000) * time.Millisecond)
	var recs, actorRecs []*kgo.Record
	wants := map[string]want{}
	var orderIDs [][2]string // uuid, event id
	var noEntry []string
	var apply []func()
	actor := s.actors[s.rng.IntN(len(s.actors))]
	var newActor *event.Actor
	if s.rng.IntN(10) == 0 {
		newActor = &event.Actor{Version: 1, UUID: s.uuid(), Name: fmt.Sprintf("Integration %d", s.newID)}
		actor = *newActor
		actorRecs = append(actorRecs, &kgo.Record{Topic: s.topics.Actor(), Key: []byte(actor.UUID), Value: mustMarshal(t, actor)})
	}
	touched := map[*synObj]bool{}
	for range 1 + s.rng.IntN(6) {
		o := s.objects[s.rng.IntN(len(s.objects))]
		if touched[o] {
			continue
		}
		touched[o] = true
		switch r := s.rng.IntN(20); {
		case r == 0 && o.created && !o.deleted:
			s.reg++
			id := fmt.Sprintf("tick/2024-04-01/%s/%d", o.uuid, s.reg)
			noEntry = append(noEntry, id)
			recs = append(recs, s.object(t, o, event.Tick, id, nil, 0))
		case r == 1 && o.created && !o.deleted:
			s.reg++
			id := event.SnapshotID("x", s.reg)
			noEntry = append(noEntry, id)
			recs = append(recs, s.object(t, o, event.Snapshot, id, nil, 0))
		case o.deleted:
			continue
		default:
			s.reg++
			op, lc := event.Update, "Rettet"
			switch {
			case !o.created:
				op, lc = event.Create, "Opstaaet"
			case r == 2:
				op, lc = event.Delete, "Slettet"
			}
			id := event.ObjectID("x", s.reg)
			note := ""
			if s.rng.IntN(3) == 0 {
				note = fmt.Sprintf("Ændring %d \"fra MO\"", s.reg)
			}
			reg := &event.Registration{ID: s.reg, Time: at, Lifecycle: lc, Actor: actor.UUID, Note: note}
			r := s.object(t, o, op, id, reg, xid)
			recs = append(recs, r)
			var env event.Envelope
			_ = json.Unmarshal(r.Value, &env)
			wants[id] = want{kind: KindWrite, op: string(op), typ: string(o.typ), uuids: []string{o.uuid}, actor: actor.UUID,
				actorName: actor.Name, lifecycle: lc, note: note, changed: env.Changed, lsn: env.Source.LSN}
			orderIDs = append(orderIDs, [2]string{o.uuid, id})
			switch op {
			case event.Create:
				apply = append(apply, func() { o.created = true })
			case event.Delete:
				recs = append(recs, &kgo.Record{Topic: s.topics.Object(o.typ), Key: []byte(o.uuid)}) // tombstone
				apply = append(apply, func() { o.deleted = true })
			}
		}
	}
	if s.rng.IntN(3) == 0 {
		opID := s.uuid()
		uuids := []string{}
		for range 1 + s.rng.IntN(3) {
			uuids = append(uuids, s.objects[s.rng.IntN(len(s.objects))].uuid)
		}
		a := event.Access{Version: 1, ID: "read/" + opID, Operation: opID, Time: at.Add(time.Millisecond), Actor: actor.UUID,
			Model: "OrganisationFunktion", Name: "engagements", UUIDs: uuids,
			Source: event.Source{LSN: fmt.Sprintf("%X/%X", s.lsn>>32, uint32(s.lsn)), Xid: xid}}
		recs = append(recs, &kgo.Record{Topic: s.topics.Access(), Key: []byte(actor.UUID), Value: mustMarshal(t, a)})
		wants[a.ID] = want{kind: KindRead, op: "read", model: a.Model, operation: a.Name, uuids: uuids, actor: actor.UUID,
			actorName: actor.Name, changed: []string{}, lsn: a.Source.LSN}
	}
	recs = append(recs, actorRecs...)
	return recs, func(committed bool) {
		if !committed {
			for id := range wants {
				s.noEntry[id] = "aborted"
			}
			for _, id := range noEntry {
				s.noEntry[id] = "aborted"
			}
			return
		}
		for id, w := range wants {
			s.want[id] = w
		}
		for _, p := range orderIDs {
			s.order[p[0]] = append(s.order[p[0]], p[1])
		}
		for _, id := range noEntry {
			s.noEntry[id] = "snapshot or tick"
		}
		for _, f := range apply {
			f()
		}
		if newActor != nil {
			s.actors = append(s.actors, *newActor)
		}
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// producer publishes synthetic transactions like capture does.
type producer struct {
	t     testing.TB
	env   *kafkaEnv
	txnID string
	cl    *kgo.Client
}

func newProducer(t testing.TB, env *kafkaEnv) *producer {
	p := &producer{t: t, env: env, txnID: env.prefix + "capture"}
	p.reconnect()
	t.Cleanup(func() { p.cl.Close() })
	return p
}

func (p *producer) reconnect() {
	if p.cl != nil {
		p.cl.Close()
	}
	cl, err := kgo.NewClient(append(p.env.opts, kgo.TransactionalID(p.txnID))...)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cl = cl
}

// How a transaction ends.
const (
	commitTxn  = iota
	abortTxn   // the producer aborts
	abandonTxn // the producer dies mid-transaction and a new one takes over (capture killed)
)

func (p *producer) publish(ctx context.Context, recs []*kgo.Record, end int) error {
	if err := p.cl.BeginTransaction(); err != nil {
		return err
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return err
	}
	switch end {
	case abandonTxn:
		p.reconnect() // the new producer id aborts the open transaction
		_, _, err := p.cl.ProducerID(ctx)
		return err
	case abortTxn:
		return p.cl.EndTransaction(ctx, kgo.TryAbort)
	}
	return p.cl.EndTransaction(ctx, kgo.TryCommit)
}

// checkLedger asserts what an auditor would: exactly one entry per committed
// registration and read, none for anything else, each object's writes in
// source order, actor names resolved, sequences 1..n, and that it verifies.
func (env *kafkaEnv) checkLedger(t testing.TB, s *synth, recs []*Record, pub ed25519.PublicKey) {
	t.Helper()
	seen := map[string]int{}
	perObject := map[string][]string{}
	var seq uint64
	for _, r := range recs {
		seq++
		if r.Sequence() != seq {
			t.Fatalf("record at offset %d has sequence %d, want %d", r.Offset, r.Sequence(), seq)
		}
		e := r.Entry
		if e == nil {
			continue
		}
		id := e.Source.Event
		seen[id]++
		if why, ok := s.noEntry[id]; ok {
			t.Errorf("entry %d for %s event %s", e.Sequence, why, id)
			continue
		}
		w, ok := s.want[id]
		if !ok {
			t.Errorf("entry %d for unknown event %s", e.Sequence, id)
			continue
		}
		got := want{kind: e.Kind, op: e.Op, typ: e.Type, model: e.Model, operation: e.Operation, uuids: e.UUIDs,
			actor: e.Actor, actorName: e.ActorName, lifecycle: e.Lifecycle, note: e.Note, changed: e.Changed, lsn: e.Source.LSN}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("entry %d for %s:\n got %+v\nwant %+v", e.Sequence, id, got, w)
		}
		if e.Kind == KindWrite {
			perObject[e.UUIDs[0]] = append(perObject[e.UUIDs[0]], id)
		}
	}
	for id := range s.want {
		if seen[id] != 1 {
			t.Errorf("event %s has %d entries, want 1", id, seen[id])
		}
	}
	for uuid, ids := range s.order {
		if !slices.Equal(perObject[uuid], ids) {
			t.Errorf("object %s: writes in ledger order %v, source order %v", uuid, perObject[uuid], ids)
		}
	}
	rep, err := Verify(context.Background(), env.opts, env.topics.Ledger(), pub, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Break != nil {
		t.Fatalf("ledger does not verify: %v", rep.Break)
	}
	// A builder still running (or just stopped) may have signed the head
	// since recs were read: more records are fine if they are checkpoints,
	// which the exact count of writes and reads shows.
	if rep.Records < int64(len(recs)) || rep.Writes+rep.Reads != int64(len(s.want)) {
		t.Fatalf("verify saw %d records (%d writes, %d reads), ledger has %d records for %d events", rep.Records, rep.Writes, rep.Reads, len(recs), len(s.want))
	}
}
