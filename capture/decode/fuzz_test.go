package decode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// announcements returns the R and Y messages of the v1 corpus and a binary
// probe relation (id 1) with a column of every type the decoder knows.
func announcements(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, m := range readCorpus(tb, "pgoutput-v1.jsonl") {
		if m.Data[0] == 'R' || m.Data[0] == 'Y' {
			out = append(out, m.Data)
		}
	}
	return append(out, typeMsg(oidEnum, "livscykluskode"), typeMsg(oidRegistrering, "registreringbase"),
		typeMsg(oidVirkning, "virkning"), probeRelation())
}

var probeCols = []col{{"u", oidUUID}, {"i8", oidInt8}, {"i4", oidInt4}, {"i2", oidInt2}, {"b", oidBool},
	{"t", oidText}, {"e", oidEnum}, {"ts", oidTimestamptz}, {"tsl", oidTimestamp}, {"r", oidTstzrange},
	{"mr", oidTstzmultirange}, {"reg", oidRegistrering}, {"virk", oidVirkning}, {"arr", oidTextArray},
	{"j", oidJSON}, {"jb", oidJSONB}, {"n", 1700}}

func probeRelation() []byte { return relationMsg(1, "probe", probeCols...) }

// probeInsert is a binary INSERT into the probe relation.
func probeInsert() []byte {
	return insertMsg(1, bin(actorUUID[:]), bin(be64(1)), bin(be32(2)), bin([]byte{0, 3}), bin([]byte{1}),
		bin([]byte("text")), bin([]byte("Rettet")), bin(binTS(t1)), bin(be64(0)),
		bin(binRng(rangeLBInc, t1, mo.PosInf)),
		bin(multi(binRng(rangeLBInc, mo.NegInf, t1), []byte{rangeEmpty})),
		bin(binRec(recField{oidTstzrange, binRng(rangeLBInc, t1, t2)}, recField{oidEnum, []byte("Opstaaet")},
			recField{oidUUID, actorUUID[:]}, recField{oidText, []byte("note")})),
		bin(binRec(recField{oidTstzrange, binRng(rangeLBInf | rangeUBInf)}, recField{oidUUID, nil},
			recField{oidEnum, nil}, recField{oidText, []byte{}})),
		bin(binArr(oidText, ptr("a"), nil)), bin([]byte(`{}`)), bin([]byte("\x01[]")), bin([]byte{0, 0}))
}

// touch reads every value of row in every way; errors are fine, panics not.
func touch(row *Row) {
	for i, c := range row.Relation().Columns {
		_, _ = row.Value(i)
		_, _, _ = row.Text(c.Name)
		_, _, _ = row.UUID(c.Name)
		_, _, _ = row.Int(c.Name)
		_, _, _ = row.Bool(c.Name)
		_, _, _ = row.Timestamp(c.Name)
		_, _, _ = row.Period(c.Name)
		_, _, _ = row.Periods(c.Name)
		_, _, _ = row.Registrering(c.Name)
		_, _, _ = row.Virkning(c.Name)
		_, _, _ = row.TextArray(c.Name)
		_, _, _ = row.JSON(c.Name)
		_, _, _ = row.Bytes(c.Name)
	}
	if old, _, ok := row.Old(); ok {
		for i := range old.NumColumns() {
			_, _ = old.Value(i)
		}
	}
	_ = row.Clone()
}

// TestProbeRow checks that the binary seed row decodes cleanly, so the
// fuzzer starts from a valid message.
func TestProbeRow(t *testing.T) {
	d := New()
	for _, m := range announcements(t) {
		if _, err := d.Decode(m, false); err != nil {
			t.Fatal(err)
		}
	}
	row, err := d.Decode(probeInsert(), false)
	if err != nil {
		t.Fatal(err)
	}
	// Every column but the numeric one (no typed getter, binary) reads
	// with its getter; Value reads them all.
	vals := make([]any, row.NumColumns())
	for i := range vals {
		if vals[i], err = row.Value(i); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := row.Text("n"); !errors.Is(err, ErrWrongType) {
		t.Errorf("Text of binary numeric: %v", err)
	}
	if got := render(vals[11]); got != `([2026-11-25T19:20:07.357057+01:00,2026-11-25T19:20:07.803012+01:00) Opstaaet `+actor+` "note")` {
		t.Errorf("registrering: %s", got)
	}
}

// FuzzDecode feeds arbitrary bytes as a message after the corpus's real
// relation announcements.
func FuzzDecode(f *testing.F) {
	ann := announcements(f)
	f.Add(probeInsert(), false)
	f.Fuzz(func(t *testing.T, msg []byte, inStream bool) {
		d := New()
		for _, m := range ann {
			if _, err := d.Decode(m, false); err != nil {
				t.Fatal(err)
			}
		}
		row, err := d.Decode(msg, inStream)
		if err != nil || row == nil {
			return
		}
		touch(row)
	})
}

// FuzzParseComposite runs the record parsers on arbitrary text.
func FuzzParseComposite(f *testing.F) {
	f.Add(`("[-infinity,infinity)",,,"")`)
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		_, _, _, _ = textComposite(b, registreringUUID)
		_, _, _, _ = textComposite(b, virkningUUID)
		_, _, _, _ = binComposite(b, registreringUUID)
		if r, err := newRecord(b); err == nil {
			for range 64 {
				if _, _, err := r.next(nil); err != nil || r.done {
					break
				}
			}
		}
		_, _ = parseTextArray(b)
		_, _ = binTextArray(b)
	})
}

