package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files and the examples in docs/ledger.md")

// TestCanonicalStrings pins string escaping to what Python's
// json.dumps(s, ensure_ascii=False) writes (outputs taken from Python 3).
func TestCanonicalStrings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"quote\" back\\ slash/", `"quote\" back\\ slash/"`},
		{"tab\tnl\ncr\rbs\bff\f", `"tab\tnl\ncr\rbs\bff\f"`},
		{"\x00\x01\x1f\x7f", "\"\\u0000\\u0001\\u001f\x7f\""},
		{"æøå ÆØÅ", `"æøå ÆØÅ"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"emoji 😀", `"emoji 😀"`},
		{"<>&", `"<>&"`},
		{"", `""`},
	} {
		if got := string(appendString(nil, tc.in)); got != tc.want {
			t.Errorf("canonical %q = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := clean("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("clean kept invalid UTF-8: %q", got)
	}
}

func TestCanonicalObjectSortsKeysAndNests(t *testing.T) {
	got := string(canonical(object{
		{"b", int64(-2)}, {"a", []string{}}, {"c", object{{"z", uint64(18446744073709551615)}, {"y", []string{"x", "é"}}}},
	}))
	want := `{"a":[],"b":-2,"c":{"y":["x","é"],"z":18446744073709551615}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if FormatTime(time.Date(2024, 3, 1, 10, 15, 2, 123456789, time.FixedZone("CET", 3600))) != "2024-03-01T09:15:02.123456Z" {
		t.Fatal("FormatTime must convert to UTC and truncate to microseconds")
	}
}

// TestGoldenChain pins the exact bytes of a small ledger (testdata/chain.jsonl):
// a change to the encoding, the hash or the signature shows up here.
func TestGoldenChain(t *testing.T) {
	got := exampleChainBytes(t)
	path := filepath.Join("testdata", "chain.jsonl")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "example.pub"), examplePublicPEM(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ledger encoding changed (go test -update rewrites the golden file and docs only if the change is intended, with a new FormatVersion):\n got:\n%s\nwant:\n%s", got, want)
	}
	pub, err := LoadPublicKey(filepath.Join("testdata", "example.pub"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(pub)
	for i, line := range bytes.Split(bytes.TrimSuffix(want, []byte("\n")), []byte("\n")) {
		if !c.Add(int64(i), line) {
			_, brk := c.Result()
			t.Fatalf("golden chain does not verify: %v", brk)
		}
	}
	sum, _ := c.Result()
	if sum.Records != 4 || sum.Writes != 2 || sum.Reads != 1 || sum.Checkpoints != 1 || sum.LastSigned != 3 || sum.Unsigned != 0 {
		t.Fatalf("summary %+v", sum)
	}
}

// TestHashIsSHA256OfRecordWithoutHash checks the definition the docs give,
// independently of the encoder: drop the "hash" member from the stored
// bytes and hash the rest.
func TestHashIsSHA256OfRecordWithoutHash(t *testing.T) {
	for i, line := range exampleLines(t) {
		rec, err := DecodeRecord(int64(i), line)
		if err != nil {
			t.Fatal(err)
		}
		// "hash" is never the last member (kind or key follows it), so the
		// member and the comma after it go.
		member := []byte(`"hash":"` + rec.Hash() + `",`)
		if bytes.Count(line, member) != 1 {
			t.Fatalf("record %d: hash member not found once", i)
		}
		sum := sha256.Sum256(bytes.Replace(line, member, nil, 1))
		if got := hexString(sum[:]); got != rec.Hash() {
			t.Fatalf("record %d: sha256(without hash) = %s, stored %s", i, got, rec.Hash())
		}
	}
}

// TestDecodeRejectsNonCanonical: any byte form but the canonical one, and
// any change of the field set, is refused.
func TestDecodeRejectsNonCanonical(t *testing.T) {
	line := string(exampleLines(t)[1]) // the update, whose note has quotes
	if _, err := DecodeRecord(0, []byte(line)); err != nil {
		t.Fatalf("canonical record refused: %v", err)
	}
	for name, v := range map[string]string{
		"space after colon":   strings.Replace(line, `"kind":"write"`, `"kind": "write"`, 1),
		"escaped character":   strings.Replace(line, "Jensen", `Jens\u0065n`, 1),
		"keys out of order":   `{"version":1,` + strings.Replace(line, `,"version":1`, "", 1)[1:],
		"missing field":       strings.Replace(line, `"note":"Ny stillingsbetegnelse \"Specialkonsulent\"",`, "", 1),
		"unknown field":       strings.Replace(line, `{"actor"`, `{"a":"x","actor"`, 1),
		"duplicate key":       strings.Replace(line, `"kind":"write"`, `"kind":"read","kind":"write"`, 1),
		"trailing newline":    line + "\n",
		"newer version":       strings.Replace(line, `"version":1`, `"version":2`, 1),
		"unknown kind":        strings.Replace(line, `"kind":"write"`, `"kind":"delete"`, 1),
		"number with decimal": strings.Replace(line, `"xid":7343`, `"xid":7343.0`, 1),
	} {
		if v == line {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if _, err := DecodeRecord(0, []byte(v)); err == nil {
			t.Errorf("%s: accepted %s", name, v)
		}
	}
}

func TestKeyPairFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	privPath, pubPath, err := GenerateKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", st.Mode().Perm())
	}
	priv, err := LoadPrivateKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("public key file does not hold the private key's public key")
	}
	if _, _, err := GenerateKeyPair(dir); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("second keygen into the same directory: %v", err)
	}
	if _, err := LoadPrivateKey(pubPath); err == nil {
		t.Fatal("a public key file was accepted as private key")
	}
}

// TestCheckpointSignature: the checkpoint verifies with its key and with no
// other; a changed signed head or signature does not verify.
func TestCheckpointSignature(t *testing.T) {
	lines := exampleLines(t)
	rec, err := DecodeRecord(3, lines[3])
	if err != nil || rec.Checkpoint == nil {
		t.Fatalf("record 4 is not a checkpoint: %v", err)
	}
	cp := *rec.Checkpoint
	pub := exampleKey().Public().(ed25519.PublicKey)
	if why := verifyCheckpoint(&cp, pub); why != "" {
		t.Fatalf("good checkpoint: %s", why)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if why := verifyCheckpoint(&cp, otherPub); !strings.Contains(why, "not by the public key given") {
		t.Errorf("other key: %q", why)
	}
	forged := cp
	forged.Key = KeyID(otherPub)
	if why := verifyCheckpoint(&forged, otherPub); !strings.Contains(why, "does not verify") {
		t.Errorf("signature with a relabelled key: %q", why)
	}
	moved := cp
	moved.SignedSequence++
	if why := verifyCheckpoint(&moved, pub); !strings.Contains(why, "does not verify") {
		t.Errorf("changed signed sequence: %q", why)
	}
	flipped := cp
	flipped.Signature = "0" + cp.Signature[1:]
	if flipped.Signature == cp.Signature {
		flipped.Signature = "1" + cp.Signature[1:]
	}
	if why := verifyCheckpoint(&flipped, pub); !strings.Contains(why, "does not verify") {
		t.Errorf("changed signature: %q", why)
	}
	if got := string(CheckpointMessage(3, cp.SignedHash)); got != "mocdc-ledger-checkpoint:v1:3:"+cp.SignedHash {
		t.Errorf("message %q", got)
	}
}
