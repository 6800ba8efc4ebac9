package decode

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

func utc(y int, m time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, m, d, h, mi, s, ns, time.UTC)
}

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		in   string
		zone bool
		want time.Time
		err  string
	}{
		{in: "2026-11-25 19:20:07.357057+01", zone: true, want: utc(2026, 11, 25, 18, 20, 7, 357057000)},
		{in: "2026-06-01 00:00:00+02", zone: true, want: utc(2026, 5, 31, 22, 0, 0, 0)},
		{in: "2026-11-25 19:47:46.112+01", zone: true, want: utc(2026, 11, 25, 18, 47, 46, 112000000)},
		{in: "2026-01-01 00:00:00+05:30", zone: true, want: utc(2025, 12, 31, 18, 30, 0, 0)},
		{in: "2026-01-01 00:00:00-03:30", zone: true, want: utc(2026, 1, 1, 3, 30, 0, 0)},
		{in: "1890-01-01 00:00:00+00:50:20", zone: true, want: utc(1889, 12, 31, 23, 9, 40, 0)}, // LMT
		{in: "2024-02-29 12:00:00+01", zone: true, want: utc(2024, 2, 29, 11, 0, 0, 0)},
		{in: "10000-01-01 00:00:00+00", zone: true, want: utc(10000, 1, 1, 0, 0, 0, 0)},
		{in: "0001-01-01 00:00:00+00 BC", zone: true, want: utc(0, 1, 1, 0, 0, 0, 0)},
		{in: "infinity", zone: true, want: mo.PosInf},
		{in: "-infinity", zone: true, want: mo.NegInf},
		{in: "2026-03-29 02:30:00", want: time.Date(2026, 3, 29, 2, 30, 0, 0, mo.Location)},
		{in: "2026-11-25 19:20:07", want: utc(2026, 11, 25, 18, 20, 7, 0)},
		{in: "", zone: true, err: "syntax"},
		{in: "2026-11-25", zone: true, err: "syntax"},
		{in: "2026-11-25 19:20:07", zone: true, err: "syntax"},
		{in: "2026-11-25 19:20:07+01", err: "syntax"},
		{in: "2026-11-25T19:20:07+01", zone: true, err: "syntax"},
		{in: "2026-11-25 19:20:07.+01", zone: true, err: "syntax"},
		{in: "2026-11-25 19:20:07+01x", zone: true, err: "syntax"},
		{in: "26-11-25 19:20:07+01", zone: true, err: "syntax"},
		{in: "2026-13-01 00:00:00+01", zone: true, err: "out of range"},
		{in: "2026-02-29 00:00:00+01", zone: true, err: "out of range"},
		{in: "2026-04-31 00:00:00+01", zone: true, err: "out of range"},
		{in: "2026-11-25 24:00:00+01", zone: true, err: "out of range"},
		{in: "2026-11-25 23:60:00+01", zone: true, err: "out of range"},
	}
	for _, tc := range cases {
		got, err := parseTimestamp([]byte(tc.in), tc.zone)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if err == nil && !mo.IsPosInf(got) && !mo.IsNegInf(got) && got.Location() != mo.Location {
			t.Errorf("%q: location %v, want mo.Location", tc.in, got.Location())
		}
	}
}

var (
	jan1    = utc(2025, 12, 31, 23, 0, 0, 0) // 2026-01-01 00:00+01
	jun1    = utc(2026, 5, 31, 22, 0, 0, 0)  // 2026-06-01 00:00+02
	micro   = time.Microsecond
	rangeOK = []struct {
		in   string
		want mo.Period
	}{
		{`["2026-01-01 00:00:00+01","2026-06-01 00:00:00+02")`, mo.Period{From: jan1, To: jun1}},
		{`[-infinity,infinity)`, mo.Always},
		{`(-infinity,infinity]`, mo.Always},
		{`(,)`, mo.Always},
		{`empty`, mo.Period{}},
		{`["2026-01-01 00:00:00+01",)`, mo.Period{From: jan1, To: mo.PosInf}},
		{`(,"2026-06-01 00:00:00+02")`, mo.Period{From: mo.NegInf, To: jun1}},
		{`("2026-01-01 00:00:00+01","2026-06-01 00:00:00+02"]`, mo.Period{From: jan1.Add(micro), To: jun1.Add(micro)}},
		{`[2026-01-01\ 00:00:00+01,infinity)`, mo.Period{From: jan1, To: mo.PosInf}},
		{`["2026-01-01 00:00:00"+01,infinity)`, mo.Period{From: jan1, To: mo.PosInf}},
	}
)

