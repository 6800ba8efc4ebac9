package store

import (
	"bufio"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// goldenSequences reads testdata/os2mo-sequences.golden: name -> the
// (table:op) sequence of one OS2mo transaction.
func goldenSequences(t *testing.T) (map[string]string, map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "os2mo-sequences.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seqs, xids := map[string]string{}, map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, seq, ok := strings.Cut(line, ":")
		name, xid, ok2 := strings.Cut(head, " ")
		if !ok || !ok2 {
			t.Fatalf("bad golden line %q", line)
		}
		seqs[name], xids[name] = strings.TrimSpace(seq), xid
	}
	return seqs, xids
}

// decodeSequences turns test_decoding output into one "table:I table:U ..."
// string per committed transaction with changes, keyed by xid.
func decodeSequences(lines []string) (order []string, seqs map[string]string) {
	seqs = map[string]string{}
	var xid string
	var cur []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "BEGIN "):
			xid, cur = strings.TrimPrefix(l, "BEGIN "), nil
		case strings.HasPrefix(l, "COMMIT "):
			if len(cur) > 0 {
				order = append(order, xid)
				seqs[xid] = strings.Join(cur, " ")
			}
		case strings.HasPrefix(l, "table "):
			f := strings.Fields(l)
			table := strings.TrimSuffix(strings.TrimPrefix(f[1], lora.Schema+"."), ":")
			cur = append(cur, table+":"+f[2][:1])
		}
	}
	return order, seqs
}

// TestGoldenIsFromCorpus checks that the golden sequences are what the
// os2mo-wal corpus in the repository says for their xids.
func TestGoldenIsFromCorpus(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "capture", "testdata", "os2mo-wal", "test_decoding.txt.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	_, corpus := decodeSequences(lines)
	want, xids := goldenSequences(t)
	for name, seq := range want {
		if corpus[xids[name]] != seq {
			t.Errorf("%s: golden says\n%s\nbut xid %s in the corpus is\n%s", name, seq, xids[name], corpus[xids[name]])
		}
	}
}

