package decode

import (
	"errors"
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// This file parses PostgreSQL's text output of the types the decoder knows,
// without allocating except for returned strings and slices.

var (
	errSyntax = errors.New("syntax error")
	errRange  = errors.New("value out of range")
)

func syntaxf(what string, b []byte) error {
	// Copy b, so that callers may pass stack buffers: an error that held b
	// would move them to the heap.
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return fmt.Errorf("%w in %s %q", errSyntax, what, s)
}

// parseInt parses a decimal integer that must fit into bits bits.
func parseInt(b []byte, bits uint) (int64, error) {
	neg := false
	i := 0
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	if i == len(b) {
		return 0, syntaxf("integer", b)
	}
	limit := uint64(1) << (bits - 1) // |min|; max is limit-1
	var n uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, syntaxf("integer", b)
		}
		n = n*10 + uint64(c)
		if n > limit {
			return 0, fmt.Errorf("%w: integer %q", errRange, string(b))
		}
	}
	if neg {
		return -int64(n), nil //nolint:gosec // n <= limit, so -n fits
	}
	if n == limit {
		return 0, fmt.Errorf("%w: integer %q", errRange, string(b))
	}
	return int64(n), nil
}

// parseBool parses bool output (t/f) and the long forms.
func parseBool(b []byte) (bool, error) {
	switch string(b) {
	case "t", "true":
		return true, nil
	case "f", "false":
		return false, nil
	}
	return false, syntaxf("bool", b)
}

// cursor reads fixed-format text; the first failure sticks.
type cursor struct {
	b   []byte
	p   int
	bad bool
}

// num reads between min and max decimal digits.
func (c *cursor) num(min, max int) int {
	n, start := 0, c.p
	for c.p < len(c.b) && c.p-start < max && c.b[c.p] >= '0' && c.b[c.p] <= '9' {
		n = n*10 + int(c.b[c.p]-'0')
		c.p++
	}
	if c.p-start < min {
		c.bad = true
	}
	return n
}

// lit consumes byte ch.
func (c *cursor) lit(ch byte) {
	if c.p < len(c.b) && c.b[c.p] == ch {
		c.p++
		return
	}
	c.bad = true
}

// peek reports whether the next byte is ch.
func (c *cursor) peek(ch byte) bool { return c.p < len(c.b) && c.b[c.p] == ch }

var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// parseTimestamp parses timestamptz output (zone) or timestamp output in
// DateStyle ISO: "2026-11-25 19:20:07.357057+01", offsets as +HH, +HH:MM or
// +HH:MM:SS, an optional " BC", and the infinities. timestamp values are
// wall-clock times in mo.Location.
func parseTimestamp(b []byte, zone bool) (time.Time, error) {
	switch string(b) {
	case "infinity":
		return mo.PosInf, nil
	case "-infinity":
		return mo.NegInf, nil
	}
	c := cursor{b: b}
	year := c.num(4, 9)
	c.lit('-')
	month := c.num(2, 2)
	c.lit('-')
	day := c.num(2, 2)
	c.lit(' ')
	hour := c.num(2, 2)
	c.lit(':')
	minute := c.num(2, 2)
	c.lit(':')
	sec := c.num(2, 2)
	nsec := 0
	if c.peek('.') {
		c.p++
		start := c.p
		nsec = c.num(1, 9)
		for i := c.p - start; i < 9; i++ {
			nsec *= 10
		}
	}
	off := 0
	if zone {
		sign := 1
		switch {
		case c.peek('+'):
		case c.peek('-'):
			sign = -1
		default:
			c.bad = true
		}
		c.p++
		off = c.num(2, 2) * 3600
		if c.peek(':') {
			c.p++
			off += c.num(2, 2) * 60
			if c.peek(':') {
				c.p++
				off += c.num(2, 2)
			}
		}
		off *= sign
	}
	if len(b)-c.p == 3 && string(b[c.p:]) == " BC" {
		year = 1 - year
		c.p += 3
	}
	if c.bad || c.p != len(b) {
		return time.Time{}, syntaxf("timestamp", b)
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn[month] ||
		(month == 2 && day == 29 && !leap(year)) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("%w: timestamp %q", errRange, string(b))
	}
	if !zone {
		return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, mo.Location), nil
	}
	u := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix() - int64(off)
	return time.Unix(u, int64(nsec)).In(mo.Location), nil
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// period turns parsed range bounds into a half-open mo.Period. timestamptz
// has microsecond resolution, so an exclusive lower or inclusive upper bound
// is exact after moving it by one microsecond. Infinite bounds stay put.
func period(lower time.Time, lowerInc bool, upper time.Time, upperInc bool) mo.Period {
	if !lowerInc && !mo.IsNegInf(lower) && !mo.IsPosInf(lower) {
		lower = lower.Add(time.Microsecond)
	}
	if upperInc && !mo.IsNegInf(upper) && !mo.IsPosInf(upper) {
		upper = upper.Add(time.Microsecond)
	}
	return mo.Period{From: lower, To: upper}
}

