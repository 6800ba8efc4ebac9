package assemble

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pglogrepl"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

const corpusDir = "../testdata/os2mo-wal"

// walMsg is one line of a corpus file: a pgoutput message and the WAL
// position it came with.
type walMsg struct {
	LSN  pglogrepl.LSN
	Xid  uint32
	Data []byte
}

func readCorpus(tb testing.TB, name string) []walMsg {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []walMsg
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var l struct {
			LSN  string `json:"lsn"`
			Xid  uint32 `json:"xid"`
			Data []byte `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		lsn, err := pglogrepl.ParseLSN(l.LSN)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, walMsg{LSN: lsn, Xid: l.Xid, Data: l.Data})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// opXids returns the xids of ops.jsonl in order.
func opXids(tb testing.TB) []uint32 {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "ops.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var xids []uint32
	dec := json.NewDecoder(f)
	for dec.More() {
		var op struct {
			Xid uint32 `json:"xid"`
		}
		if err := dec.Decode(&op); err != nil {
			tb.Fatal(err)
		}
		xids = append(xids, op.Xid)
	}
	return xids
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff", name)
	}
}
