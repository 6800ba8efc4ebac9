package fk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Kinds of FK objects, as OS2sync's routes name them.
const (
	kindUnit = "orgUnit"
	kindUser = "user"
)

// entry is what the sink last sent for one FK object: the MO owner (unit
// or person) it was rendered from and the digest of the payload. Rejected
// marks a payload OS2sync answered with a 4xx (dead-lettered): it is not
// sent again until it changes.
type entry struct {
	Owner    string `json:"owner"`
	Digest   string `json:"digest"`
	Rejected bool   `json:"rejected,omitempty"`
}

// stateKey is the state topic key of an FK object: "orgUnit/<uuid>" or
// "user/<uuid>".
func stateKey(kind, uuid string) string { return kind + "/" + uuid }

func splitKey(k string) (kind, uuid string) {
	kind, uuid, _ = strings.Cut(k, "/")
	return kind, uuid
}

// positionKey holds the view's position when the digests were committed
// (for `mocdc status` and operators; correctness does not need it, see the
// package doc).
const positionKey = "_position"

// store is the sink's durable memory: the state topic, one partition,
// compacted, written only in Kafka transactions by one transactional id.
// The entries a batch changed, its dead letters and the view position are
// committed in one transaction, after OS2sync accepted the writes.
type store struct {
	cl    *kgo.Client
	topic string
	dlq   string
	// entries are the committed ones plus those sent since (pending holds
	// what the next commit writes; nil is a tombstone).
	entries map[string]entry
	owners  map[string]map[string]bool // owner → keys of entries
	pending map[string]*entry
	dead    []*kgo.Record
}

// openStore makes the transactional producer (fencing any earlier
// process with the same id and settling its open transaction), makes sure
// the state and dead-letter topics exist, and reads the committed state.
func openStore(ctx context.Context, opts []kgo.Opt, topic, dlq, txnID string, replicas int16) (*store, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(60*time.Second),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("fk state: kafka client: %w", err)
	}
	s := &store{cl: cl, topic: topic, dlq: dlq, entries: map[string]entry{}, owners: map[string]map[string]bool{}, pending: map[string]*entry{}}
	adm := kadm.NewClient(cl)
	if err := ensureTopic(ctx, adm, topic, replicas, map[string]*string{"cleanup.policy": ptrTo("compact")}); err != nil {
		cl.Close()
		return nil, err
	}
	if err := ensureTopic(ctx, adm, dlq, replicas, nil); err != nil {
		cl.Close()
		return nil, err
	}
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("fk state: init transactional producer %q: %w", txnID, err)
	}
	if err := s.load(ctx, opts, adm); err != nil {
		cl.Close()
		return nil, err
	}
	return s, nil
}

func ptrTo(s string) *string { return &s }

func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, replicas int16, cfg map[string]*string) error {
	if replicas == 0 {
		replicas = -1 // the broker's default
	}
	resp, err := adm.CreateTopic(ctx, 1, replicas, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// load reads the state topic up to its end (read_committed).
func (s *store) load(ctx context.Context, opts []kgo.Opt, adm *kadm.Client) error {
	ends, err := adm.ListEndOffsets(ctx, s.topic)
	if err != nil {
		return fmt.Errorf("fk state: list offsets of %s: %w", s.topic, err)
	}
	end, ok := ends.Lookup(s.topic, 0)
	if !ok || end.Err != nil || end.Offset == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for next := int64(0); next < end.Offset; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fk state: read %s up to offset %d (at %d): %w", s.topic, end.Offset, next, err)
		}
		fs.EachError(func(_ string, _ int32, e error) { err = errors.Join(err, e) })
		if err != nil {
			return fmt.Errorf("fk state: read %s: %w", s.topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if r.Attrs.IsControl() || string(r.Key) == positionKey {
				return
			}
			k := string(r.Key)
			if r.Value == nil {
				s.forget(k)
				return
			}
			var e entry
			if json.Unmarshal(r.Value, &e) == nil {
				s.remember(k, e)
			}
		})
	}
	return nil
}

func (s *store) remember(k string, e entry) {
	if old, ok := s.entries[k]; ok && old.Owner != e.Owner {
		delete(s.owners[old.Owner], k)
	}
	s.entries[k] = e
	if s.owners[e.Owner] == nil {
		s.owners[e.Owner] = map[string]bool{}
	}
	s.owners[e.Owner][k] = true
}