func TestParseRange(t *testing.T) {
	for _, tc := range rangeOK {
		got, err := parseRange([]byte(tc.in))
		if err != nil || !samePeriod(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{``, `[`, `[a,b)`, `["2026-01-01 00:00:00+01",infinity`,
		`[infinity,infinity)x`, `["unterminated,infinity)`, `[-infinity;infinity)`,
		`{[-infinity,infinity)}`, `emptyx`, `[-infinity,infinity)\`, `["2026-01-01 00:00:00+01,infinity)`} {
		if got, err := parseRange([]byte(in)); err == nil {
			t.Errorf("%s: got %v, want an error", in, got)
		}
	}
}

func samePeriod(a, b mo.Period) bool { return a.From.Equal(b.From) && a.To.Equal(b.To) }

func TestParseMultirange(t *testing.T) {
	cases := []struct {
		in   string
		want []mo.Period
	}{
		{`{}`, []mo.Period{}},
		{`{[-infinity,infinity)}`, []mo.Period{mo.Always}},
		{`{["2026-01-01 00:00:00+01","2026-06-01 00:00:00+02"),["2027-01-01 00:00:00+01",infinity)}`,
			[]mo.Period{{From: jan1, To: jun1}, {From: utc(2026, 12, 31, 23, 0, 0, 0), To: mo.PosInf}}},
		{` { [-infinity,infinity) } `, []mo.Period{mo.Always}},
	}
	for _, tc := range cases {
		got, err := parseMultirange([]byte(tc.in))
		if err != nil || got == nil || !slices.EqualFunc(got, tc.want, samePeriod) {
			t.Errorf("%s: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{``, `{`, `{[-infinity,infinity)`, `{[-infinity,infinity),}`,
		`[-infinity,infinity)`, `{[-infinity,infinity)}x`, `{[-infinity,infinity) [-infinity,infinity)}`} {
		if got, err := parseMultirange([]byte(in)); err == nil {
			t.Errorf("%s: got %v, want an error", in, got)
		}
	}
}

const actor = "de7e104e-baad-c0de-6465-76656c6f7065"

func TestTextComposite(t *testing.T) {
	reg := []struct {
		in   string
		want lora.Registrering
		err  string
	}{
		{in: `("[""2026-11-25 19:20:07.357057+01"",""2026-11-25 19:20:07.803012+01"")",Opstaaet,` + actor + `,"Oprettet i MO")`,
			want: lora.Registrering{Period: mo.Period{From: utc(2026, 11, 25, 18, 20, 7, 357057000), To: utc(2026, 11, 25, 18, 20, 7, 803012000)},
				Lifecycle: lora.Opstaaet, Actor: actor, Note: "Oprettet i MO"}},
		{in: `("[""2026-11-25 19:47:46.737976+01"",infinity)",Rettet,` + actor + `,Afslut)`,
			want: lora.Registrering{Period: mo.Period{From: utc(2026, 11, 25, 18, 47, 46, 737976000), To: mo.PosInf},
				Lifecycle: lora.Rettet, Actor: actor, Note: "Afslut"}},
		{in: `("[-infinity,infinity)",Slettet,,"say ""hi"" \\ ok")`,
			want: lora.Registrering{Period: mo.Always, Lifecycle: lora.Slettet, Note: `say "hi" \ ok`}},
		{in: `(,,,)`, want: lora.Registrering{}},
		{in: `(empty,Importeret,` + actor + `,"")`, want: lora.Registrering{Lifecycle: lora.Importeret, Actor: actor}},
		{in: `("[-infinity,infinity)",Opstaaet,not-a-uuid,x)`, err: "uuid"},
		{in: `("[-infinity,infinity)",Opstaaet,` + actor + `)`, err: "too few"},
		{in: `("[-infinity,infinity)",Opstaaet,` + actor + `,x,y)`, err: "too many"},
		{in: `("[-infinity,infinity)",Opstaaet,` + actor + `,"x)`, err: "syntax"},
		{in: `"[-infinity,infinity)",Opstaaet,` + actor + `,x`, err: "syntax"},
		{in: `("[-infinity,infinity",Opstaaet,` + actor + `,x)`, err: "syntax"},
		{in: `(x,,,)`, err: "syntax"},
	}
	for _, tc := range reg {
		p, mid, note, err := textComposite([]byte(tc.in), registreringUUID)
		got := lora.Registrering{Period: p, Lifecycle: lora.Lifecycle(mid[0]), Actor: mid[1], Note: note}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %+v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !samePeriod(got.Period, tc.want.Period) || got.Lifecycle != tc.want.Lifecycle ||
			got.Actor != tc.want.Actor || got.Note != tc.want.Note {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
	virk := []struct {
		in   string
		want lora.Virkning
	}{
		{`("[""2026-01-01 00:00:00+01"",""2026-06-01 00:00:00+02"")",,,"")`, lora.Virkning{Period: mo.Period{From: jan1, To: jun1}}},
		{`("[-infinity,infinity)",,,"")`, lora.Virkning{Period: mo.Always}},
		{`("[-infinity,infinity)",` + actor + `,Bruger,"a, b")`, lora.Virkning{Period: mo.Always, Actor: actor, ActorType: "Bruger", Note: "a, b"}},
	}
	for _, tc := range virk {
		p, mid, note, err := textComposite([]byte(tc.in), virkningUUID)
		got := lora.Virkning{Period: p, Actor: mid[0], ActorType: mid[1], Note: note}
		if err != nil || !samePeriod(got.Period, tc.want.Period) || got.Actor != tc.want.Actor ||
			got.ActorType != tc.want.ActorType || got.Note != tc.want.Note {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
	if _, _, _, err := textComposite([]byte(`("[-infinity,infinity)",Bruger,`+actor+`,x)`), virkningUUID); err == nil {
		t.Error("virkning with the enum where the uuid belongs accepted")
	}
}

func TestParseTextArray(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`{}`, []string{}},
		{`{a,b}`, []string{"a", "b"}},
		{`{"a b","c\"d",NULL,"NULL","e\\f"}`, []string{"a b", `c"d`, "", "NULL", `e\f`}},
		{`[0:1]={a,b}`, []string{"a", "b"}},
		{`{ a , b }`, []string{"a", "b"}},
	}
	for _, tc := range cases {
		got, err := parseTextArray([]byte(tc.in))
		if err != nil || got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{``, `{`, `{a`, `a`, `{{a},{b}}`, `{"a}`, `{a}x`, `{a"b}`} {
		if got, err := parseTextArray([]byte(in)); err == nil {
			t.Errorf("%s: got %q, want an error", in, got)
		}
	}
}

func TestParseInt(t *testing.T) {
	cases := []struct {
		in   string
		bits uint
		want int64
		err  error
	}{
		{"0", 64, 0, nil},
		{"370000", 32, 370000, nil},
		{"-32768", 16, -32768, nil},
		{"32767", 16, 32767, nil},
		{"32768", 16, 0, errRange},
		{"9223372036854775807", 64, 9223372036854775807, nil},
		{"-9223372036854775808", 64, -9223372036854775808, nil},
		{"9223372036854775808", 64, 0, errRange},
		{"99999999999999999999999", 64, 0, errRange},
		{"", 64, 0, errSyntax},
		{"-", 64, 0, errSyntax},
		{"1a", 64, 0, errSyntax},
		{"1.5", 64, 0, errSyntax},
	}
	for _, tc := range cases {
		got, err := parseInt([]byte(tc.in), tc.bits)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%q/%d: got %d, %v; want %d, %v", tc.in, tc.bits, got, err, tc.want, tc.err)
		}
	}
}

func TestParseUUID(t *testing.T) {
	for _, in := range []string{actor, strings.ToUpper(actor), "00000000-0000-0000-0000-000000000000"} {
		u, err := parseUUID([]byte(in))
		if err != nil || u.String() != strings.ToLower(in) {
			t.Errorf("%s: got %v, %v", in, u, err)
		}
	}
	for _, in := range []string{"", actor[:35], actor + "0", "{" + actor[1:35] + "}", strings.ReplaceAll(actor, "-", "_"),
		"de7e104e-baad-c0de-6465-76656c6f706g", "de7e104e0baad-c0de-6465-76656c6f7065"} {
		if u, err := parseUUID([]byte(in)); err == nil {
			t.Errorf("%q: got %v, want an error", in, u)
		}
	}
}
