package ledger

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"
)

// testChain is a ledger of n entries with a checkpoint after every 5.
func testChain(t *testing.T, n int) [][]byte {
	t.Helper()
	c := newChain(genesis(), exampleKey(), 5, time.Hour)
	var out [][]byte
	at := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		e := &Entry{
			Kind: KindWrite, Op: "update", Time: FormatTime(at.Add(time.Duration(i) * time.Minute)),
			Actor: exampleUser, ActorName: "Anne Jensen", Type: "engagement",
			UUIDs: []string{exampleEngagement}, Lifecycle: "Rettet", Changed: []string{"job_function"},
			Note: fmt.Sprintf("change %d", i), Source: Source{LSN: "0/10", Event: fmt.Sprintf("reg/organisationfunktion/%d", i), Topic: "mo.engagement", Offset: int64(i)},
		}
		out = append(out, c.entry(e, at))
		if c.countDue() {
			_, v := c.checkpoint(at)
			out = append(out, v)
		}
	}
	return out
}

func check(t *testing.T, recs [][]byte, pub ed25519.PublicKey) (Summary, *Break) {
	t.Helper()
	c := NewChecker(pub)
	for i, v := range recs {
		if !c.Add(int64(i), v) && !c.Later(int64(i), v) {
			break
		}
	}
	c.End()
	return c.Result()
}

// rechain re-links recs[from:] to the records before them the way a forger
// with write access but without the private key would: every hash and
// link recomputed, checkpoints keep their old signatures.
func rechain(t *testing.T, recs [][]byte, from int) {
	t.Helper()
	prev, err := DecodeRecord(0, recs[from-1])
	if err != nil {
		t.Fatal(err)
	}
	seq, hash := prev.Sequence(), prev.Hash()
	for i := from; i < len(recs); i++ {
		r, err := DecodeRecord(int64(i), recs[i])
		if err != nil {
			t.Fatal(err)
		}
		seq++
		if r.Entry != nil {
			r.Entry.Sequence, r.Entry.PrevHash = seq, hash
			recs[i] = r.Entry.seal()
			hash = r.Entry.Hash
		} else {
			cp := r.Checkpoint
			cp.Sequence, cp.PrevHash, cp.SignedSequence, cp.SignedHash = seq, hash, seq-1, hash
			recs[i] = cp.seal()
			hash = cp.Hash
		}
	}
}

func editEntry(t *testing.T, v []byte, edit func(*Entry)) []byte {
	t.Helper()
	r, err := DecodeRecord(0, v)
	if err != nil || r.Entry == nil {
		t.Fatalf("not an entry: %v", err)
	}
	edit(r.Entry)
	return canonical(r.Entry.object(true)) // stored hash kept
}

