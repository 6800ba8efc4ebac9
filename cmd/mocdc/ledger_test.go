package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
)

var updateDocs = flag.Bool("update-ledger-docs", false, "rewrite the auditor's session in docs/ledger.md with this run's output")

// The objects and actors of the auditor's session in docs/ledger.md.
const (
	docPerson     = "3c1a9f2e-5b7d-4e8a-9c6f-2d4b1a0e7f53"
	docEngagement = "6d1c3a7e-2b8f-4c55-9e0a-3f4b2d1e8c90"
	docOtherEng   = "0b7f5e2c-91d4-4a36-8c1e-7a2f9d3b6e15"
	docAddress    = "9a4e6b2d-1c3f-4a5e-8b7d-6f0e2d4c1a38"
	docOrgUnit    = "b5f0d7c3-2e4a-4c6b-9d8f-1a3c5e7b9d02"
	actorSD       = "1f0c9b3a-7d2e-4e8f-a5b6-c4d3e2f1a0b9"
	actorAnne     = "8e4d2c1b-3a5f-4b6c-9d7e-0f1a2b3c4d5e"
	actorBo       = "c7d9e1f3-4a6b-4c8d-9e0f-2a4b6c8d0e1f"
	actorSync     = "e2a4c6e8-0b1d-4f3a-8c5e-7d9f1b3a5c6e"
)

// docStep is one source transaction of the session: what capture publishes.
type docStep struct {
	actors []event.Actor
	events []any // *event.Envelope or *event.Access
}

func write(op event.Op, typ mo.Type, uuid string, reg int64, at, actor, lifecycle, note string, changed ...string) *event.Envelope {
	t, _ := time.Parse(time.RFC3339, at)
	e := &event.Envelope{Version: 1, ID: event.ObjectID("organisationfunktion", reg), Op: op, Type: typ, UUID: uuid,
		Source:  event.Source{LSN: fmt.Sprintf("0/%X", 0x3000000+reg*0x100), Xid: uint32(reg), CommitTime: t},
		Changed: append([]string{}, changed...), Object: &mo.Object{Type: typ, UUID: uuid}}
	if op != event.Snapshot && op != event.Tick {
		e.Registration = &event.Registration{ID: reg, Time: t, Lifecycle: lifecycle, Actor: actor, Note: note}
	}
	return e
}

func read(op string, at, actor, model, name string, uuids ...string) *event.Access {
	t, _ := time.Parse(time.RFC3339, at)
	return &event.Access{Version: 1, ID: "read/" + op, Operation: op, Time: t, Actor: actor, Model: model, Name: name,
		UUIDs: uuids, Source: event.Source{LSN: "0/4" + op[:6], Xid: 9000}}
}

