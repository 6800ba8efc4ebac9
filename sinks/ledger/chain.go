package ledger

import (
	"crypto/ed25519"
	"encoding/hex"
	"time"
)

// chainHead is the end of the chain: what the next record links to.
type chainHead struct {
	// Sequence and Hash of the last record; 0 and GenesisHash when empty.
	Sequence uint64
	Hash     string
	// Unsigned counts the records after the last checkpoint (the head is
	// signed when 0).
	Unsigned int
	// UnsignedSince is when the oldest unsigned record was appended; the
	// zero time when unknown (after a restart), which makes a checkpoint
	// due at once.
	UnsignedSince time.Time
}

// genesis is the head of an empty ledger.
func genesis() chainHead { return chainHead{Hash: GenesisHash} }

// chain appends records to a copy of the head. It is not safe for
// concurrent use; the builder owns one per transaction.
type chain struct {
	head     chainHead
	key      ed25519.PrivateKey
	keyID    string
	every    int
	interval time.Duration
}

func newChain(h chainHead, key ed25519.PrivateKey, every int, interval time.Duration) *chain {
	return &chain{head: h, key: key, keyID: KeyID(key.Public().(ed25519.PublicKey)), every: every, interval: interval}
}

// entry links e to the head, seals it and returns its value. It fills
// Version, Sequence, PrevHash and Hash.
func (c *chain) entry(e *Entry, now time.Time) []byte {
	e.Version = FormatVersion
	e.Sequence = c.head.Sequence + 1
	e.PrevHash = c.head.Hash
	v := e.seal()
	if c.head.Unsigned == 0 {
		c.head.UnsignedSince = now
	}
	c.head.Sequence, c.head.Hash = e.Sequence, e.Hash
	c.head.Unsigned++
	return v
}

// countDue reports whether checkpoint_every unsigned records have piled up.
func (c *chain) countDue() bool { return c.head.Unsigned >= c.every }

// timeDue reports whether an unsigned record has waited checkpoint_interval.
func (c *chain) timeDue(now time.Time) bool {
	return c.head.Unsigned > 0 && !now.Before(c.head.UnsignedSince.Add(c.interval))
}

// due returns when the next checkpoint is due by time, and false if no
// record is waiting for one.
func (c *chain) due() (time.Time, bool) {
	if c.head.Unsigned == 0 {
		return time.Time{}, false
	}
	return c.head.UnsignedSince.Add(c.interval), true
}

// checkpoint signs the head and appends the checkpoint record.
func (c *chain) checkpoint(now time.Time) (*Checkpoint, []byte) {
	cp := &Checkpoint{
		Version:        FormatVersion,
		Sequence:       c.head.Sequence + 1,
		Kind:           KindCheckpoint,
		Time:           FormatTime(now),
		SignedSequence: c.head.Sequence,
		SignedHash:     c.head.Hash,
		Key:            c.keyID,
		PrevHash:       c.head.Hash,
	}
	cp.Signature = hex.EncodeToString(ed25519.Sign(c.key, CheckpointMessage(cp.SignedSequence, cp.SignedHash)))
	v := cp.seal()
	c.head = chainHead{Sequence: cp.Sequence, Hash: cp.Hash}
	return cp, v
}