// TestCheckerFindsEveryKindOfBreak: the first break is named with the right
// sequence and reason; a clean ledger verifies. Records: sequences 1..5
// entries, 6 checkpoint, 7..11 entries, 12 checkpoint, 13..14 entries.
func TestCheckerFindsEveryKindOfBreak(t *testing.T) {
	pub := exampleKey().Public().(ed25519.PublicKey)
	clean := testChain(t, 12)
	if len(clean) != 14 {
		t.Fatalf("%d records", len(clean))
	}
	sum, brk := check(t, clean, pub)
	if brk != nil {
		t.Fatalf("clean ledger: %v", brk)
	}
	if sum.Records != 14 || sum.Writes != 12 || sum.Checkpoints != 2 || sum.LastSigned != 11 || sum.Unsigned != 2 || sum.LastSequence != 14 {
		t.Fatalf("summary %+v", sum)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)

	for _, tc := range []struct {
		name   string
		tamper func([][]byte) [][]byte
		pub    ed25519.PublicKey
		seq    uint64
		reason Reason
	}{
		{"note changed", func(r [][]byte) [][]byte {
			r[7] = editEntry(t, r[7], func(e *Entry) { e.Note = "nothing to see" })
			return r
		}, pub, 8, Altered},
		{"note changed and its hash recomputed", func(r [][]byte) [][]byte {
			r[7] = editEntry(t, r[7], func(e *Entry) { e.Note = "nothing to see" })
			x, _ := DecodeRecord(0, r[7])
			r[7] = x.Entry.seal()
			return r
		}, pub, 9, Altered},
		{"note changed and the whole chain after it recomputed", func(r [][]byte) [][]byte {
			r[7] = editEntry(t, r[7], func(e *Entry) { e.Note = "nothing to see" })
			rechain(t, r, 7)
			return r
		}, pub, 12, BadSignature},
		{"entry removed", func(r [][]byte) [][]byte { return slices.Delete(r, 3, 4) }, pub, 4, Missing},
		{"entry removed and the rest renumbered", func(r [][]byte) [][]byte {
			r = slices.Delete(r, 3, 4)
			rechain(t, r, 3)
			return r
		}, pub, 5, BadSignature},
		{"two entries swapped", func(r [][]byte) [][]byte { r[3], r[4] = r[4], r[3]; return r }, pub, 4, Reordered},
		{"entry moved to the end", func(r [][]byte) [][]byte { x := r[2]; return append(slices.Delete(r, 2, 3), x) }, pub, 3, Reordered},
		{"entry duplicated", func(r [][]byte) [][]byte { return slices.Insert(r, 5, r[4]) }, pub, 5, Duplicate},
		{"older entry replayed", func(r [][]byte) [][]byte { return slices.Insert(r, 8, r[1]) }, pub, 2, Reordered},
		{"start of the ledger gone", func(r [][]byte) [][]byte { return r[3:] }, pub, 1, Missing},
		{"checkpoint removed", func(r [][]byte) [][]byte { return slices.Delete(r, 5, 6) }, pub, 6, Missing},
		{"checkpoint signature flipped", func(r [][]byte) [][]byte {
			x, _ := DecodeRecord(0, r[5])
			x.Checkpoint.Signature = "00" + x.Checkpoint.Signature[2:]
			r[5] = x.Checkpoint.seal()
			rechain(t, r, 6)
			return r
		}, pub, 6, BadSignature},
		{"verified with another key", func(r [][]byte) [][]byte { return r }, otherPub, 6, BadSignature},
		{"record replaced by garbage", func(r [][]byte) [][]byte { r[9] = []byte("not json"); return r }, pub, 10, Altered},
		{"record re-encoded with spaces", func(r [][]byte) [][]byte {
			r[9] = append([]byte(" "), r[9]...)
			return r
		}, pub, 10, Altered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := tc.tamper(slices.Clone(testChain(t, 12)))
			_, brk := check(t, recs, tc.pub)
			if brk == nil {
				t.Fatal("tampered ledger verified")
			}
			if brk.Sequence != tc.seq || brk.Reason != tc.reason {
				t.Fatalf("break at sequence %d reason %q (%s), want sequence %d reason %q", brk.Sequence, brk.Reason, brk.Detail, tc.seq, tc.reason)
			}
			t.Logf("%v", brk)
		})
	}
}

// TestCheckerAcceptsEmptyAndUnsignedTail: an empty ledger verifies; entries
// after the last checkpoint are counted as chained but unsigned.
func TestCheckerAcceptsEmptyAndUnsignedTail(t *testing.T) {
	pub := exampleKey().Public().(ed25519.PublicKey)
	if sum, brk := check(t, nil, pub); brk != nil || sum.Records != 0 {
		t.Fatalf("empty: %+v %v", sum, brk)
	}
	sum, brk := check(t, testChain(t, 4), pub)
	if brk != nil || sum.Records != 4 || sum.Checkpoints != 0 || sum.LastSigned != 0 || sum.Unsigned != 4 {
		t.Fatalf("unsigned tail: %+v %v", sum, brk)
	}
}
