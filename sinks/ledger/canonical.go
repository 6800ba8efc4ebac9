package ledger

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The canonical encoding (docs/ledger.md, "Canonical encoding") is JSON
// restricted so that every record has exactly one byte form:
//
//   - UTF-8, no byte order mark, no whitespace outside strings;
//   - object members sorted by key (byte order; all keys are ASCII);
//   - strings escape only '"', '\' and the control characters U+0000 to
//     U+001F: \b \t \n \f \r by name, the others as \u00xx (lower-case hex);
//     every other character, including non-ASCII, U+007F and U+2028, is
//     written as its UTF-8 bytes;
//   - numbers are integers in decimal without sign (unless negative),
//     leading zeros, fraction or exponent;
//   - every field of the record's kind is present, lists as [] when empty.
//
// That is exactly what Python's
// json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
// writes, which is how an auditor reproduces it without our code.

// member is one key/value of a canonical object. Values are string, int64,
// uint64, []string or object.
type member struct {
	key string
	val any
}

// object is a canonical JSON object; encoding sorts its members.
type object []member

// canonical returns the canonical encoding of o.
func canonical(o object) []byte {
	return appendObject(make([]byte, 0, 512), o)
}

func byKey(x, y member) int { return strings.Compare(x.key, y.key) }

func appendObject(b []byte, o object) []byte {
	sorted := o
	if !slices.IsSortedFunc(o, byKey) {
		sorted = slices.Clone(o)
		slices.SortFunc(sorted, byKey)
	}
	b = append(b, '{')
	for i, m := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		b = appendValue(b, m.val)
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case object:
		return appendObject(b, v)
	}
	// A programming error: records are built from the types above only.
	panic("ledger: canonical encoding of unsupported type")
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a canonical JSON string. s must be valid UTF-8
// (records are built with clean); invalid bytes are written as they are.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is pending, needs no escape
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// clean makes s valid UTF-8 (invalid bytes become U+FFFD) so that the record
// has one canonical form that every JSON reader agrees on.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}

// TimeLayout is the canonical time form: RFC 3339 in UTC with exactly six
// fractional digits (microseconds, PostgreSQL's precision) and "Z".
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime returns t in TimeLayout; sub-microsecond digits are truncated.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(TimeLayout)
}