// TestTouchPatternMatchesOS2mo writes, with the Writer, the same kinds of
// change as five OS2mo transactions of the corpus (same number of rows of
// each kind, same periods relative to each other) and reads the WAL back
// through a test_decoding slot: the (table, operation) sequence, touch
// UPDATEs included, must be OS2mo's.
func TestTouchPatternMatchesOS2mo(t *testing.T) {
	dsn, conn := freshStore(t)
	ctx := testCtx(t)
	slot := "mocdc_store_" + strings.ReplaceAll(newUUID(t), "-", "")[:16]
	if _, err := conn.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'test_decoding')", slot); err != nil {
		t.Fatalf("create slot (wal_level must be logical): %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_, err = c.Exec(context.Background(), "SELECT pg_drop_replication_slot($1)", slot)
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop slot %s: %v", slot, err)
		}
	})
	// The local test cluster runs with synchronous_commit = off, and logical
	// decoding reads only flushed WAL: commit synchronously so that every
	// write below can be decoded as soon as it returns.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(conn)
	m := Meta{Actor: actor, Note: "Oprettet i MO"}
	root := newUUID(t)
	var names []string
	step := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		names = append(names, name)
	}

	// create-person (xid 2143): user_key, names, cpr.
	person := newUUID(t)
	born := openFrom(day("1956-08-06"))
	personState := State{
		Egenskaber: []AttrRow{{Period: born, Values: map[string]any{"brugervendtnoegle": person}}},
		Udvidelser: []AttrRow{{Period: born, Values: map[string]any{"fornavn": "Åse", "efternavn": "Andersen"}}},
		Tils:       []TilsRow{{Period: born, Value: "Aktiv"}},
		Relations: []RelationRow{
			{Period: born, Kind: "tilhoerer", UUID: root},
			{Period: born, Kind: "tilknyttedepersoner", URN: "urn:dk:cpr:person:0608564325"},
		},
	}
	step("create-person", w.Create(ctx, lora.Bruger, person, m, personState))

	// update-person-rename (xid 2322): new surname from 2026-10-10.
	cut := day("2026-10-10")
	renamed := personState
	renamed.Udvidelser = []AttrRow{
		{Period: openFrom(cut), Values: map[string]any{"fornavn": "Åse", "efternavn": "Olsen-Andersen"}},
		{Period: mo.Period{From: born.From, To: cut}, Values: map[string]any{"fornavn": "Åse", "efternavn": "Andersen"}},
	}
	renamed.Tils = []TilsRow{{Period: openFrom(cut), Value: "Aktiv"}, {Period: mo.Period{From: born.From, To: cut}, Value: "Aktiv"}}
	step("update-person-rename", w.Update(ctx, lora.Bruger, person, Meta{Actor: actor, Note: "Rediger medarbejder"}, renamed))

	// create-engagement (xid 2155): six relations, one udvidelser row.
	eng := newUUID(t)
	ep := mo.Period{From: day("2025-01-01"), To: day("2026-05-31")}
	engState := State{
		Egenskaber: []AttrRow{{Period: ep, Values: map[string]any{"brugervendtnoegle": "00042", "funktionsnavn": "Engagement"}}},
		Udvidelser: []AttrRow{{Period: ep, Values: map[string]any{"fraktion": int64(0), "udvidelse_8": "udv8-82", "udvidelse_9": "udv9-79"}}},
		Tils:       []TilsRow{{Period: ep, Value: "Aktiv"}},
		Relations: []RelationRow{
			{Period: ep, Kind: "tilknyttedebrugere", UUID: person},
			{Period: ep, Kind: "tilknyttedeenheder", UUID: newUUID(t)},
			{Period: ep, Kind: "organisatoriskfunktionstype", UUID: newUUID(t)},
			{Period: ep, Kind: "opgaver", UUID: newUUID(t)},
			{Period: ep, Kind: "primær", UUID: newUUID(t)},
			{Period: ep, Kind: "tilknyttedeorganisationer", UUID: root},
		},
	}
	step("create-engagement", w.Create(ctx, lora.Organisationfunktion, eng, m, engState))

	// terminate-ituser (xid 2318): an IT user with four relations ends
	// after 2026-12-08.
	itu := newUUID(t)
	ip := openFrom(day("2021-12-28"))
	ituState := State{
		Egenskaber: []AttrRow{{Period: ip, Values: map[string]any{"brugervendtnoegle": "r56", "funktionsnavn": "IT-system"}}},
		Udvidelser: []AttrRow{{Period: ip, Values: map[string]any{"udvidelse_1": newUUID(t)}}},
		Tils:       []TilsRow{{Period: ip, Value: "Aktiv"}},
		Relations: []RelationRow{
			{Period: ip, Kind: "tilknyttedebrugere", UUID: person},
			{Period: ip, Kind: "tilknyttedeorganisationer", UUID: root},
			{Period: ip, Kind: "tilknyttedeitsystemer", UUID: newUUID(t)},
			{Period: ip, Kind: "tilknyttedefunktioner", UUID: eng, ObjektType: "engagement"},
		},
	}
	if err := w.Create(ctx, lora.Organisationfunktion, itu, m, ituState); err != nil {
		t.Fatal(err)
	}
	names = append(names, "") // the IT user's create is not compared
	end := day("2026-12-09")
	terminated := ituState
	terminated.Tils = []TilsRow{{Period: openFrom(end), Value: "Inaktiv"}, {Period: mo.Period{From: ip.From, To: end}, Value: "Aktiv"}}
	step("terminate-ituser", w.Update(ctx, lora.Organisationfunktion, itu, Meta{Actor: actor, Note: "Afslut"}, terminated))

	// An update that changes nothing is rolled back: nothing to decode.
	if err := w.Update(ctx, lora.Organisationfunktion, itu, Meta{Actor: actor}, terminated); err == nil {
		t.Fatal("identical update succeeded")
	}

	// delete-engagement (xid 2331).
	step("delete-engagement", w.Delete(ctx, lora.Organisationfunktion, eng, Meta{Actor: actor, Note: "Slet"}))

	rows, err := conn.Query(ctx, "SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)", slot)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	order, got := decodeSequences(lines)
	want, _ := goldenSequences(t)
	if len(order) != len(names) {
		t.Fatalf("decoded %d transactions with changes, want %d (one per write):\n%s", len(order), len(names), strings.Join(lines, "\n"))
	}
	for i, name := range names {
		if name == "" {
			continue
		}
		if got[order[i]] != want[name] {
			t.Errorf("%s:\n got %s\nwant %s", name, got[order[i]], want[name])
		}
	}
}
