package ledger

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
)

// Reason says how the ledger breaks.
type Reason string

// The reasons verification reports.
const (
	// Altered: a record's content does not match its hash, its prev_hash
	// does not match the record before it, or it is not a canonical record.
	Altered Reason = "altered"
	// Missing: a sequence number is absent from the rest of the topic.
	Missing Reason = "missing"
	// Reordered: a sequence number appears later than it should.
	Reordered Reason = "reordered"
	// Duplicate: a record appears twice.
	Duplicate Reason = "duplicate"
	// BadSignature: a checkpoint's signature does not verify with the
	// public key (a forged or re-computed chain, or another key).
	BadSignature Reason = "bad signature"
)

// Break is the first place where the ledger fails verification.
type Break struct {
	// Sequence is the sequence number concerned: the altered record, the
	// first missing one, the one found out of place.
	Sequence uint64
	// Offset is the Kafka offset where the break was found.
	Offset int64
	Reason Reason
	Detail string
}

func (b *Break) Error() string {
	return fmt.Sprintf("sequence %d (offset %d): %s: %s", b.Sequence, b.Offset, b.Reason, b.Detail)
}

// Summary counts what verification has seen.
type Summary struct {
	// Records is every record checked; Writes+Reads+Checkpoints = Records.
	Records, Writes, Reads, Checkpoints int64
	FirstSequence, LastSequence         uint64
	// LastSigned is the highest sequence a verified checkpoint signs: that
	// record and all before it are covered by the signature.
	LastSigned uint64
	// Unsigned counts the records after the last checkpoint: hash-chained
	// but not yet signed.
	Unsigned int64
	// FirstTime and LastTime are the times of the first and last entry.
	FirstTime, LastTime string
}

// Checker verifies a ledger record by record, in topic order. It needs no
// Kafka: Verify feeds it. Not safe for concurrent use.
type Checker struct {
	pub        ed25519.PublicKey
	next       uint64
	prev       string
	prevOffset int64
	sum        Summary
	brk        *Break
	// gap is set while a Missing break may still turn out to be Reordered.
	gap bool
}

// NewChecker returns a Checker of a ledger from its first record, checking
// checkpoint signatures with pub.
func NewChecker(pub ed25519.PublicKey) *Checker {
	return &Checker{pub: pub, next: 1, prev: GenesisHash, prevOffset: -1}
}

// Add checks the record at offset. It returns false once the ledger has
// broken (at this record or before); later records are then ignored except
// by Later.
func (c *Checker) Add(offset int64, value []byte) bool {
	if c.brk != nil {
		return false
	}
	fail := func(seq uint64, r Reason, format string, args ...any) bool {
		c.brk = &Break{Sequence: seq, Offset: offset, Reason: r, Detail: fmt.Sprintf(format, args...)}
		return false
	}
	rec, err := DecodeRecord(offset, value)
	if err != nil {
		return fail(c.next, Altered, "the record where sequence %d belongs is not a valid ledger record: %v", c.next, err)
	}
	seq := rec.Sequence()
	if got := rec.ComputedHash(); got != rec.Hash() {
		return fail(seq, Altered, "content does not match its hash (stored %s, computed %s)", rec.Hash(), got)
	}
	switch {
	case seq > c.next:
		c.gap = true
		if c.sum.Records == 0 {
			return fail(c.next, Missing, "the topic starts (offset %d) at sequence %d: sequences %d..%d are not there", offset, seq, c.next, seq-1)
		}
		return fail(c.next, Missing, "expected sequence %d after sequence %d (offset %d), found sequence %d", c.next, c.next-1, c.prevOffset, seq)
	case seq < c.next && seq == c.next-1 && rec.Hash() == c.prev:
		return fail(seq, Duplicate, "sequence %d appears again (first at offset %d)", seq, c.prevOffset)
	case seq < c.next:
		return fail(seq, Reordered, "sequence %d appears after sequence %d (offset %d)", seq, c.next-1, c.prevOffset)
	}
	if rec.PrevHash() != c.prev {
		if seq == 1 {
			return fail(seq, Altered, "the first record's prev_hash is %s, not the genesis hash (64 zeros)", rec.PrevHash())
		}
		return fail(seq, Altered, "prev_hash %s does not match the hash %s of sequence %d (offset %d): one of the two records was altered",
			rec.PrevHash(), c.prev, seq-1, c.prevOffset)
	}
	if cp := rec.Checkpoint; cp != nil {
		if cp.SignedSequence != seq-1 || cp.SignedHash != c.prev {
			return fail(seq, Altered, "checkpoint signs sequence %d hash %s, not the record before it (sequence %d hash %s)",
				cp.SignedSequence, cp.SignedHash, seq-1, c.prev)
		}
		if why := verifyCheckpoint(cp, c.pub); why != "" {
			return fail(seq, BadSignature, "checkpoint of sequence %d: %s", cp.SignedSequence, why)
		}
		c.sum.Checkpoints++
		c.sum.LastSigned = cp.SignedSequence
		c.sum.Unsigned = 0
	} else {
		switch rec.Entry.Kind {
		case KindWrite:
			c.sum.Writes++
		case KindRead:
			c.sum.Reads++
		}
		if c.sum.FirstTime == "" {
			c.sum.FirstTime = rec.Entry.Time
		}
		c.sum.LastTime = rec.Entry.Time
		c.sum.Unsigned++
	}
	if c.sum.Records == 0 {
		c.sum.FirstSequence = seq
	}
	c.sum.Records++
	c.sum.LastSequence = seq
	c.next, c.prev, c.prevOffset = seq+1, rec.Hash(), offset
	return true
}

// NeedsLater reports whether the break is a gap that later records may
// show to be a reordering rather than a removal: feed them to Later.
func (c *Checker) NeedsLater() bool { return c.brk != nil && c.gap }

// Later looks at a record after a gap: if it holds the missing sequence
// the break becomes Reordered. It returns false once nothing more is
// needed.
func (c *Checker) Later(offset int64, value []byte) bool {
	if !c.NeedsLater() {
		return false
	}
	var r struct {
		Sequence uint64 `json:"sequence"`
	}
	if json.Unmarshal(value, &r) == nil && r.Sequence == c.brk.Sequence {
		c.brk.Reason = Reordered
		c.brk.Detail = fmt.Sprintf("sequence %d is at offset %d, after records it should precede (%s)", r.Sequence, offset, c.brk.Detail)
		c.gap = false
		return false
	}
	return true
}

// End says the topic has no more records: a gap still open is a removal.
func (c *Checker) End() {
	if c.NeedsLater() {
		c.brk.Detail += fmt.Sprintf("; sequence %d is nowhere later in the topic", c.brk.Sequence)
		c.gap = false
	}
}

// Result returns the counts so far and the first break, if any.
func (c *Checker) Result() (Summary, *Break) {
	return c.sum, c.brk
}
