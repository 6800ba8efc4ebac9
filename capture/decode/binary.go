package decode

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// This file parses the binary send formats (pgoutput binary 'true') of the
// types the decoder knows.

// pgEpoch is 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch, in Unix
// seconds.
const pgEpoch = 946684800

// The flags byte of a binary range (rangetypes.h).
const (
	rangeEmpty   = 0x01
	rangeLBInc   = 0x02
	rangeUBInc   = 0x04
	rangeLBInf   = 0x08
	rangeUBInf   = 0x10
	rangeLBNull  = 0x20
	rangeUBNull  = 0x40
	rangeNoLower = rangeEmpty | rangeLBInf | rangeLBNull
	rangeNoUpper = rangeEmpty | rangeUBInf | rangeUBNull
)

func binLen(what string, b []byte, n int) error {
	if len(b) != n {
		return fmt.Errorf("%w: binary %s has %d bytes, want %d", errSyntax, what, len(b), n)
	}
	return nil
}

// binInt reads int2, int4 or int8.
func binInt(b []byte, k kind) (int64, error) {
	switch k {
	case kindInt2:
		if err := binLen("int2", b, 2); err != nil {
			return 0, err
		}
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case kindInt4:
		if err := binLen("int4", b, 4); err != nil {
			return 0, err
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	}
	if err := binLen("int8", b, 8); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func binBool(b []byte) (bool, error) {
	if err := binLen("bool", b, 1); err != nil {
		return false, err
	}
	return b[0] != 0, nil
}

// binTimestamp reads microseconds since 2000-01-01 (UTC for timestamptz,
// wall clock for timestamp, which is placed in mo.Location). The largest
// and smallest int64 are infinity and -infinity.
func binTimestamp(b []byte, zone bool) (time.Time, error) {
	if err := binLen("timestamp", b, 8); err != nil {
		return time.Time{}, err
	}
	us := int64(binary.BigEndian.Uint64(b))
	switch us {
	case math.MaxInt64:
		return mo.PosInf, nil
	case math.MinInt64:
		return mo.NegInf, nil
	}
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	t := time.Unix(pgEpoch+sec, frac*1000)
	if zone {
		return t.In(mo.Location), nil
	}
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), mo.Location), nil
}

// binRange reads a tstzrange: a flags byte, then int32 length and value of
// each bound that is present.
func binRange(b []byte) (mo.Period, error) {
	if len(b) < 1 {
		return mo.Period{}, fmt.Errorf("%w: empty binary range", errSyntax)
	}
	flags := b[0]
	b = b[1:]
	if flags&rangeEmpty != 0 {
		if len(b) != 0 {
			return mo.Period{}, fmt.Errorf("%w: binary empty range with bounds", errSyntax)
		}
		return mo.Period{}, nil
	}
	bound := func() (time.Time, error) {
		if len(b) < 4 {
			return time.Time{}, fmt.Errorf("%w: truncated binary range", errSyntax)
		}
		n := int32(binary.BigEndian.Uint32(b))
		if n < 0 || int(n) > len(b)-4 {
			return time.Time{}, fmt.Errorf("%w: binary range bound length %d", errSyntax, n)
		}
		v := b[4 : 4+n]
		b = b[4+n:]
		return binTimestamp(v, true)
	}
	lower, upper := mo.NegInf, mo.PosInf
	var err error
	if flags&rangeNoLower == 0 {
		if lower, err = bound(); err != nil {
			return mo.Period{}, fmt.Errorf("range lower bound: %w", err)
		}
	}
	if flags&rangeNoUpper == 0 {
		if upper, err = bound(); err != nil {
			return mo.Period{}, fmt.Errorf("range upper bound: %w", err)
		}
	}
	if len(b) != 0 {
		return mo.Period{}, fmt.Errorf("%w: %d trailing bytes in binary range", errSyntax, len(b))
	}
	return period(lower, flags&rangeLBInc != 0, upper, flags&rangeUBInc != 0), nil
}

