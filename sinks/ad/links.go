package ad

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Link states on the accounts topic.
const (
	// Created: the create outbox made the account (or found it made by an
	// earlier attempt); GUID is known. Written with the outbox's done
	// record, in one transaction.
	Created = "created"
	// Failed: the create intent failed for good (Reason); a later
	// reconcile may request the create again.
	Failed = "failed"
	// Found: an existing account was linked by CPR.
	Found = "found"
	// Deleted: the sink deleted the account it had created (ad.delete).
	Deleted = "deleted"
)

// Link is one record of the accounts topic (<prefix>.ad.accounts, key: the
// person uuid, compacted): which AD account the sink created or found for
// a person. It is the sink's durable memory (the next event finds the
// account by its GUID) and what a later MO write-back reads (docs/ad.md).
type Link struct {
	Version int    `json:"version"`
	Person  string `json:"person"`
	// ITUser is the AD IT user the account belongs to, when there is one.
	ITUser string `json:"ituser,omitempty"`
	State  string `json:"state"`
	GUID   string `json:"object_guid,omitempty"`
	DN     string `json:"dn"`
	SAM    string `json:"sam_account_name,omitempty"`
	// Cause is the outbox effect key of a create ("create/<person>/<n>"),
	// or what found the account.
	Cause string `json:"cause,omitempty"`
	// Reason is why a create failed.
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

// links reads the accounts topic into memory and writes to it.
type links struct {
	topic string
	cl    *kgo.Client // reads every partition from the start (no group)
	prod  *kgo.Client
	adm   *kadm.Client

	// onLink is called (from run's goroutine) with each link read.
	onLink func(*Link)

	mu   sync.Mutex
	m    map[string]*Link
	next map[int32]int64
	bad  int
}

func newLinks(opts []kgo.Opt, topic string, onLink func(*Link)) (*links, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, err
	}
	prod, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &links{topic: topic, cl: cl, prod: prod, adm: kadm.NewClient(prod), onLink: onLink, m: map[string]*Link{}, next: map[int32]int64{}}, nil
}

func (l *links) close() { l.cl.Close(); l.prod.Close() }

// run applies the topic's records until ctx ends.
func (l *links) run(ctx context.Context) {
	for {
		fs := l.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		var read []*Link
		fs.EachRecord(func(r *kgo.Record) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.next[r.Partition] = r.Offset + 1
			if r.Attrs.IsControl() {
				return
			}
			if r.Value == nil {
				delete(l.m, string(r.Key))
				return
			}
			var k Link
			if err := json.Unmarshal(r.Value, &k); err != nil || k.Person == "" {
				l.bad++
				return
			}
			l.m[k.Person] = &k
			read = append(read, &k)
		})
		if l.onLink != nil {
			for _, k := range read {
				l.onLink(k)
			}
		}
	}
}

// sync waits until everything committed on the topic so far is read: at
// start, so that the first reconciles know every account made before.
func (l *links) sync(ctx context.Context) error {
	ends, err := l.adm.ListCommittedOffsets(ctx, l.topic) // the last stable offsets: an open transaction is not waited for
	if err != nil {
		return fmt.Errorf("list offsets of %s: %w", l.topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list offsets of %s: %w", l.topic, err)
	}
	for {
		done := true
		l.mu.Lock()
		ends.Each(func(o kadm.ListedOffset) {
			if l.next[o.Partition] < o.Offset {
				done = false
			}
		})
		l.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// get returns the link of a person, or nil.
func (l *links) get(person string) *Link {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[person]
}

// all returns every link.
func (l *links) all() []*Link {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Link, 0, len(l.m))
	for _, k := range l.m {
		out = append(out, k)
	}
	return out
}

// put writes a link and waits until Kafka has it (acks from all in-sync
// replicas); it is then in memory too.
func (l *links) put(ctx context.Context, k *Link) error {
	k.Version = 1
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := l.prod.ProduceSync(ctx, &kgo.Record{Key: []byte(k.Person), Value: b}).FirstErr(); err != nil {
		return fmt.Errorf("write %s link of %s to %s: %w", k.State, k.Person, l.topic, err)
	}
	l.mu.Lock()
	cp := *k
	l.m[k.Person] = &cp
	l.mu.Unlock()
	return nil
}
