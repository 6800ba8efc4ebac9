package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// FormatVersion is the version of the record format this code writes and
// reads (docs/ledger.md). A reader rejects records of a newer version.
const FormatVersion = 1

// GenesisHash is the prev_hash of the first record: 64 zeros.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Kind says what a ledger record is.
type Kind string

// The record kinds.
const (
	// KindWrite is one registration of an MO object (create, update, delete).
	KindWrite Kind = "write"
	// KindRead is one read operation of the access log.
	KindRead Kind = "read"
	// KindCheckpoint is a signature over the chain head.
	KindCheckpoint Kind = "checkpoint"
)

// Source locates what an entry was made from: the MO store transaction and
// the Kafka record the builder consumed.
type Source struct {
	// LSN is the commit LSN of the source transaction, e.g. "0/23FD7D0".
	LSN string `json:"lsn"`
	// Xid is the source transaction id.
	Xid uint32 `json:"xid"`
	// Event is the event id (the idempotency key capture gave the event),
	// e.g. "reg/organisationfunktion/4711" or "read/<operation uuid>".
	Event     string `json:"event"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Entry is a write or read record of the ledger. Every field is always
// present in the encoding; fields that do not apply to a kind are "" or [].
type Entry struct {
	Version  int    `json:"version"`
	Sequence uint64 `json:"sequence"`
	Kind     Kind   `json:"kind"`
	// Op is create, update or delete for writes and read for reads.
	Op string `json:"op"`
	// Time is the registration time (writes) or the read time (reads) in
	// TimeLayout.
	Time string `json:"time"`
	// Actor is the uuid of the user or integration; ActorName its name from
	// the actor table as known when the entry was appended ("" if unknown).
	Actor     string `json:"actor"`
	ActorName string `json:"actor_name"`
	// Type is the MO type written (writes).
	Type string `json:"type"`
	// Model is the LoRa model read, as the access log names it (reads).
	Model string `json:"model"`
	// Operation is the GraphQL operation or endpoint of a read.
	Operation string `json:"operation"`
	// UUIDs are the object written (one) or the objects read (any number).
	UUIDs []string `json:"uuids"`
	// Lifecycle is LoRa's livscykluskode of the registration (writes).
	Lifecycle string `json:"lifecycle"`
	// Changed names the MO fields the registration changed; never values.
	Changed  []string `json:"changed"`
	Note     string   `json:"note"`
	Source   Source   `json:"source"`
	PrevHash string   `json:"prev_hash"`
	Hash     string   `json:"hash"`
}

// object lists the members in key order (appendObject then need not sort).
func (e *Entry) object(withHash bool) object {
	o := make(object, 0, 17)
	o = append(o, member{"actor", e.Actor}, member{"actor_name", e.ActorName}, member{"changed", nonNil(e.Changed)})
	if withHash {
		o = append(o, member{"hash", e.Hash})
	}
	return append(o,
		member{"kind", string(e.Kind)},
		member{"lifecycle", e.Lifecycle},
		member{"model", e.Model},
		member{"note", e.Note},
		member{"op", e.Op},
		member{"operation", e.Operation},
		member{"prev_hash", e.PrevHash},
		member{"sequence", e.Sequence},
		member{"source", object{
			{"event", e.Source.Event},
			{"lsn", e.Source.LSN},
			{"offset", e.Source.Offset},
			{"partition", int64(e.Source.Partition)},
			{"topic", e.Source.Topic},
			{"xid", uint64(e.Source.Xid)},
		}},
		member{"time", e.Time},
		member{"type", e.Type},
		member{"uuids", nonNil(e.UUIDs)},
		member{"version", int64(e.Version)},
	)
}

// At returns Time parsed.
func (e *Entry) At() time.Time {
	t, _ := time.Parse(TimeLayout, e.Time)
	return t
}

// Checkpoint is a signed record of the chain head: the Ed25519 signature,
// by the builder's key, of CheckpointMessage(SignedSequence, SignedHash),
// where SignedSequence/SignedHash are the sequence and hash of the record
// just before the checkpoint. The checkpoint is itself part of the chain.
type Checkpoint struct {
	Version  int    `json:"version"`
	Sequence uint64 `json:"sequence"`
	Kind     Kind   `json:"kind"`
	// Time is when the checkpoint was written, in TimeLayout.
	Time           string `json:"time"`
	SignedSequence uint64 `json:"signed_sequence"`
	SignedHash     string `json:"signed_hash"`
	// Key is the key id: hex SHA-256 of the 32-byte Ed25519 public key.
	Key string `json:"key"`
	// Signature is the 64-byte Ed25519 signature in lower-case hex.
	Signature string `json:"signature"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

// object lists the members in key order.
func (c *Checkpoint) object(withHash bool) object {
	o := make(object, 0, 10)
	if withHash {
		o = append(o, member{"hash", c.Hash})
	}
	return append(o,
		member{"key", c.Key},
		member{"kind", string(c.Kind)},
		member{"prev_hash", c.PrevHash},
		member{"sequence", c.Sequence},
		member{"signature", c.Signature},
		member{"signed_hash", c.SignedHash},
		member{"signed_sequence", c.SignedSequence},
		member{"time", c.Time},
		member{"version", int64(c.Version)},
	)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// hashOf is the record hash: hex SHA-256 of the canonical encoding of the
// record without its "hash" member.
func hashOf(o object) string {
	sum := sha256.Sum256(canonical(o))
	return hex.EncodeToString(sum[:])
}

// seal sets e.Hash and returns the record value: the canonical encoding of
// the whole entry.
func (e *Entry) seal() []byte {
	e.Hash = hashOf(e.object(false))
	return canonical(e.object(true))
}

// seal sets c.Hash and returns the record value.
func (c *Checkpoint) seal() []byte {
	c.Hash = hashOf(c.object(false))
	return canonical(c.object(true))
}

// Record is one decoded record of the ledger topic: exactly one of Entry
// and Checkpoint is set.
type Record struct {
	// Offset is the Kafka offset in the ledger topic.
	Offset int64
	// Value is the record as stored (its canonical encoding).
	Value      []byte
	Entry      *Entry
	Checkpoint *Checkpoint
}

// Sequence, Kind, PrevHash and Hash return the fields common to both kinds.
func (r *Record) Sequence() uint64 {
	if r.Checkpoint != nil {
		return r.Checkpoint.Sequence
	}
	return r.Entry.Sequence
}

// Kind returns the record kind.
func (r *Record) Kind() Kind {
	if r.Checkpoint != nil {
		return KindCheckpoint
	}
	return r.Entry.Kind
}

// PrevHash returns the hash of the record before it, as this record states.
func (r *Record) PrevHash() string {
	if r.Checkpoint != nil {
		return r.Checkpoint.PrevHash
	}
	return r.Entry.PrevHash
}

// Hash returns the hash as this record states it.
func (r *Record) Hash() string {
	if r.Checkpoint != nil {
		return r.Checkpoint.Hash
	}
	return r.Entry.Hash
}

// ComputedHash recomputes the hash from the record's content: SHA-256 of
// the stored bytes without the "hash" member. DecodeRecord has checked the
// stored bytes are the canonical encoding, so those bytes are exactly the
// canonical encoding of the record without its hash. ("hash" is never the
// last member, and the bytes "hash":" occur only as that key: a quote
// inside a string is escaped.)
func (r *Record) ComputedHash() string {
	m := []byte(`"hash":"` + r.Hash() + `",`)
	i := bytes.Index(r.Value, m)
	if i < 0 { // not from DecodeRecord: encode
		if r.Checkpoint != nil {
			return hashOf(r.Checkpoint.object(false))
		}
		return hashOf(r.Entry.object(false))
	}
	h := sha256.New()
	h.Write(r.Value[:i])
	h.Write(r.Value[i+len(m):])
	return hex.EncodeToString(h.Sum(nil))
}

// ErrNotCanonical means a record decodes but is not in the one canonical
// form the builder writes: someone re-encoded or edited it.
var ErrNotCanonical = errors.New("not in canonical form")

// wire is every field of every kind: a record is decoded once, then the
// fields of its kind are taken and re-encoded.
type wire struct {
	Entry
	SignedSequence uint64 `json:"signed_sequence"`
	SignedHash     string `json:"signed_hash"`
	Key            string `json:"key"`
	Signature      string `json:"signature"`
}

// DecodeRecord parses a ledger record value strictly: unknown or missing
// fields, a newer format version, and any byte form other than the
// canonical one are errors.
func DecodeRecord(offset int64, value []byte) (*Record, error) {
	var w wire
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, fmt.Errorf("not a ledger record: %w", err)
	}
	if w.Version != FormatVersion {
		return nil, fmt.Errorf("ledger record format version %d not supported (this mocdc reads %d): upgrade mocdc", w.Version, FormatVersion)
	}
	r := &Record{Offset: offset, Value: value}
	var enc []byte
	switch w.Kind {
	case KindWrite, KindRead:
		r.Entry = &w.Entry
		enc = canonical(r.Entry.object(true))
	case KindCheckpoint:
		r.Checkpoint = &Checkpoint{
			Version: w.Version, Sequence: w.Sequence, Kind: w.Kind, Time: w.Time,
			SignedSequence: w.SignedSequence, SignedHash: w.SignedHash, Key: w.Key, Signature: w.Signature,
			PrevHash: w.PrevHash, Hash: w.Hash,
		}
		enc = canonical(r.Checkpoint.object(true))
	default:
		return nil, fmt.Errorf("unknown record kind %q", w.Kind)
	}
	// Re-encoding the fields of the record's kind must give the stored bytes
	// back: that rules out unknown fields, fields of the other kind, missing
	// fields (they would come back as zero values), duplicate keys, other
	// escapes or spacing, and non-UTF-8 text.
	if !bytes.Equal(enc, value) {
		return nil, ErrNotCanonical
	}
	return r, nil
}

// Changes reports whether the entry's changed fields include field.
func (e *Entry) Changes(field string) bool { return slices.Contains(e.Changed, field) }