// binMultirange reads a tstzmultirange: int32 count, then int32 length and
// range per element.
func binMultirange(b []byte) ([]mo.Period, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: truncated binary multirange", errSyntax)
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n)*5 > uint64(len(b)) { // each range needs 4+1 bytes at least
		return nil, fmt.Errorf("%w: binary multirange claims %d ranges in %d bytes", errSyntax, n, len(b))
	}
	out := make([]mo.Period, 0, n)
	for i := uint32(0); i < n; i++ {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: truncated binary multirange", errSyntax)
		}
		l := int32(binary.BigEndian.Uint32(b))
		if l < 0 || int(l) > len(b)-4 {
			return nil, fmt.Errorf("%w: binary multirange element length %d", errSyntax, l)
		}
		r, err := binRange(b[4 : 4+l])
		if err != nil {
			return nil, fmt.Errorf("multirange element %d: %w", i, err)
		}
		b = b[4+l:]
		if !r.Empty() {
			out = append(out, r)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes in binary multirange", errSyntax, len(b))
	}
	return out, nil
}

// binRecord iterates over a composite's binary form: int32 field count, then
// per field uint32 type oid, int32 length (-1 for NULL) and the value.
type binRecord struct {
	b    []byte
	n, i int
}

func newBinRecord(b []byte) (binRecord, error) {
	if len(b) < 4 {
		return binRecord{}, fmt.Errorf("%w: truncated binary record", errSyntax)
	}
	n := int32(binary.BigEndian.Uint32(b))
	if n < 0 || int64(n)*8 > int64(len(b)-4) {
		return binRecord{}, fmt.Errorf("%w: binary record claims %d fields in %d bytes", errSyntax, n, len(b)-4)
	}
	return binRecord{b: b[4:], n: int(n)}, nil
}

// next returns the next field's type oid and value.
func (r *binRecord) next() (oid uint32, val []byte, null bool, err error) {
	if r.i >= r.n {
		return 0, nil, false, fmt.Errorf("%w: binary record has %d fields, want more", errSyntax, r.n)
	}
	r.i++
	if len(r.b) < 8 {
		return 0, nil, false, fmt.Errorf("%w: truncated binary record", errSyntax)
	}
	oid = binary.BigEndian.Uint32(r.b)
	l := int32(binary.BigEndian.Uint32(r.b[4:]))
	r.b = r.b[8:]
	if l == -1 {
		return oid, nil, true, nil
	}
	if l < 0 || int(l) > len(r.b) {
		return 0, nil, false, fmt.Errorf("%w: binary record field length %d", errSyntax, l)
	}
	val, r.b = r.b[:l], r.b[l:]
	return oid, val, false, nil
}

// end checks that every field was read.
func (r *binRecord) end() error {
	if r.i != r.n || len(r.b) != 0 {
		return fmt.Errorf("%w: binary record has %d fields, %d read, %d bytes left", errSyntax, r.n, r.i, len(r.b))
	}
	return nil
}

// binTextArray reads a one-dimensional array of a text type: int32 ndim,
// int32 has-nulls flag, uint32 element oid, per dimension int32 size and
// lower bound, then per element int32 length (-1 for NULL) and bytes. NULL
// elements become "".
func binTextArray(b []byte) ([]string, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("%w: truncated binary array", errSyntax)
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	elem := binary.BigEndian.Uint32(b[8:])
	b = b[12:]
	if ndim == 0 {
		if len(b) != 0 {
			return nil, fmt.Errorf("%w: trailing bytes in empty binary array", errSyntax)
		}
		return []string{}, nil
	}
	if ndim != 1 {
		return nil, fmt.Errorf("%w: binary array has %d dimensions, want 1", errSyntax, ndim)
	}
	if k, _ := resolve(elem, nil); k != kindText {
		return nil, fmt.Errorf("%w: binary array of element type %d, want a text type", errSyntax, elem)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: truncated binary array", errSyntax)
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[8:]
	if n < 0 || int64(n)*4 > int64(len(b)) {
		return nil, fmt.Errorf("%w: binary array claims %d elements in %d bytes", errSyntax, n, len(b))
	}
	out := make([]string, 0, n)
	for i := int32(0); i < n; i++ {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: truncated binary array", errSyntax)
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l == -1 {
			out = append(out, "")
			continue
		}
		if l < 0 || int(l) > len(b) {
			return nil, fmt.Errorf("%w: binary array element length %d", errSyntax, l)
		}
		out = append(out, string(b[:l]))
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes in binary array", errSyntax, len(b))
	}
	return out, nil
}