// parseRange parses tstzrange output. The empty range is the zero Period
// (Period.Empty reports true).
func parseRange(b []byte) (mo.Period, error) {
	p, n, err := scanRange(b, 0)
	if err != nil {
		return mo.Period{}, err
	}
	if n != len(b) {
		return mo.Period{}, syntaxf("range", b)
	}
	return p, nil
}

// scanRange parses the range that starts at b[p] and returns the offset
// after it.
func scanRange(b []byte, p int) (mo.Period, int, error) {
	if len(b)-p >= 5 && string(b[p:p+5]) == "empty" {
		return mo.Period{}, p + 5, nil
	}
	if p >= len(b) || (b[p] != '[' && b[p] != '(') {
		return mo.Period{}, p, syntaxf("range", b)
	}
	lowerInc := b[p] == '['
	var buf [64]byte
	lo, loInf, q, ok := scanBound(b, p+1, buf[:0])
	if !ok || q >= len(b) || b[q] != ',' {
		return mo.Period{}, p, syntaxf("range", b)
	}
	lower := mo.NegInf
	if !loInf {
		t, err := parseTimestamp(lo, true)
		if err != nil {
			return mo.Period{}, p, fmt.Errorf("range lower bound: %w", err)
		}
		lower = t
	}
	hi, hiInf, q, ok := scanBound(b, q+1, buf[:0])
	if !ok || q >= len(b) || (b[q] != ')' && b[q] != ']') {
		return mo.Period{}, p, syntaxf("range", b)
	}
	upperInc := b[q] == ']'
	upper := mo.PosInf
	if !hiInf {
		t, err := parseTimestamp(hi, true)
		if err != nil {
			return mo.Period{}, p, fmt.Errorf("range upper bound: %w", err)
		}
		upper = t
	}
	return period(lower, lowerInc, upper, upperInc), q + 1, nil
}

// scanBound reads one range bound starting at b[p] up to the unquoted
// delimiter (',', ')' or ']') as range_parse_bound does: quotes group,
// "" inside quotes is a quote, backslash escapes the next byte. An empty
// unquoted bound is unbounded. The value is b's own bytes when nothing
// needed unescaping, else it is built in buf.
func scanBound(b []byte, p int, buf []byte) (val []byte, unbounded bool, next int, ok bool) {
	if p < len(b) && (b[p] == ',' || b[p] == ')' || b[p] == ']') {
		return nil, true, p, true
	}
	// Fast path: a plain or simply quoted bound.
	if p < len(b) && b[p] == '"' {
		for q := p + 1; q < len(b); q++ {
			if b[q] == '\\' {
				break
			}
			if b[q] == '"' {
				if q+1 < len(b) && (b[q+1] == ',' || b[q+1] == ')' || b[q+1] == ']') {
					return b[p+1 : q], false, q + 1, true
				}
				break
			}
		}
	} else {
		for q := p; q < len(b) && b[q] != '"' && b[q] != '\\'; q++ {
			if b[q] == ',' || b[q] == ')' || b[q] == ']' {
				return b[p:q], false, q, true
			}
		}
	}
	inQuote := false
	for ; p < len(b); p++ {
		ch := b[p]
		switch {
		case ch == '\\':
			p++
			if p == len(b) {
				return nil, false, p, false
			}
			buf = append(buf, b[p])
		case ch == '"':
			if inQuote && p+1 < len(b) && b[p+1] == '"' {
				buf = append(buf, '"')
				p++
			} else {
				inQuote = !inQuote
			}
		case !inQuote && (ch == ',' || ch == ')' || ch == ']'):
			return buf, false, p, true
		default:
			buf = append(buf, ch)
		}
	}
	return nil, false, p, false
}

func isSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'
}

func skipSpace(b []byte, p int) int {
	for p < len(b) && isSpace(b[p]) {
		p++
	}
	return p
}

// parseMultirange parses tstzmultirange output: {} or {range,range,...}.
func parseMultirange(b []byte) ([]mo.Period, error) {
	p := skipSpace(b, 0)
	if p >= len(b) || b[p] != '{' {
		return nil, syntaxf("multirange", b)
	}
	out := []mo.Period{}
	p = skipSpace(b, p+1)
	if p < len(b) && b[p] == '}' {
		p++
	} else {
		for {
			r, q, err := scanRange(b, p)
			if err != nil {
				return nil, fmt.Errorf("multirange: %w", err)
			}
			if !r.Empty() {
				out = append(out, r)
			}
			p = skipSpace(b, q)
			if p >= len(b) {
				return nil, syntaxf("multirange", b)
			}
			if b[p] == '}' {
				p++
				break
			}
			if b[p] != ',' {
				return nil, syntaxf("multirange", b)
			}
			p = skipSpace(b, p+1)
		}
	}
	if skipSpace(b, p) != len(b) {
		return nil, syntaxf("multirange", b)
	}
	return out, nil
}

// parseTextArray parses a one-dimensional array's text output. NULL
// elements become "".
func parseTextArray(b []byte) ([]string, error) {
	p := skipSpace(b, 0)
	if p < len(b) && b[p] == '[' { // explicit bounds: [1:3]={...}
		for p < len(b) && b[p] != '=' {
			p++
		}
		p = skipSpace(b, p+1)
	}
	if p >= len(b) || b[p] != '{' {
		return nil, syntaxf("array", b)
	}
	out := []string{}
	p = skipSpace(b, p+1)
	if p < len(b) && b[p] == '}' {
		p++
	} else {
		var buf []byte
		for {
			p = skipSpace(b, p)
			if p >= len(b) || b[p] == '{' {
				return nil, fmt.Errorf("array: not one-dimensional: %w", syntaxf("array", b))
			}
			buf = buf[:0]
			quoted := false
			if b[p] == '"' {
				quoted = true
				p++
				for ; p < len(b) && b[p] != '"'; p++ {
					if b[p] == '\\' {
						p++
						if p == len(b) {
							break
						}
					}
					buf = append(buf, b[p])
				}
				if p >= len(b) {
					return nil, syntaxf("array", b)
				}
				p++
			} else {
				for ; p < len(b) && b[p] != ',' && b[p] != '}'; p++ {
					if b[p] == '\\' {
						p++
						if p == len(b) {
							break
						}
					} else if b[p] == '"' || b[p] == '{' {
						return nil, syntaxf("array", b)
					}
					buf = append(buf, b[p])
				}
				for len(buf) > 0 && isSpace(buf[len(buf)-1]) {
					buf = buf[:len(buf)-1]
				}
			}
			if !quoted && len(buf) == 4 && (string(buf) == "NULL" || string(buf) == "null") {
				out = append(out, "")
			} else {
				out = append(out, string(buf))
			}
			p = skipSpace(b, p)
			if p >= len(b) {
				return nil, syntaxf("array", b)
			}
			if b[p] == '}' {
				p++
				break
			}
			if b[p] != ',' {
				return nil, syntaxf("array", b)
			}
			p++
		}
	}
	if skipSpace(b, p) != len(b) {
		return nil, syntaxf("array", b)
	}
	return out, nil
}