var docSteps = []docStep{
	{actors: []event.Actor{{Version: 1, UUID: actorSD, Name: "SD-Løn import"}, {Version: 1, UUID: actorAnne, Name: "Anne Jensen"}, {Version: 1, UUID: actorSync, Name: "OS2sync"}},
		events: []any{write(event.Snapshot, mo.OrgUnit, docOrgUnit, 900, "2024-02-29T12:00:00Z", "", "", ""),
			write(event.Snapshot, mo.Engagement, docOtherEng, 901, "2024-02-29T12:00:00Z", "", "", "")}},
	{events: []any{write(event.Create, mo.Person, docPerson, 1001, "2024-03-01T07:00:00Z", actorSD, "Opstaaet", "",
		"cpr_number", "given_name", "surname", "user_key", "validity")}},
	{events: []any{write(event.Create, mo.Engagement, docEngagement, 1002, "2024-03-01T07:00:01Z", actorSD, "Opstaaet", "Import fra SD-Løn",
		"engagement_type", "job_function", "org_unit", "person", "primary", "user_key", "validity")}},
	{events: []any{read("5c2e8f1a-6b3d-4e9c-8a7f-1d0e2c3b4a59", "2024-03-01T07:05:00Z", actorSync, "OrganisationFunktion", "engagements", docEngagement, docOtherEng)}},
	{events: []any{write(event.Update, mo.Engagement, docEngagement, 1003, "2024-03-04T13:40:55Z", actorAnne, "Rettet", "Ny stillingsbetegnelse", "job_function")}},
	{actors: []event.Actor{{Version: 1, UUID: actorBo, Name: "Bo Hansen"}},
		events: []any{read("7d3f9a2b-8c4e-4f1a-9b6d-2e0c4a6b8d13", "2024-03-04T14:02:10Z", actorBo, "Bruger", "employees", docPerson)}},
	{events: []any{write(event.Tick, mo.Engagement, docEngagement, 1004, "2024-03-05T00:00:00Z", "", "", "")}},
	{events: []any{write(event.Update, mo.Engagement, docEngagement, 1005, "2024-03-05T06:00:00Z", actorSD, "Rettet", "Forlænget til 2025-02-28", "validity")}},
	{events: []any{write(event.Update, mo.Engagement, docEngagement, 1006, "2024-03-05T09:12:30Z", actorAnne, "Rettet", "Flyttet til Borgerservice", "job_function", "org_unit")}},
	{events: []any{read("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "2024-03-05T09:13:02Z", actorAnne, "OrganisationFunktion", "engagement", docEngagement)}},
	{events: []any{write(event.Create, mo.Address, docAddress, 1007, "2024-03-05T09:20:00Z", actorAnne, "Opstaaet", "",
		"address_type", "person", "user_key", "validity", "value", "visibility")}},
	{events: []any{write(event.Delete, mo.Engagement, docOtherEng, 1008, "2024-03-06T10:00:00Z", actorAnne, "Slettet", "Fejloprettet")}},
	{events: []any{read("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "2024-03-07T08:00:00Z", actorBo, "Bruger", "employee", docPerson)}},
}

// docLedger is a ledger built from docSteps by the real builder, one step
// at a time so that sequence numbers are the same on every run.
type docLedger struct {
	dir, config, pubKey string
	prefix              string // the test's topic prefix, "mo" in the docs
	topics              event.Topics
	opts                []kgo.Opt
	records             [][]byte // the ledger's records, in order
}

func newDocLedger(t *testing.T) *docLedger {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueTopicPrefix(t)
	d := &docLedger{dir: t.TempDir(), prefix: prefix, topics: event.Topics{Prefix: prefix + "mo"}, opts: []kgo.Opt{kgo.SeedBrokers(brokers...)}}
	priv, pub := writeExampleKey(t, d.dir)
	d.pubKey = pub
	d.config = filepath.Join(d.dir, "mocdc.yaml")
	yaml := fmt.Sprintf("store:\n  dsn: postgres://unused@127.0.0.1:1/none\nkafka:\n  brokers: [%q]\n  topic_prefix: %s\nledger:\n  private_key_file: %s\n  public_key_file: %s\n  checkpoint_every: 5\n  checkpoint_interval: 1h\n",
		brokers[0], d.topics.Prefix, priv, pub)
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(d.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testenv.CreateTopics(t, 3, nil, append(d.topics.Objects(), d.topics.Access())...)
	testenv.CreateTopics(t, 1, map[string]*string{"cleanup.policy": ptrTo("compact")}, d.topics.Actor())

	cfg, err := LoadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := newLedgerBuilder(cfg, log, newRegistry())
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("builder: %v", err)
		}
	}()

	prod, err := kgo.NewClient(append(d.opts, kgo.TransactionalID(prefix+"capture"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	entries := 0
	for i, s := range docSteps {
		var recs []*kgo.Record
		for _, ev := range s.events {
			switch e := ev.(type) {
			case *event.Envelope:
				recs = append(recs, &kgo.Record{Topic: d.topics.Object(e.Type), Key: []byte(e.UUID), Value: mustJSON(t, e)})
				if e.Op == event.Delete {
					recs = append(recs, &kgo.Record{Topic: d.topics.Object(e.Type), Key: []byte(e.UUID)})
				}
				if e.Op == event.Create || e.Op == event.Update || e.Op == event.Delete {
					entries++
				}
			case *event.Access:
				recs = append(recs, &kgo.Record{Topic: d.topics.Access(), Key: []byte(e.Actor), Value: mustJSON(t, e)})
				entries++
			}
		}
		for _, a := range s.actors {
			recs = append(recs, &kgo.Record{Topic: d.topics.Actor(), Key: []byte(a.UUID), Value: mustJSON(t, a)})
		}
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		d.waitEntries(t, ctx, entries, i)
	}
	// 11 entries and the checkpoints after the 5th and the 10th.
	d.records = d.readAll(t, ctx, d.topics.Ledger(), 13)
	return d
}

func ptrTo(s string) *string { return &s }

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (d *docLedger) waitEntries(t *testing.T, ctx context.Context, n, step int) {
	t.Helper()
	for {
		recs, err := ledger.Query(ctx, d.opts, d.topics.Ledger(), ledger.Filter{})
		if err == nil && len(recs) == n {
			return
		}
		if err == nil && len(recs) > n {
			t.Fatalf("step %d: %d entries, want %d", step, len(recs), n)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("step %d: ledger has not %d entries: %v", step, n, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readAll returns the first n committed record values of a topic.
func (d *docLedger) readAll(t *testing.T, ctx context.Context, topic string, n int) [][]byte {
	t.Helper()
	var out [][]byte
	cl, err := kgo.NewClient(append(d.opts, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d of %d records: %v", topic, len(out), n, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r.Value) })
	}
	return out
}

// copyTo writes recs to a new one-partition topic.
func (d *docLedger) copyTo(t *testing.T, topic string, recs [][]byte) {
	t.Helper()
	cl, err := kgo.NewClient(append(d.opts, kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testenv.CreateTopics(t, 1, nil, topic)
	for _, v := range recs {
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// exampleKey is the public example key of docs/ledger.md (see
// sinks/ledger's tests); never use it for a real ledger.
func exampleKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("mocdc ledger example key - not secret"))
	return ed25519.NewKeyFromSeed(seed[:])
}

func writeExampleKey(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	k := exampleKey()
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "ledger.key"), filepath.Join(dir, "ledger.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// ------------------------------------------------------------------ the docs

var (
	sessionBlock = regexp.MustCompile("(?s)(<!-- session -->\n```console\n)(.*?)(```\n)")
	hashValue    = regexp.MustCompile(`("(?:prev_|signed_)?hash":")[0-9a-f]{64}"`)
	verifiedIn   = regexp.MustCompile(`verified in .*`)
)

// normalise hides what differs between runs: hashes (entries name test
// topics, so their hashes differ) and timings.
func normalise(s string) string {
	s = hashValue.ReplaceAllString(s, `$1…"`)
	return verifiedIn.ReplaceAllString(s, "verified in …")
}

// run runs one documented command line and returns its output as the docs
// show it (topic prefix "mo", files as named in the docs).
func (d *docLedger) run(t *testing.T, line string) string {
	t.Helper()
	args := splitArgs(t, strings.TrimPrefix(line, "$ mocdc ledger "))
	for i, a := range args {
		switch a {
		case "mocdc.yaml":
			args[i] = d.config
		case "ledger.pub":
			args[i] = d.pubKey
		}
	}
	var out bytes.Buffer
	var err error
	switch args[0] {
	case "query":
		err = ledgerQuery(t.Context(), slog.New(slog.DiscardHandler), args[1:], &out)
	case "verify":
		err = ledgerVerify(t.Context(), slog.New(slog.DiscardHandler), args[1:], &out, io.Discard)
	default:
		t.Fatalf("docs/ledger.md session runs %q: only query and verify are tested", line)
	}
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return strings.ReplaceAll(out.String(), d.prefix+"mo.", "mo.")
}

// splitArgs splits a shell command line with "..." quoting.
func splitArgs(t *testing.T, s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				t.Fatalf("unbalanced quote in %q", s)
			}
			out, s = append(out, s[1:end+1]), s[end+2:]
			continue
		}
		f, rest, _ := strings.Cut(s, " ")
		out, s = append(out, f), rest
	}
	return out
}

// TestLedgerDocsSession runs the auditor's session of docs/ledger.md — every
// `mocdc ledger query|verify` line in a "session" block — against a ledger
// the builder made from the session's events, and compares each output with
// the docs (hashes and timings aside). -update-ledger-docs rewrites them.
func TestLedgerDocsSession(t *testing.T) {
	d := newDocLedger(t)
	path := filepath.Join("..", "..", "docs", "ledger.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	commands := 0
	out := sessionBlock.ReplaceAllStringFunc(string(doc), func(m string) string {
		sub := sessionBlock.FindStringSubmatch(m)
		var b strings.Builder
		for _, part := range regexp.MustCompile(`(?m)^\$ `).Split(sub[2], -1)[1:] {
			line, want, _ := strings.Cut(part, "\n")
			got := d.run(t, "$ "+line)
			commands++
			if normalise(got) != normalise(want) && !*updateDocs {
				t.Errorf("docs/ledger.md: `%s` prints\n%s\nthe docs say\n%s", line, got, want)
			}
			b.WriteString("$ " + line + "\n" + got)
		}
		return sub[1] + b.String() + sub[3]
	})
	if commands < 6 {
		t.Fatalf("docs/ledger.md has %d session commands; expected the auditor's session", commands)
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLedgerVerifyNamesTampering copies the session's ledger to scratch
// topics — intact, with one entry altered, one removed, two swapped — and
// runs `mocdc ledger verify` on each as a separate process: the intact
// copy verifies (exit 0), each tampered one names the sequence and reason
// and exits 1.
func TestLedgerVerifyNamesTampering(t *testing.T) {
	d := newDocLedger(t)
	altered := bytes.Replace(d.records[3], []byte("Ny stillingsbetegnelse"), []byte("Ny stillingsbetegnelsE"), 1)
	for _, tc := range []struct {
		name string
		recs [][]byte
		want string // in the output; "" for an intact copy
	}{
		{"intact", d.records, ""},
		{"altered", append(append(append([][]byte{}, d.records[:3]...), altered), d.records[4:]...), "BROKEN at sequence 4 (offset 3): altered"},
		{"removed", append(append([][]byte{}, d.records[:6]...), d.records[7:]...), "BROKEN at sequence 7 (offset 6): missing"},
		{"reordered", append(append([][]byte{}, d.records[:8]...), d.records[9], d.records[8], d.records[10], d.records[11], d.records[12]), "BROKEN at sequence 9 (offset 8): reordered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := d.prefix + "scratch-" + tc.name
			d.copyTo(t, topic, tc.recs)
			cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerMocdcProcess$")
			cmd.Env = append(os.Environ(), "MOCDC_LEDGER_TEST_ARGS="+strings.Join([]string{"ledger", "verify", "--config", d.config, "--public-key", d.pubKey, "--topic", topic}, "\x1f"))
			out, err := cmd.CombinedOutput()
			if tc.want == "" {
				if err != nil || !strings.Contains(string(out), "verifies") || !strings.Contains(string(out), "13 (7 writes, 4 reads, 2 checkpoints)") {
					t.Fatalf("intact copy: %v\n%s", err, out)
				}
				return
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want 1\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output does not say %q:\n%s", tc.want, out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestLedgerMocdcProcess is not a test: the tests above run the test binary as
// `mocdc` through it (MOCDC_LEDGER_TEST_ARGS, separated by U+001F) to see its output and
// exit status.
func TestLedgerMocdcProcess(t *testing.T) {
	args := os.Getenv("MOCDC_LEDGER_TEST_ARGS")
	if args == "" {
		return
	}
	os.Args = append([]string{"mocdc"}, strings.Split(args, "\x1f")...)
	main()
}

func TestLedgerKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	if err := ledgerKeygen([]string{"--out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "ledger.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", st, err)
	}
	if !strings.Contains(out.String(), "key id") {
		t.Fatalf("keygen output:\n%s", out.String())
	}
	if err := ledgerKeygen([]string{"--out", dir}, io.Discard); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
}
