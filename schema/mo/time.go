package mo

import (
	"fmt"
	"time"
)

// Location is the time zone MO validity dates are cut in. MO stores whole
// days as local midnights in Europe/Copenhagen.
var Location = mustLoad("Europe/Copenhagen")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("mo: load time zone %s: %v (install tzdata)", name, err))
	}
	return loc
}

// NegInf and PosInf stand for PostgreSQL's -infinity and infinity. They are
// ordinary time.Time values, so periods compare with Before/After/Equal.
var (
	NegInf = time.Date(-4712, 1, 1, 0, 0, 0, 0, time.UTC)
	PosInf = time.Date(294276, 12, 31, 0, 0, 0, 0, time.UTC)
)

// IsNegInf and IsPosInf report whether t is one of the infinities.
func IsNegInf(t time.Time) bool { return !t.After(NegInf) }

// IsPosInf reports whether t is +infinity.
func IsPosInf(t time.Time) bool { return !t.Before(PosInf) }

// Period is a half-open time range [From, To), as LoRa's tstzrange columns
// hold it. From may be NegInf, To may be PosInf.
type Period struct {
	From time.Time
	To   time.Time
}

// Always is (-infinity, infinity), the validity of most classes and facets.
var Always = Period{From: NegInf, To: PosInf}

// Contains reports whether t lies inside p.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.From) && t.Before(p.To)
}

// Empty reports whether p holds no instant.
func (p Period) Empty() bool { return !p.From.Before(p.To) }

// Overlaps reports whether p and q share an instant.
func (p Period) Overlaps(q Period) bool {
	return p.From.Before(q.To) && q.From.Before(p.To)
}

// Intersect returns the common part of p and q (possibly empty).
func (p Period) Intersect(q Period) Period {
	r := p
	if q.From.After(r.From) {
		r.From = q.From
	}
	if q.To.Before(r.To) {
		r.To = q.To
	}
	return r
}

// Date is an MO validity date: a whole day in Europe/Copenhagen, written
// YYYY-MM-DD. The zero Date means "open" (no bound).
type Date string

// Day returns the local midnight that starts date d. It panics on a
// malformed date; use ParseDate for input.
func (d Date) Day() time.Time {
	t, err := ParseDate(string(d))
	if err != nil {
		panic(err)
	}
	return t
}

// ParseDate parses YYYY-MM-DD as local midnight in Europe/Copenhagen.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Location)
	if err != nil {
		return time.Time{}, fmt.Errorf("mo date %q: want YYYY-MM-DD: %w", s, err)
	}
	return t, nil
}

// DateOf returns the day (in Europe/Copenhagen) that contains t.
func DateOf(t time.Time) Date {
	return Date(t.In(Location).Format(time.DateOnly))
}

// Validity is an MO validity as OS2mo's GraphQL shows it: From is the first
// day, To the LAST day (inclusive); nil means open. The store keeps the same
// period as [From 00:00, To+1 00:00) local time.
type Validity struct {
	From *Date `json:"from"`
	To   *Date `json:"to"`
}

// ValidityOf converts a store period to an MO validity. Bounds that are not
// local midnights are cut to the day that contains them.
func ValidityOf(p Period) Validity {
	var v Validity
	if !IsNegInf(p.From) {
		d := DateOf(p.From)
		v.From = &d
	}
	if !IsPosInf(p.To) {
		d := DateOf(p.To.Add(-time.Nanosecond))
		v.To = &d
	}
	return v
}

// Validate checks that the bounds are dates and from is not after to.
func (v Validity) Validate() error {
	var from, to time.Time
	var err error
	if v.From != nil {
		if from, err = ParseDate(string(*v.From)); err != nil {
			return fmt.Errorf("validity from: %w", err)
		}
	}
	if v.To != nil {
		if to, err = ParseDate(string(*v.To)); err != nil {
			return fmt.Errorf("validity to: %w", err)
		}
	}
	if v.From != nil && v.To != nil && to.Before(from) {
		return fmt.Errorf("validity from %s is after to %s", *v.From, *v.To)
	}
	return nil
}

// Period converts an MO validity to the store's half-open period. The
// validity must be valid (see Validate).
func (v Validity) Period() Period {
	p := Always
	if v.From != nil {
		p.From = v.From.Day()
	}
	if v.To != nil {
		p.To = v.To.Day().AddDate(0, 0, 1)
		// AddDate keeps the wall clock, so DST changes are handled: the
		// result is the next local midnight.
	}
	return p
}
