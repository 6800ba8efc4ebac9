package decode

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/os2mo-cdc/mocdc/capture/assemble"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seeds in testdata")

const corpusDir = "../testdata/os2mo-wal"

type walMsg struct {
	LSN  pglogrepl.LSN
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
			Data []byte `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		lsn, err := pglogrepl.ParseLSN(l.LSN)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, walMsg{LSN: lsn, Data: l.Data})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// op is one line of ops.jsonl.
type op struct {
	Seq    int    `json:"seq"`
	Kind   string `json:"kind"`
	MOType string `json:"mo_type"`
	UUID   string `json:"uuid"`
	Actor  string `json:"actor"`
	Note   string `json:"note"`
	Xid    uint32 `json:"xid"`
}

func readOps(tb testing.TB) []op {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "ops.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var ops []op
	dec := json.NewDecoder(f)
	for dec.More() {
		var o op
		if err := dec.Decode(&o); err != nil {
			tb.Fatal(err)
		}
		ops = append(ops, o)
	}
	return ops
}

// assembleCorpus runs a corpus file through an Assembler and returns the
// committed transactions; the caller closes them.
func assembleCorpus(tb testing.TB, name string, cfg assemble.Config) []*assemble.Txn {
	tb.Helper()
	a, err := assemble.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	var txns []*assemble.Txn
	for _, m := range readCorpus(tb, name) {
		it, err := a.Add(m.LSN, m.Data)
		if err != nil {
			tb.Fatal(err)
		}
		if it.Txn != nil {
			txns = append(txns, it.Txn)
		}
	}
	return txns
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
