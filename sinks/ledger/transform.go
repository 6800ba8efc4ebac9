package ledger

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// ErrEventVersion means an event is newer than this builder understands.
// The builder stops rather than skip it: a ledger with a hole is worse than
// a ledger that is late. Upgrading mocdc resolves it.
type ErrEventVersion struct {
	Topic     string
	Partition int32
	Offset    int64
	Version   int
}

func (e *ErrEventVersion) Error() string {
	return fmt.Sprintf("event at %s/%d@%d has version %d, this mocdc reads up to %d: upgrade mocdc (the ledger builder stops rather than skip it)",
		e.Topic, e.Partition, e.Offset, e.Version, event.Version)
}

// item is what one consumed record becomes: an entry to append, a dead
// letter, or nothing (snapshot, tick, tombstone).
type item struct {
	entry *Entry
	dead  *event.DeadLetter
	// order key: source commit LSN, then writes before reads, then the
	// registration id, then the event id.
	lsn   uint64
	read  bool
	regID int64
}

// envelopeHead is the part of event.Envelope the ledger needs; the object
// itself is never decoded (the ledger records field names, not values).
type envelopeHead struct {
	Version      int                 `json:"version"`
	ID           string              `json:"id"`
	Op           event.Op            `json:"op"`
	Type         mo.Type             `json:"type"`
	UUID         string              `json:"uuid"`
	Registration *event.Registration `json:"registration"`
	Source       event.Source        `json:"source"`
	Changed      []string            `json:"changed"`
}

// transform turns one consumed record into an item. accessTopic names the
// read topic; every other topic holds object events. The returned error is
// only ever *ErrEventVersion; undecodable input becomes a dead letter.
func transform(r *kgo.Record, accessTopic string) (item, error) {
	if r.Value == nil {
		return item{}, nil // tombstone after a delete: the delete event is the entry
	}
	// undecodable: a newer event version stops the builder (its layout may
	// be what failed), anything else is a dead letter.
	undecodable := func(err error) (item, error) {
		var v struct {
			Version int `json:"version"`
		}
		if json.Unmarshal(r.Value, &v) == nil && v.Version > event.Version {
			return item{}, &ErrEventVersion{r.Topic, r.Partition, r.Offset, v.Version}
		}
		return deadItem(r, err.Error()), nil
	}
	src := func(s event.Source, id string) Source {
		return Source{LSN: clean(s.LSN), Xid: s.Xid, Event: clean(id), Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	if r.Topic == accessTopic {
		var a event.Access
		if err := json.Unmarshal(r.Value, &a); err != nil {
			return undecodable(fmt.Errorf("decode read event: %w", err))
		}
		if a.Version > event.Version {
			return item{}, &ErrEventVersion{r.Topic, r.Partition, r.Offset, a.Version}
		}
		if a.Version < 1 || a.ID == "" || a.Time.IsZero() {
			return deadItem(r, "read event without version, id or time"), nil
		}
		return item{
			entry: &Entry{
				Kind: KindRead, Op: "read", Time: FormatTime(a.Time),
				Actor: clean(a.Actor), Model: clean(a.Model), Operation: clean(a.Name),
				UUIDs: cleanAll(a.UUIDs), Changed: []string{}, Source: src(a.Source, a.ID),
			},
			lsn: parseLSN(a.Source.LSN), read: true,
		}, nil
	}
	var e envelopeHead
	if err := json.Unmarshal(r.Value, &e); err != nil {
		return undecodable(fmt.Errorf("decode event: %w", err))
	}
	if e.Version > event.Version {
		return item{}, &ErrEventVersion{r.Topic, r.Partition, r.Offset, e.Version}
	}
	if e.Version < 1 || e.ID == "" || e.UUID == "" || !e.Type.Valid() {
		return deadItem(r, fmt.Sprintf("event without version, id, uuid or known type (type %q)", e.Type)), nil
	}
	switch e.Op {
	case event.Snapshot, event.Tick:
		// State that existed before capture, or a validity boundary that
		// passed: nobody wrote anything.
		return item{}, nil
	case event.Create, event.Update, event.Delete:
	default:
		return deadItem(r, fmt.Sprintf("unknown op %q", e.Op)), nil
	}
	if e.Registration == nil || e.Registration.Time.IsZero() {
		return deadItem(r, fmt.Sprintf("%s event %s without registration", e.Op, e.ID)), nil
	}
	reg := e.Registration
	return item{
		entry: &Entry{
			Kind: KindWrite, Op: string(e.Op), Time: FormatTime(reg.Time),
			Actor: clean(reg.Actor), Type: string(e.Type), UUIDs: []string{clean(e.UUID)},
			Lifecycle: clean(reg.Lifecycle), Changed: cleanAll(nonNil(e.Changed)), Note: clean(reg.Note),
			Source: src(e.Source, e.ID),
		},
		lsn: parseLSN(e.Source.LSN), regID: reg.ID,
	}, nil
}

func deadItem(r *kgo.Record, reason string) item {
	payload := json.RawMessage(r.Value)
	if !json.Valid(r.Value) {
		payload, _ = json.Marshal(string(r.Value))
	}
	return item{dead: &event.DeadLetter{
		Version: event.Version, Stage: "ledger", Reason: reason, Payload: payload,
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
	}}
}

// parseLSN reads PostgreSQL's "X/Y" form; anything else orders first.
func parseLSN(s string) uint64 {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0
	}
	return h<<32 | l
}

func compareItems(a, b *item) int {
	if c := cmp.Compare(a.lsn, b.lsn); c != 0 {
		return c
	}
	if a.read != b.read {
		if a.read {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.regID, b.regID); c != 0 {
		return c
	}
	if c := strings.Compare(a.entry.Source.Event, b.entry.Source.Event); c != 0 {
		return c
	}
	if c := strings.Compare(a.entry.Source.Topic, b.entry.Source.Topic); c != 0 {
		return c
	}
	if c := cmp.Compare(a.entry.Source.Partition, b.entry.Source.Partition); c != 0 {
		return c
	}
	return cmp.Compare(a.entry.Source.Offset, b.entry.Source.Offset)
}

// order returns the entries of a batch in append order: a merge of the
// partitions (each already in offset order, which is each object's source
// order) that always takes the smallest head by compareItems. So every
// partition's order is kept even if its LSNs were not monotonic, and the
// result depends only on the batch's contents.
func order(items []item) []*Entry {
	type key struct {
		topic string
		part  int32
	}
	lists := map[key][]*item{}
	var keys []key
	n := 0
	for i := range items {
		it := &items[i]
		if it.entry == nil {
			continue
		}
		k := key{it.entry.Source.Topic, it.entry.Source.Partition}
		if _, ok := lists[k]; !ok {
			keys = append(keys, k)
		}
		lists[k] = append(lists[k], it)
		n++
	}
	h := &mergeHeap{}
	for _, k := range keys {
		heap.Push(h, lists[k])
	}
	out := make([]*Entry, 0, n)
	for h.Len() > 0 {
		l := (*h)[0]
		out = append(out, l[0].entry)
		if len(l) == 1 {
			heap.Pop(h)
		} else {
			(*h)[0] = l[1:]
			heap.Fix(h, 0)
		}
	}
	return out
}

// mergeHeap holds the remaining items of each partition, smallest head first.
type mergeHeap [][]*item

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return compareItems(h[i][0], h[j][0]) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.([]*item)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
