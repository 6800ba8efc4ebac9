package assemble

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pglogrepl"
)

// Synthetic streams built from corpus messages: the data messages of the
// streamed transaction (R, Y, I, U with an xid after the type byte) are
// re-tagged with other xids, and the framing messages are encoded here.

func streamStart(xid uint32, first bool) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'S'}, xid)
	if first {
		return append(b, 1)
	}
	return append(b, 0)
}

func streamStop() []byte { return []byte{'E'} }

func streamCommit(xid uint32, lsn uint64) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'c'}, xid)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, lsn)
	b = binary.BigEndian.AppendUint64(b, lsn+0x30)
	return binary.BigEndian.AppendUint64(b, 817000000000000)
}

func streamAbort(xid, sub uint32) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'A'}, xid)
	return binary.BigEndian.AppendUint32(b, sub)
}

// logicalMessage encodes an M message; inStream adds the xid.
func logicalMessage(xid uint32, inStream, transactional bool, prefix, content string) []byte {
	b := []byte{'M'}
	if inStream {
		b = binary.BigEndian.AppendUint32(b, xid)
	}
	flag := byte(0)
	if transactional {
		flag = 1
	}
	b = append(b, flag)
	b = binary.BigEndian.AppendUint64(b, 0x2000000)
	b = append(append(b, prefix...), 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(content)))
	return append(b, content...)
}

// withXid returns a copy of a streamed data message carrying xid.
func withXid(msg []byte, xid uint32) []byte {
	c := bytes.Clone(msg)
	binary.BigEndian.PutUint32(c[1:], xid)
	return c
}

// fixture holds corpus messages to build streams from.
type fixture struct {
	streamed [][]byte   // data messages of the streamed transaction (xid 2390)
	plain    [][][]byte // v1 transactions, B … C each
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	var f fixture
	for _, m := range readCorpus(t, "pgoutput-v2-streaming.jsonl") {
		switch m.Data[0] {
		case 'R', 'Y', 'I', 'U':
			f.streamed = append(f.streamed, m.Data)
		}
	}
	var cur [][]byte
	for _, m := range readCorpus(t, "pgoutput-v1.jsonl") {
		cur = append(cur, m.Data)
		if m.Data[0] == 'C' {
			f.plain = append(f.plain, cur)
			cur = nil
		}
	}
	return f
}

// part is a run of streamed data messages: count messages from offset of the
// fixture, tagged with xid.
func (f fixture) part(xid uint32, offset, count int) [][]byte {
	out := make([][]byte, count)
	for i := range out {
		out[i] = withXid(f.streamed[offset+i], xid)
	}
	return out
}

func concat(parts ...[][]byte) [][]byte {
	var out [][]byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(b []byte) [][]byte { return [][]byte{b} }

// announcementsOf returns the R and Y messages among msgs.
func announcementsOf(msgs [][]byte) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		if m[0] == 'R' || m[0] == 'Y' {
			out = append(out, m)
		}
	}
	return out
}

// released is one expected transaction: its xid and exact messages.
type released struct {
	xid  uint32
	msgs [][]byte
}

func TestSyntheticStreams(t *testing.T) {
	f := loadFixture(t)
	a1, a2, a3 := f.part(100, 0, 20), f.part(100, 20, 15), f.part(100, 35, 10)
	sub := f.part(101, 45, 12) // a subtransaction of 100
	sub2 := f.part(102, 57, 5) // another subtransaction of 100, kept
	b1, b2 := f.part(200, 100, 30), f.part(200, 130, 8)
	plain := f.plain[10]
	plainData := plain[1 : len(plain)-1]

	cases := []struct {
		name   string
		stream [][]byte
		want   []released
		stats  func(Stats) bool
	}{{
		name: "abort of the whole transaction",
		stream: concat(one(streamStart(100, true)), a1, one(streamStop()),
			one(streamStart(100, false)), a2, one(streamStop()),
			one(streamAbort(100, 100)), plain),
		want:  []released{{xid: 2041, msgs: plainData}},
		stats: func(s Stats) bool { return s.AbortedTxnsTotal == 1 && s.OpenTxns == 0 },
	}, {
		name: "abort of one subtransaction",
		stream: concat(one(streamStart(100, true)), a1, sub, a2, one(streamStop()),
			one(streamAbort(100, 101)),
			one(streamStart(100, false)), sub2, a3, one(streamStop()),
			one(streamCommit(100, 0x3000000))),
		want:  []released{{xid: 100, msgs: concat(a1, a2, sub2, a3)}},
		stats: func(s Stats) bool { return s.AbortedSubtxnsTotal == 1 && s.AbortedTxnsTotal == 0 },
	}, {
		name: "relations announced in an aborted subtransaction stay",
		stream: concat(one(streamStart(100, true)), f.part(101, 0, 16), a2, one(streamStop()),
			one(streamAbort(100, 101)),
			one(streamStart(100, false)), a3, one(streamStop()),
			one(streamCommit(100, 0x3000000))),
		want: []released{{xid: 100, msgs: concat(announcementsOf(f.part(101, 0, 16)), a2, a3)}},
	}, {
		name: "two interleaved streamed transactions",
		stream: concat(one(streamStart(100, true)), a1, one(streamStop()),
			one(streamStart(200, true)), b1, one(streamStop()),
			one(streamStart(100, false)), a2, one(streamStop()),
			one(streamStart(200, false)), b2, one(streamStop()),
			one(streamCommit(200, 0x3000000)),
			one(streamStart(100, false)), a3, one(streamStop()),
			one(streamCommit(100, 0x3000100))),
		want: []released{{xid: 200, msgs: concat(b1, b2)}, {xid: 100, msgs: concat(a1, a2, a3)}},
	}, {
		name: "plain transaction between stream chunks",
		stream: concat(one(streamStart(100, true)), a1, one(streamStop()),
			plain,
			one(streamStart(100, false)), a2, one(streamStop()),
			one(streamCommit(100, 0x3000000))),
		want: []released{{xid: 2041, msgs: plainData}, {xid: 100, msgs: concat(a1, a2)}},
	}, {
		name:   "abort of a transaction that streamed nothing is harmless",
		stream: concat(one(streamAbort(300, 300)), one(streamAbort(300, 301)), plain),
		want:   []released{{xid: 2041, msgs: plainData}},
	}, {
		name: "transactional message is buffered, non-transactional released at once",
		stream: concat(one(streamStart(100, true)), a1,
			one(logicalMessage(100, true, true, "mocdc", "in txn")), one(streamStop()),
			one(logicalMessage(0, false, false, "mocdc-heartbeat", "1")),
			one([]byte{'O', 0, 0, 0, 0, 0, 0, 0, 1, 'x', 0}),
			one(streamCommit(100, 0x3000000))),
		want:  []released{{xid: 100, msgs: concat(a1, one(logicalMessage(100, true, true, "mocdc", "in txn")))}},
		stats: func(s Stats) bool { return s.MessagesTotal == 1 },
	}}
	for _, tc := range cases {
		for _, budget := range []int64{0, 2 << 10} {
			t.Run(fmt.Sprintf("%s/budget=%d", tc.name, budget), func(t *testing.T) {
				dir := t.TempDir()
				a, err := New(Config{MemoryBudget: budget, SpillDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				var got []released
				for i, m := range tc.stream {
					it, err := a.Add(pglogrepl.LSN(0x1000+i), m)
					if err != nil {
						t.Fatalf("message %d (%q): %v", i, m[0], err)
					}
					if it.Txn == nil {
						continue
					}
					r := released{xid: it.Txn.Xid}
					for msg, err := range it.Txn.Messages() {
						if err != nil {
							t.Fatal(err)
						}
						r.msgs = append(r.msgs, bytes.Clone(msg))
					}
					got = append(got, r)
					if err := it.Txn.Close(); err != nil {
						t.Fatal(err)
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("released %d transactions, want %d", len(got), len(tc.want))
				}
				for i := range got {
					if got[i].xid != tc.want[i].xid {
						t.Errorf("transaction %d: xid %d, want %d", i, got[i].xid, tc.want[i].xid)
					}
					if len(got[i].msgs) != len(tc.want[i].msgs) {
						t.Errorf("xid %d: %d messages, want %d", got[i].xid, len(got[i].msgs), len(tc.want[i].msgs))
						continue
					}
					for j := range got[i].msgs {
						if !bytes.Equal(got[i].msgs[j], tc.want[i].msgs[j]) {
							t.Errorf("xid %d message %d differs", got[i].xid, j)
						}
					}
				}
				if tc.stats != nil && !tc.stats(a.Stats()) {
					t.Errorf("stats: %+v", a.Stats())
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if st := a.Stats(); st.MemoryBytes != 0 || st.DiskBytes != 0 {
					t.Errorf("after close: %+v", st)
				}
				assertEmptyDir(t, dir)
			})
		}
	}
}

func TestNonTransactionalMessage(t *testing.T) {
	a, err := New(Config{SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	it, err := a.Add(0x42, logicalMessage(0, false, false, "mocdc-heartbeat", "tick"))
	if err != nil {
		t.Fatal(err)
	}
	m := it.Message
	if m == nil || m.Prefix != "mocdc-heartbeat" || string(m.Content) != "tick" || m.WALStart != 0x42 || m.LSN != 0x2000000 {
		t.Errorf("got %+v", m)
	}
}

// TestProtocolErrors feeds streams that break pgoutput's rules.
func TestProtocolErrors(t *testing.T) {
	f := loadFixture(t)
	plain := f.plain[3]
	cases := []struct {
		name   string
		stream [][]byte
	}{
		{"commit without begin", one(plain[len(plain)-1])},
		{"begin inside begin", concat(one(plain[0]), one(plain[0]))},
		{"data outside a transaction", one(plain[1])},
		{"chunk of an unknown stream", one(streamStart(7, false))},
		{"first segment twice", concat(one(streamStart(7, true)), one(streamStop()), one(streamStart(7, true)))},
		{"stream stop outside a stream", one(streamStop())},
		{"stream commit of an unknown xid", one(streamCommit(7, 1))},
		{"stream start inside begin", concat(one(plain[0]), one(streamStart(7, true)))},
		{"begin inside a stream", concat(one(streamStart(7, true)), one(plain[0]))},
		{"stream commit inside a stream", concat(one(streamStart(7, true)), one(streamCommit(7, 1)))},
		{"truncated begin", one(plain[0][:10])},
		{"truncated streamed message", concat(one(streamStart(7, true)), one([]byte{'I', 0}))},
		{"truncated logical message", one([]byte{'M', 0, 1})},
		{"transactional message outside a transaction", one(logicalMessage(0, false, true, "p", "x"))},
		{"two-phase message", one([]byte{'P', 0})},
		{"empty message", one(nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, err := New(Config{SpillDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for i, m := range tc.stream {
				if _, err := a.Add(pglogrepl.LSN(i), m); err != nil {
					last = err
					if i != len(tc.stream)-1 {
						t.Fatalf("message %d failed early: %v", i, err)
					}
				}
			}
			var pe *ProtocolError
			if !errors.As(last, &pe) {
				t.Fatalf("got %v, want a *ProtocolError", last)
			}
			if err := a.Reset(); err != nil {
				t.Fatal(err)
			}
			if st := a.Stats(); st.OpenTxns != 0 || st.MemoryBytes != 0 {
				t.Errorf("after reset: %+v", st)
			}
			// After Reset the Assembler takes a fresh stream.
			for _, m := range plain {
				if _, err := a.Add(1, m); err != nil {
					t.Fatalf("after reset: %v", err)
				}
			}
		})
	}
}

// TestLargeTransactionBounded streams one transaction of many megabytes
// through a small budget while other transactions stay open, and checks that
// memory stays within the budget and that every message comes back in order.
func TestLargeTransactionBounded(t *testing.T) {
	f := loadFixture(t)
	const budget = 256 << 10
	dir := t.TempDir()
	a, err := New(Config{MemoryBudget: budget, SpillDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	add := func(m []byte) Item {
		t.Helper()
		it, err := a.Add(1, m)
		if err != nil {
			t.Fatal(err)
		}
		if st := a.Stats(); st.OpenMemoryBytes > budget {
			t.Fatalf("%d bytes in memory, budget %d", st.OpenMemoryBytes, budget)
		}
		return it
	}
	// A small streamed transaction stays open alongside.
	add(streamStart(9, true))
	for _, m := range f.part(9, 0, 5) {
		add(m)
	}
	add(streamStop())
	const rounds = 40 // ~40 × 470 KB ≈ 19 MB
	var n int
	for r := 0; r < rounds; r++ {
		add(streamStart(100, r == 0))
		for i := range f.streamed {
			add(withXid(f.streamed[i], 100+uint32(r%3)))
			n++
		}
		add(streamStop())
	}
	add(streamAbort(100, 102))
	it := add(streamCommit(100, 0x5000000))
	if it.Txn == nil || !it.Txn.Spilled() {
		t.Fatalf("got %+v, want a spilled transaction", it)
	}
	// Expected: every round in order; of the aborted subtransaction 102
	// (rounds r%3 == 2) only its R and Y messages.
	var want [][]byte
	for r := 0; r < rounds; r++ {
		for _, m := range f.streamed {
			if r%3 != 2 || m[0] == 'R' || m[0] == 'Y' {
				want = append(want, withXid(m, 100+uint32(r%3)))
			}
		}
	}
	i := 0
	for msg, err := range it.Txn.Messages() {
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || !bytes.Equal(msg, want[i]) {
			t.Fatalf("message %d differs", i)
		}
		i++
	}
	if i != len(want) {
		t.Errorf("read %d messages, want %d", i, len(want))
	}
	if st := a.Stats(); st.DiskBytes < int64(n) {
		t.Errorf("stats %+v", st)
	}
	if err := it.Txn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.DiskBytes != 0 || st.MemoryBytes != 0 || st.OpenTxns != 0 {
		t.Errorf("after close: %+v", st)
	}
	assertEmptyDir(t, dir)
}