// FuzzParseRange runs the range, multirange and timestamp parsers on
// arbitrary text, and checks that a parsed finite bound survives a round
// trip through Go's formatting.
func FuzzParseRange(f *testing.F) {
	f.Add(`["2026-01-01 00:00:00+01",infinity)`)
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		_, _ = parseRange(b)
		_, _ = parseMultirange(b)
		_, _ = binRange(b)
		_, _ = binMultirange(b)
		ts, err := parseTimestamp(b, true)
		if err == nil && !mo.IsPosInf(ts) && !mo.IsNegInf(ts) && ts.Year() > 0 && ts.Year() < 10000 {
			again, err := parseTimestamp([]byte(ts.UTC().Format("2006-01-02 15:04:05.999999999-07")), true)
			if err != nil || !again.Equal(ts) {
				t.Errorf("%q → %v → %v, %v", s, ts, again, err)
			}
		}
		_, _ = parseTimestamp(b, false)
	})
}

// TestWriteFuzzSeeds writes the seed corpora under testdata/fuzz from real
// corpus values when run with -update.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the fuzz seed corpora")
	}
	write := func(target, name string, args ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, a := range args {
			switch a := a.(type) {
			case []byte:
				s += "[]byte(" + strconv.Quote(string(a)) + ")\n"
			case string:
				s += "string(" + strconv.Quote(a) + ")\n"
			case bool:
				s += fmt.Sprintf("bool(%v)\n", a)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// FuzzDecode: the first INSERT and UPDATE of every table, text format,
	// the binary probe row, and one streamed row.
	d := New()
	seen := map[string]bool{}
	composites, ranges := map[string]bool{}, map[string]bool{}
	for _, m := range readCorpus(t, "pgoutput-v1.jsonl") {
		if m.Data[0] == 'B' || m.Data[0] == 'C' {
			continue
		}
		row, err := d.Decode(m.Data, false)
		if err != nil {
			t.Fatal(err)
		}
		if row == nil {
			continue
		}
		key := row.Table() + "-" + row.Op().String()
		if !seen[key] {
			seen[key] = true
			write("FuzzDecode", key, m.Data, false)
		}
		for _, c := range row.Relation().Columns {
			raw, _, null, _ := row.Raw(c.Name)
			if null {
				continue
			}
			switch c.TypeName {
			case "registreringbase", "virkning":
				composites[string(raw)] = true
				if r, err := newRecord(raw); err == nil {
					if v, _, err := r.next(nil); err == nil && len(v) > 0 {
						ranges[string(v)] = true
					}
				}
			case "tstzmultirange":
				ranges[string(raw)] = true
			}
		}
	}
	write("FuzzDecode", "probe-binary", probeInsert(), false)
	for _, m := range readCorpus(t, "pgoutput-v2-streaming.jsonl") {
		if m.Data[0] == 'U' {
			write("FuzzDecode", "streamed-update", m.Data, true)
			break
		}
	}
	// A few distinct values of each shape: the first ones seen of each
	// length class keep the corpus small.
	pick := func(target string, vals map[string]bool, n int) {
		keys := make([]string, 0, len(vals))
		for v := range vals {
			keys = append(keys, v)
		}
		sort.Strings(keys)
		byLen := map[int]bool{}
		i := 0
		for _, v := range keys {
			if i >= n || byLen[len(v)] {
				continue
			}
			byLen[len(v)] = true
			write(target, fmt.Sprintf("corpus-%02d", i), v)
			i++
		}
	}
	pick("FuzzParseComposite", composites, 12)
	pick("FuzzParseRange", ranges, 12)
}
