package mo

import (
	"testing"
	"time"
)

func d(s string) *Date { x := Date(s); return &x }

// TestValidityPeriod: MO's inclusive last day is the store's exclusive next
// local midnight, across daylight saving changes.
func TestValidityPeriod(t *testing.T) {
	for _, tc := range []struct {
		v        Validity
		from, to string // RFC 3339 or "" for infinity
	}{
		{Validity{From: d("2026-01-01"), To: d("2026-05-30")}, "2026-01-01T00:00:00+01:00", "2026-05-31T00:00:00+02:00"},
		{Validity{From: d("2026-03-28"), To: d("2026-03-28")}, "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"},
		{Validity{From: d("2026-03-29"), To: d("2026-03-29")}, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
		{Validity{From: d("2026-10-25")}, "2026-10-25T00:00:00+02:00", ""},
		{Validity{}, "", ""},
	} {
		p := tc.v.Period()
		check := func(got time.Time, want string, inf func(time.Time) bool) {
			if want == "" {
				if !inf(got) {
					t.Errorf("%+v: %v, want infinity", tc.v, got)
				}
				return
			}
			w, _ := time.Parse(time.RFC3339, want)
			if !got.Equal(w) {
				t.Errorf("%+v: %v, want %v", tc.v, got, w)
			}
		}
		check(p.From, tc.from, IsNegInf)
		check(p.To, tc.to, IsPosInf)
		back := ValidityOf(p)
		if (back.From == nil) != (tc.v.From == nil) || (back.To == nil) != (tc.v.To == nil) ||
			(back.From != nil && *back.From != *tc.v.From) || (back.To != nil && *back.To != *tc.v.To) {
			t.Errorf("round trip %+v -> %+v", tc.v, back)
		}
	}
	if err := (Validity{From: d("2026-02-30")}).Validate(); err == nil {
		t.Error("2026-02-30 accepted")
	}
	if err := (Validity{From: d("2026-02-02"), To: d("2026-02-01")}).Validate(); err == nil {
		t.Error("from after to accepted")
	}
}

func version(from, to string, f map[string]any) Version {
	v := Validity{}
	if from != "" {
		v.From = d(from)
	}
	if to != "" {
		v.To = d(to)
	}
	return Version{Validity: v, Period: v.Period(), Fields: f}
}

// TestChanged: changed lists fields whose values differ anywhere in
// validity time, and "validity" when the valid periods differ.
func TestChanged(t *testing.T) {
	a := &Object{Validities: []Version{version("2020-01-01", "", map[string]any{"org_unit": "A", "job_function": "J"})}}
	b := &Object{Validities: []Version{
		version("2020-01-01", "2026-10-31", map[string]any{"org_unit": "A", "job_function": "J"}),
		version("2026-11-01", "", map[string]any{"org_unit": "B", "job_function": "J"}),
	}}
	c := &Object{Validities: []Version{version("2020-01-01", "2026-12-31", map[string]any{"org_unit": "A", "job_function": "J"})}}
	l1 := &Object{Validities: []Version{version("2020-01-01", "", map[string]any{"engagements": []string{"x", "y"}})}}
	l2 := &Object{Validities: []Version{version("2020-01-01", "", map[string]any{"engagements": []string{"x"}})}}
	for _, tc := range []struct {
		name       string
		prev, next *Object
		want       string
	}{
		{"move from a date", a, b, "[org_unit]"},
		{"terminate", a, c, "[validity]"},
		{"create", nil, a, "[job_function org_unit validity]"},
		{"same", a, a, "[]"},
		{"list", l1, l2, "[engagements]"},
	} {
		got := Changed(tc.prev, tc.next)
		if s := "[" + join(got) + "]"; s != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, s, tc.want)
		}
	}
}

func join(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