func (s *store) forget(k string) {
	if old, ok := s.entries[k]; ok {
		delete(s.owners[old.Owner], k)
		if len(s.owners[old.Owner]) == 0 {
			delete(s.owners, old.Owner)
		}
	}
	delete(s.entries, k)
}

// sent records an accepted write (or a rejection) for the next commit.
func (s *store) sent(k string, e entry) {
	s.remember(k, e)
	c := e
	s.pending[k] = &c
}

// deleted records an accepted delete for the next commit.
func (s *store) deleted(k string) {
	s.forget(k)
	s.pending[k] = nil
}

// deadLetter queues a dead-letter record for the next commit.
func (s *store) deadLetter(key string, v []byte) {
	s.dead = append(s.dead, &kgo.Record{Topic: s.dlq, Partition: 0, Key: []byte(key), Value: v})
}

// commit writes the pending entries, dead letters and position in one
// transaction. On error nothing of it is kept and pending stays for the
// next try; a fenced producer (another fk sink took over) is permanent.
func (s *store) commit(ctx context.Context, position map[string]map[int32]int64, force bool) error {
	if len(s.pending) == 0 && len(s.dead) == 0 && !force {
		return nil
	}
	recs := make([]*kgo.Record, 0, len(s.pending)+len(s.dead)+1)
	for _, k := range sortedKeys(s.pending) {
		r := &kgo.Record{Topic: s.topic, Partition: 0, Key: []byte(k)}
		if e := s.pending[k]; e != nil {
			r.Value = mustJSON(e)
		}
		recs = append(recs, r)
	}
	recs = append(recs, s.dead...)
	recs = append(recs, &kgo.Record{Topic: s.topic, Partition: 0, Key: []byte(positionKey), Value: mustJSON(position)})
	// A failed commit can leave its transaction open (its end ran out of
	// time while the broker was down): abort it first, or every
	// BeginTransaction from now on is refused. A no-op when none is open.
	if err := s.endTxn(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("fk state: abort the transaction a failed commit left open: %w", err)
	}
	if err := s.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("fk state: begin transaction: %w", err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	err := s.cl.ProduceSync(pctx, recs...).FirstErr()
	cancel()
	how := kgo.TryCommit
	if err != nil {
		how = kgo.TryAbort
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if aerr := s.cl.AbortBufferedRecords(actx); aerr != nil {
			err = errors.Join(err, aerr)
		}
		acancel()
	}
	// Ended with a context of its own: the produce's may have run out.
	if eerr := s.endTxn(ctx, how); eerr != nil {
		err = errors.Join(err, eerr)
	}
	if err != nil {
		if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
			return permanentError{fmt.Errorf("another fk sink with the same transactional id took over: %w", err)}
		}
		return fmt.Errorf("fk state: commit: %w", err)
	}
	s.pending = map[string]*entry{}
	s.dead = nil
	return nil
}

// endTxn ends the open transaction, if any, under a fresh 30 s bound.
func (s *store) endTxn(ctx context.Context, how kgo.TransactionEndTry) error {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return s.cl.EndTransaction(ectx, how)
}

func (s *store) close() { s.cl.Close() }

// CommittedPosition reads the view position the fk sink last committed to its state
// topic: per object topic and partition, the next offset it had read and
// reconciled. ok is false when the sink never committed one. For `mocdc
// status`; it reads the whole (compacted) state topic.
func CommittedPosition(ctx context.Context, opts []kgo.Opt, stateTopic string) (pos map[string]map[int32]int64, ok bool, err error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, false, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, stateTopic)
	if err != nil {
		return nil, false, fmt.Errorf("list offsets of %s: %w", stateTopic, err)
	}
	end, found := ends.Lookup(stateTopic, 0)
	if !found || end.Err != nil || end.Offset == 0 {
		return nil, false, nil
	}
	rd, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{stateTopic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, false, err
	}
	defer rd.Close()
	for next := int64(0); next < end.Offset; {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("read %s: %w", stateTopic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if !r.Attrs.IsControl() && string(r.Key) == positionKey && r.Value != nil {
				var p map[string]map[int32]int64
				if json.Unmarshal(r.Value, &p) == nil {
					pos, ok = p, true
				}
			}
		})
	}
	return pos, ok, nil
}

// permanentError ends the sink: retrying cannot fix it.
type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }
