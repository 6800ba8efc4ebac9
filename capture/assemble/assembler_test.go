package assemble

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// txnSummary is what the tests compare of a released transaction.
type txnSummary struct {
	Xid                uint32
	Begin, Commit, End string
	CommitTime         time.Time
	Streamed, Spilled  bool
	Counts             map[byte]int
	Digest             [32]byte // of all messages in order
	Messages           int
}

func summarize(t *testing.T, txn *Txn) txnSummary {
	t.Helper()
	s := txnSummary{Xid: txn.Xid, Begin: txn.BeginLSN.String(), Commit: txn.CommitLSN.String(),
		End: txn.EndLSN.String(), CommitTime: txn.CommitTime, Streamed: txn.Streamed,
		Spilled: txn.Spilled(), Counts: map[byte]int{}}
	h := sha256.New()
	for msg, err := range txn.Messages() {
		if err != nil {
			t.Fatalf("xid %d: %v", txn.Xid, err)
		}
		s.Counts[msg[0]]++
		s.Messages++
		fmt.Fprintf(h, "%d:", len(msg))
		h.Write(msg)
	}
	copy(s.Digest[:], h.Sum(nil))
	return s
}

// run feeds msgs to a new Assembler with cfg and returns the released
// transactions (closed after summarizing) and messages.
func run(t *testing.T, cfg Config, msgs []walMsg) ([]txnSummary, []*Message, *Assembler) {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var txns []txnSummary
	var ms []*Message
	for i, m := range msgs {
		it, err := a.Add(m.LSN, m.Data)
		if err != nil {
			t.Fatalf("message %d (%q at %s): %v", i, m.Data[0], m.LSN, err)
		}
		if st := a.Stats(); cfg.MemoryBudget > 0 && st.OpenMemoryBytes > cfg.MemoryBudget {
			t.Fatalf("message %d: %d bytes in memory, budget %d", i, st.OpenMemoryBytes, cfg.MemoryBudget)
		}
		if it.Message != nil {
			ms = append(ms, it.Message)
		}
		if it.Txn != nil {
			txns = append(txns, summarize(t, it.Txn))
			if err := it.Txn.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return txns, ms, a
}

func TestV1Corpus(t *testing.T) {
	msgs := readCorpus(t, "pgoutput-v1.jsonl")
	txns, _, a := run(t, Config{SpillDir: t.TempDir()}, msgs)
	if got := len(txns); got != 346 {
		t.Fatalf("got %d transactions, want 346", got)
	}
	xids := make([]uint32, len(txns))
	total := map[byte]int{}
	var out bytes.Buffer
	fmt.Fprintln(&out, "# xid begin commit end commit_time(UTC) R Y I U")
	for i, s := range txns {
		xids[i] = s.Xid
		for k, n := range s.Counts {
			total[k] += n
		}
		if s.Streamed || s.Spilled {
			t.Errorf("xid %d: streamed %v spilled %v, want neither", s.Xid, s.Streamed, s.Spilled)
		}
		fmt.Fprintf(&out, "%d %s %s %s %s %d %d %d %d\n", s.Xid, s.Begin, s.Commit, s.End,
			s.CommitTime.UTC().Format(time.RFC3339Nano), s.Counts['R'], s.Counts['Y'], s.Counts['I'], s.Counts['U'])
	}
	if want := opXids(t); !slices.Equal(xids, want) {
		t.Errorf("xids differ from ops.jsonl:\n got %v\nwant %v", xids, want)
	}
	want := map[byte]int{'R': 32, 'Y': 38, 'I': 2923, 'U': 866}
	for k, n := range want {
		if total[k] != n {
			t.Errorf("%c messages: got %d, want %d", k, total[k], n)
		}
	}
	if len(total) != len(want) {
		t.Errorf("message types %v, want only R Y I U", total)
	}
	st := a.Stats()
	if st.CommittedTxnsTotal != 346 || st.OpenTxns != 0 || st.MemoryBytes != 0 || st.SpilledTxnsTotal != 0 {
		t.Errorf("stats after all released: %+v", st)
	}
	golden(t, "v1-txns.golden", out.Bytes())
}

// TestV1CorpusSpilled runs the v1 corpus through a budget so small that
// every transaction spills, and checks that the same messages come back.
func TestV1CorpusSpilled(t *testing.T) {
	msgs := readCorpus(t, "pgoutput-v1.jsonl")
	mem, _, _ := run(t, Config{SpillDir: t.TempDir()}, msgs)
	dir := t.TempDir()
	disk, _, a := run(t, Config{MemoryBudget: 1, SpillDir: dir}, msgs)
	if len(mem) != len(disk) {
		t.Fatalf("%d transactions in memory, %d spilled", len(mem), len(disk))
	}
	for i := range mem {
		if !disk[i].Spilled {
			t.Errorf("xid %d did not spill with a 1-byte budget", disk[i].Xid)
		}
		disk[i].Spilled = false
		if fmt.Sprint(mem[i]) != fmt.Sprint(disk[i]) {
			t.Errorf("transaction %d differs:\n mem  %+v\n disk %+v", i, mem[i], disk[i])
		}
	}
	st := a.Stats()
	if st.SpilledTxnsTotal != 346 || st.DiskBytes != 0 || st.MemoryBytes != 0 {
		t.Errorf("stats: %+v", st)
	}
	assertEmptyDir(t, dir)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in spill dir: %s", e.Name())
	}
}

func TestV2Streaming(t *testing.T) {
	msgs := readCorpus(t, "pgoutput-v2-streaming.jsonl")
	for _, budget := range []int64{0, 4 << 10} {
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) {
			dir := t.TempDir()
			a, err := New(Config{MemoryBudget: budget, SpillDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var got *Txn
			for i, m := range msgs {
				it, err := a.Add(m.LSN, m.Data)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if it.Txn != nil {
					if m.Data[0] != 'c' || got != nil {
						t.Fatalf("transaction released by message %d (%q), want only at the one stream commit", i, m.Data[0])
					}
					got = it.Txn
				}
				if budget > 0 && a.Stats().OpenMemoryBytes > budget {
					t.Fatalf("message %d: %d bytes in memory, budget %d", i, a.Stats().OpenMemoryBytes, budget)
				}
			}
			if got == nil {
				t.Fatal("no transaction released")
			}
			s := summarize(t, got)
			if s.Xid != 2390 || !s.Streamed || s.Counts['I'] != 2100 || s.Counts['U'] != 600 ||
				s.Counts['R'] != 6 || s.Counts['Y'] != 7 || s.Messages != 2713 {
				t.Errorf("got %+v", s)
			}
			if s.Commit != "0/2CD32E0" || s.End != "0/2CD3310" || s.Begin != "0/28DCC68" {
				t.Errorf("positions: begin %s commit %s end %s", s.Begin, s.Commit, s.End)
			}
			if s.Spilled != (budget > 0) {
				t.Errorf("spilled = %v with budget %d", s.Spilled, budget)
			}
			st := a.Stats()
			if budget > 0 && (st.SpilledTxnsTotal != 1 || st.DiskBytes == 0) {
				t.Errorf("stats before release: %+v", st)
			}
			if err := got.Close(); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if st := a.Stats(); st.MemoryBytes != 0 || st.DiskBytes != 0 || st.OpenTxns != 0 {
				t.Errorf("stats after close: %+v", st)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{MemoryBudget: -1}).Validate(); err == nil {
		t.Error("negative budget accepted")
	}
	if _, err := New(Config{SpillDir: "/nonexistent/mocdc"}); err == nil {
		t.Error("missing spill dir accepted")
	}
}

// TestReleasedDoNotCount holds released transactions open, as a slow
// consumer would, and checks that they neither push new transactions to
// disk nor hide from the memory gauge.
func TestReleasedDoNotCount(t *testing.T) {
	msgs := readCorpus(t, "pgoutput-v1.jsonl")
	const budget = 16 << 10
	a, err := New(Config{MemoryBudget: budget, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var held []*Txn
	for _, m := range msgs {
		it, err := a.Add(m.LSN, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if it.Txn != nil {
			if it.Txn.Spilled() {
				t.Fatalf("xid %d (%d bytes) spilled although no other transaction was open", it.Txn.Xid, it.Txn.Size())
			}
			held = append(held, it.Txn)
		}
	}
	st := a.Stats()
	if st.MemoryBytes <= budget || st.OpenMemoryBytes != 0 || st.SpilledTxnsTotal != 0 {
		t.Errorf("holding %d transactions: %+v", len(held), st)
	}
	for _, txn := range held {
		if err := txn.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Stats(); st.MemoryBytes != 0 {
		t.Errorf("after closing: %+v", st)
	}
}
