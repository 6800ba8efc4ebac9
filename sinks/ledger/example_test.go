package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The example ledger that testdata/chain.jsonl and docs/ledger.md show.

// exampleKey is the documented example signing key. It is public on
// purpose; never use it for a real ledger.
func exampleKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("mocdc ledger example key - not secret"))
	return ed25519.NewKeyFromSeed(seed[:])
}

func encodePublic(pub ed25519.PublicKey) ([]byte, error) {
	_, p, err := encodeKeyPair(exampleKey(), pub)
	return p, err
}

func examplePublicPEM(t *testing.T) []byte {
	t.Helper()
	_, pub, err := encodeKeyPair(exampleKey(), exampleKey().Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

const (
	exampleEngagement = "6d1c3a7e-2b8f-4c55-9e0a-3f4b2d1e8c90"
	exampleOther      = "0b7f5e2c-91d4-4a36-8c1e-7a2f9d3b6e15"
	exampleImport     = "1f0c9b3a-7d2e-4e8f-a5b6-c4d3e2f1a0b9"
	exampleUser       = "8e4d2c1b-3a5f-4b6c-9d7e-0f1a2b3c4d5e"
)

// exampleEntries are a create by an integration, an update by a person and
// a read of two engagements.
func exampleEntries() []*Entry {
	return []*Entry{
		{
			Kind: KindWrite, Op: "create", Time: "2024-03-01T08:15:02.123456Z",
			Actor: exampleImport, ActorName: "SD-Løn import", Type: "engagement",
			UUIDs: []string{exampleEngagement}, Lifecycle: "Opstaaet",
			Changed: []string{"engagement_type", "job_function", "org_unit", "person", "primary", "user_key", "validity"},
			Note:    "Import fra SD-Løn",
			Source:  Source{LSN: "0/1A2B3C4", Xid: 7342, Event: "reg/organisationfunktion/4711", Topic: "mo.engagement", Partition: 3, Offset: 1207},
		},
		{
			Kind: KindWrite, Op: "update", Time: "2024-03-04T13:40:55.000001Z",
			Actor: exampleUser, ActorName: "Anne Jensen", Type: "engagement",
			UUIDs: []string{exampleEngagement}, Lifecycle: "Rettet",
			Changed: []string{"job_function"},
			Note:    `Ny stillingsbetegnelse "Specialkonsulent"`,
			Source:  Source{LSN: "0/1A2F0D8", Xid: 7343, Event: "reg/organisationfunktion/4712", Topic: "mo.engagement", Partition: 3, Offset: 1209},
		},
		{
			Kind: KindRead, Op: "read", Time: "2024-03-04T13:41:10.500000Z",
			Actor: exampleUser, ActorName: "Anne Jensen", Model: "OrganisationFunktion", Operation: "engagements",
			UUIDs: []string{exampleEngagement, exampleOther}, Changed: []string{},
			Source: Source{LSN: "0/1A2F3E0", Xid: 7344, Event: "read/5c2e8f1a-6b3d-4e9c-8a7f-1d0e2c3b4a59", Topic: "mo.access", Partition: 1, Offset: 88},
		},
	}
}

// exampleChain appends the example entries and then a checkpoint.
func exampleChain() [][]byte {
	c := newChain(genesis(), exampleKey(), 1000, time.Hour)
	var out [][]byte
	for _, e := range exampleEntries() {
		out = append(out, c.entry(e, time.Time{}))
	}
	_, v := c.checkpoint(time.Date(2024, 3, 4, 13, 42, 0, 0, time.UTC))
	return append(out, v)
}

func exampleChainBytes(t *testing.T) []byte {
	t.Helper()
	return append(bytes.Join(exampleChain(), []byte("\n")), '\n')
}

func exampleLines(t *testing.T) [][]byte {
	t.Helper()
	return exampleChain()
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

// docsPath is docs/ledger.md from this package's directory.
var docsPath = filepath.Join("..", "..", "docs", "ledger.md")

// goldenBlock matches "<!-- golden:NAME -->" followed by a fenced block.
var goldenBlock = regexp.MustCompile("(?s)(<!-- golden:([a-z0-9-]+) -->\n```[a-z]*\n)(.*?)(```\n)")

// docsExamples are the generated contents of every golden block in the docs.
func docsExamples(t *testing.T) map[string]string {
	t.Helper()
	lines := exampleChain()
	first, err := DecodeRecord(0, lines[0])
	if err != nil {
		t.Fatal(err)
	}
	hashed := canonical(first.Entry.object(false))
	cp, err := DecodeRecord(3, lines[3])
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "verify_chain.py"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"example-entry":      string(lines[0]) + "\n",
		"example-hashed":     string(hashed) + "\n",
		"example-sha256sum":  fmt.Sprintf("$ printf '%%s' \"$HASHED\" | sha256sum\n%s  -\n", first.Hash()),
		"example-chain":      string(exampleChainBytes(t)),
		"example-checkpoint": string(lines[3]) + "\n",
		"example-message":    string(CheckpointMessage(cp.Checkpoint.SignedSequence, cp.Checkpoint.SignedHash)) + "\n",
		"example-public-key": string(examplePublicPEM(t)),
		"verify-chain-py":    string(script),
	}
}

// TestDocsExamples: every worked example in docs/ledger.md is what the code
// produces (go test -update rewrites them).
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	want := docsExamples(t)
	seen := map[string]bool{}
	out := goldenBlock.ReplaceAllStringFunc(string(doc), func(m string) string {
		sub := goldenBlock.FindStringSubmatch(m)
		name, body := sub[2], sub[3]
		w, ok := want[name]
		if !ok {
			t.Errorf("docs/ledger.md has an unknown golden block %q", name)
			return m
		}
		seen[name] = true
		if body != w && !*update {
			t.Errorf("docs/ledger.md block %s is stale (go test ./sinks/ledger -run TestDocsExamples -update):\n got:\n%s\nwant:\n%s", name, body, w)
		}
		return sub[1] + w + sub[4]
	})
	for name := range want {
		if !seen[name] {
			t.Errorf("docs/ledger.md lacks the golden block %q", name)
		}
	}
	if *update && out != string(doc) {
		if err := os.WriteFile(docsPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPythonVerifiesExampleChain runs the documented stand-alone Python
// check (hash chain with the standard library only) on the example ledger,
// and on a copy with one changed byte.
func TestPythonVerifiesExampleChain(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the documented Python check was not run")
	}
	var args []string
	if exec.Command(py, "-c", "import cryptography").Run() == nil {
		args = append(args, filepath.Join("testdata", "example.pub")) // signatures too
	} else {
		t.Log("python3 has no 'cryptography' package: checking hashes only")
	}
	run := func(input []byte) (string, error) {
		cmd := exec.Command(py, append([]string{filepath.Join("testdata", "verify_chain.py")}, args...)...)
		cmd.Stdin = bytes.NewReader(input)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	lines := exampleLines(t)
	head, _ := DecodeRecord(3, lines[3])
	out, err := run(exampleChainBytes(t))
	if want := "OK: 4 records, last sequence 4, head " + head.Hash() + "\n"; err != nil || out != want {
		t.Fatalf("clean chain: %v\n got %q\nwant %q (docs/ledger.md shows it)", err, out, want)
	}
	bad := bytes.Replace(exampleChainBytes(t), []byte("Specialkonsulent"), []byte("Specialkonsulenr"), 1)
	out, err = run(bad)
	if err == nil || !strings.Contains(out, "sequence 2") {
		t.Fatalf("altered chain passed the Python check:\n%s", out)
	}
	if len(args) > 0 {
		otherPub, _, _ := ed25519.GenerateKey(nil)
		pem, err := encodePublic(otherPub)
		if err != nil {
			t.Fatal(err)
		}
		args[0] = filepath.Join(t.TempDir(), "other.pub")
		if err := os.WriteFile(args[0], pem, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := run(exampleChainBytes(t)); err == nil || !strings.Contains(out, "sequence 4: bad signature") {
			t.Fatalf("another key passed the Python signature check:\n%s", out)
		}
	}
}

// TestOpenSSLVerifiesExampleCheckpoint runs the documented openssl command
// on the example checkpoint.
func TestOpenSSLVerifiesExampleCheckpoint(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: the documented signature check was not run")
	}
	lines := exampleLines(t)
	cp, err := DecodeRecord(3, lines[3])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubPath := filepath.Join(dir, "ledger.pub")
	if err := os.WriteFile(pubPath, examplePublicPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := func(message string) (string, error) {
		// The commands docs/ledger.md shows.
		script := `printf '%s' "$MESSAGE" > msg.bin
printf '%s' "$SIGNATURE" | xxd -r -p > sig.bin
openssl pkeyutl -verify -pubin -inkey ledger.pub -rawin -in msg.bin -sigfile sig.bin`
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MESSAGE="+message, "SIGNATURE="+cp.Checkpoint.Signature)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	msg := string(CheckpointMessage(cp.Checkpoint.SignedSequence, cp.Checkpoint.SignedHash))
	if out, err := verify(msg); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	if out, err := verify(strings.Replace(msg, ":3:", ":2:", 1)); err == nil {
		t.Fatalf("openssl verified a changed message:\n%s", out)
	}
}

// TestShellHashExample runs the documented sed + sha256sum commands on every
// record of the example ledger.
func TestShellHashExample(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ledger.jsonl"), exampleChainBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, line := range exampleLines(t) {
		rec, err := DecodeRecord(int64(i), line)
		if err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf(`HASHED=$(sed -n %dp ledger.jsonl | sed -E 's/"hash":"[0-9a-f]{64}",//')
printf '%%s' "$HASHED" | sha256sum`, i+1)
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != rec.Hash()+"  -\n" {
			t.Fatalf("record %d: %v: %q, want %s", i+1, err, out, rec.Hash())
		}
	}
}
