package decode

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The typed getters. Each checks the column's type first (ErrWrongType),
// then NULL (zero value, null == true), then parses the bytes in the format
// the server sent.

// check finds column col, requires one of kinds and reports NULL.
func (t *Tuple) check(col, getter, want string, kinds ...kind) (int, field, bool, error) {
	i, f, err := t.lookup(col)
	if i < 0 {
		return i, f, false, err
	}
	k := t.rel.Columns[i].kind
	ok := false
	for _, w := range kinds {
		ok = ok || k == w
	}
	if !ok {
		return i, f, false, t.wrongType(i, getter, want)
	}
	if err != nil {
		return i, f, false, err
	}
	return i, f, f.kind == 'n', nil
}

func (t *Tuple) bytes(f field) []byte { return t.data[f.off:f.end] }

// Text returns the value as text. Every type works in text format; in binary
// format text types, enums, json/jsonb, uuid, integers and bool do.
func (t *Tuple) Text(col string) (string, bool, error) {
	i, f, err := t.lookup(col)
	if err != nil || f.kind == 'n' {
		return "", err == nil, err
	}
	return t.textAt(i, f)
}

func (t *Tuple) textAt(i int, f field) (string, bool, error) {
	b := t.bytes(f)
	if f.kind == 't' {
		return string(b), false, nil
	}
	switch k := t.rel.Columns[i].kind; k {
	case kindText, kindEnum, kindJSON:
		return string(b), false, nil
	case kindJSONB:
		v, err := binJSONB(b)
		if err != nil {
			return "", false, t.errAt(i, err)
		}
		return string(v), false, nil
	case kindUUID:
		u, err := t.uuidAt(i, f)
		return u.String(), false, err
	case kindInt2, kindInt4, kindInt8:
		n, err := binInt(b, k)
		if err != nil {
			return "", false, t.errAt(i, err)
		}
		return strconv.FormatInt(n, 10), false, nil
	case kindBool:
		v, err := binBool(b)
		if err != nil {
			return "", false, t.errAt(i, err)
		}
		if v {
			return "t", false, nil
		}
		return "f", false, nil
	}
	return "", false, t.wrongType(i, "Text", "text format (binary value has no text form here)")
}

// Bytes returns a text, enum or json value's bytes without copying (they
// borrow the message).
func (t *Tuple) Bytes(col string) ([]byte, bool, error) {
	i, f, null, err := t.check(col, "Bytes", "a text type, enum or json", kindText, kindEnum, kindJSON, kindJSONB)
	if err != nil || null {
		return nil, null, err
	}
	b := t.bytes(f)
	if f.kind == 'b' && t.rel.Columns[i].kind == kindJSONB {
		if b, err = binJSONB(b); err != nil {
			return nil, false, t.errAt(i, err)
		}
	}
	return b, false, nil
}

// UUID returns a uuid value.
func (t *Tuple) UUID(col string) (uuid.UUID, bool, error) {
	i, f, null, err := t.check(col, "UUID", "uuid", kindUUID)
	if err != nil || null {
		return uuid.UUID{}, null, err
	}
	u, err := t.uuidAt(i, f)
	return u, false, err
}

func (t *Tuple) uuidAt(i int, f field) (uuid.UUID, error) {
	b := t.bytes(f)
	if f.kind == 'b' {
		if len(b) != 16 {
			return uuid.UUID{}, t.errAt(i, binLen("uuid", b, 16))
		}
		return uuid.UUID(b), nil
	}
	u, err := parseUUID(b)
	if err != nil {
		return uuid.UUID{}, t.errAt(i, err)
	}
	return u, nil
}

// parseUUID parses uuid output: 36 characters, hex digits in any case with
// hyphens at 8, 13, 18 and 23.
func parseUUID(b []byte) (uuid.UUID, error) {
	var u uuid.UUID
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return u, syntaxf("uuid", b)
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
		}
		hi, lo := unhex(b[i]), unhex(b[i+1])
		if hi > 15 || lo > 15 {
			return uuid.UUID{}, syntaxf("uuid", b)
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, nil
}

// unhex returns the value of hex digit c, or 255.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// Int returns an int2, int4 or int8 value.
func (t *Tuple) Int(col string) (int64, bool, error) {
	i, f, null, err := t.check(col, "Int", "int2, int4 or int8", kindInt2, kindInt4, kindInt8)
	if err != nil || null {
		return 0, null, err
	}
	n, err := t.intAt(i, f)
	return n, false, err
}

func (t *Tuple) intAt(i int, f field) (int64, error) {
	k := t.rel.Columns[i].kind
	var n int64
	var err error
	if f.kind == 'b' {
		n, err = binInt(t.bytes(f), k)
	} else {
		bits := uint(64)
		switch k {
		case kindInt2:
			bits = 16
		case kindInt4:
			bits = 32
		}
		n, err = parseInt(t.bytes(f), bits)
	}
	if err != nil {
		return 0, t.errAt(i, err)
	}
	return n, nil
}

// Bool returns a bool value.
func (t *Tuple) Bool(col string) (bool, bool, error) {
	i, f, null, err := t.check(col, "Bool", "bool", kindBool)
	if err != nil || null {
		return false, null, err
	}
	v, err := t.boolAt(i, f)
	return v, false, err
}

func (t *Tuple) boolAt(i int, f field) (bool, error) {
	var v bool
	var err error
	if f.kind == 'b' {
		v, err = binBool(t.bytes(f))
	} else {
		v, err = parseBool(t.bytes(f))
	}
	if err != nil {
		return false, t.errAt(i, err)
	}
	return v, nil
}

// Timestamp returns a timestamptz value (or a timestamp, read as wall clock
// in mo.Location), in mo.Location; the infinities are mo.PosInf and
// mo.NegInf.
func (t *Tuple) Timestamp(col string) (time.Time, bool, error) {
	i, f, null, err := t.check(col, "Timestamp", "timestamptz or timestamp", kindTimestamptz, kindTimestamp)
	if err != nil || null {
		return time.Time{}, null, err
	}
	v, err := t.timestampAt(i, f)
	return v, false, err
}

func (t *Tuple) timestampAt(i int, f field) (time.Time, error) {
	zone := t.rel.Columns[i].kind == kindTimestamptz
	var v time.Time
	var err error
	if f.kind == 'b' {
		v, err = binTimestamp(t.bytes(f), zone)
	} else {
		v, err = parseTimestamp(t.bytes(f), zone)
	}
	if err != nil {
		return time.Time{}, t.errAt(i, err)
	}
	return v, nil
}

// Period returns a tstzrange value as a half-open period. The empty range is
// the zero Period (Empty reports true); unbounded and infinite bounds are
// mo.NegInf and mo.PosInf.
func (t *Tuple) Period(col string) (mo.Period, bool, error) {
	i, f, null, err := t.check(col, "Period", "tstzrange", kindTstzrange)
	if err != nil || null {
		return mo.Period{}, null, err
	}
	v, err := t.periodAt(i, f)
	return v, false, err
}

func (t *Tuple) periodAt(i int, f field) (mo.Period, error) {
	var v mo.Period
	var err error
	if f.kind == 'b' {
		v, err = binRange(t.bytes(f))
	} else {
		v, err = parseRange(t.bytes(f))
	}
	if err != nil {
		return mo.Period{}, t.errAt(i, err)
	}
	return v, nil
}

// Periods returns a tstzmultirange value (such as active_tils) as its
// ranges in order; '{}' is an empty, non-nil slice.
func (t *Tuple) Periods(col string) ([]mo.Period, bool, error) {
	i, f, null, err := t.check(col, "Periods", "tstzmultirange", kindTstzmultirange)
	if err != nil || null {
		return nil, null, err
	}
	v, err := t.periodsAt(i, f)
	return v, false, err
}

func (t *Tuple) periodsAt(i int, f field) ([]mo.Period, error) {
	var v []mo.Period
	var err error
	if f.kind == 'b' {
		v, err = binMultirange(t.bytes(f))
	} else {
		v, err = parseMultirange(t.bytes(f))
	}
	if err != nil {
		return nil, t.errAt(i, err)
	}
	return v, nil
}

// Registrering returns a registreringbase value: system-time period,
// lifecycle, actor (brugerref) and note. NULL fields are zero values.
func (t *Tuple) Registrering(col string) (lora.Registrering, bool, error) {
	i, f, null, err := t.check(col, "Registrering", "registreringbase", kindRegistrering)
	if err != nil || null {
		return lora.Registrering{}, null, err
	}
	v, err := t.registreringAt(i, f)
	return v, false, err
}

func (t *Tuple) registreringAt(i int, f field) (lora.Registrering, error) {
	var r lora.Registrering
	var mid [2]string
	var err error
	if f.kind == 'b' {
		r.Period, mid, r.Note, err = binComposite(t.bytes(f), registreringUUID)
	} else {
		r.Period, mid, r.Note, err = textComposite(t.bytes(f), registreringUUID)
	}
	if err != nil {
		return lora.Registrering{}, t.errAt(i, err)
	}
	r.Lifecycle, r.Actor = lora.Lifecycle(mid[0]), mid[1]
	return r, nil
}

// Virkning returns a virkning value: validity period, actor, actor type and
// note. NULL fields are zero values.
func (t *Tuple) Virkning(col string) (lora.Virkning, bool, error) {
	i, f, null, err := t.check(col, "Virkning", "virkning", kindVirkning)
	if err != nil || null {
		return lora.Virkning{}, null, err
	}
	v, err := t.virkningAt(i, f)
	return v, false, err
}

func (t *Tuple) virkningAt(i int, f field) (lora.Virkning, error) {
	var v lora.Virkning
	var mid [2]string
	var err error
	if f.kind == 'b' {
		v.Period, mid, v.Note, err = binComposite(t.bytes(f), virkningUUID)
	} else {
		v.Period, mid, v.Note, err = textComposite(t.bytes(f), virkningUUID)
	}
	if err != nil {
		return lora.Virkning{}, t.errAt(i, err)
	}
	v.Actor, v.ActorType = mid[0], mid[1]
	return v, nil
}

// TextArray returns a one-dimensional text[] or varchar[] value. NULL
// elements become "".
func (t *Tuple) TextArray(col string) ([]string, bool, error) {
	i, f, null, err := t.check(col, "TextArray", "text[] or varchar[]", kindTextArray)
	if err != nil || null {
		return nil, null, err
	}
	v, err := t.textArrayAt(i, f)
	return v, false, err
}

func (t *Tuple) textArrayAt(i int, f field) ([]string, error) {
	var v []string
	var err error
	if f.kind == 'b' {
		v, err = binTextArray(t.bytes(f))
	} else {
		v, err = parseTextArray(t.bytes(f))
	}
	if err != nil {
		return nil, t.errAt(i, err)
	}
	return v, nil
}

// JSON returns a json or jsonb value's text; the bytes borrow the message.
func (t *Tuple) JSON(col string) ([]byte, bool, error) {
	i, f, null, err := t.check(col, "JSON", "json or jsonb", kindJSON, kindJSONB)
	if err != nil || null {
		return nil, null, err
	}
	b := t.bytes(f)
	if f.kind == 'b' && t.rel.Columns[i].kind == kindJSONB {
		if b, err = binJSONB(b); err != nil {
			return nil, false, t.errAt(i, err)
		}
	}
	return b, false, nil
}

// binJSONB strips the version byte of jsonb's binary form.
func binJSONB(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != 1 {
		return nil, fmt.Errorf("%w: binary jsonb without version 1", errSyntax)
	}
	return b[1:], nil
}

// Value returns column i decoded by its type, for generic use (dead-letter
// rendering, tests): nil for NULL; string for text types, enums and uuid;
// int64; bool; time.Time; mo.Period; []mo.Period; lora.Registrering;
// lora.Virkning; []string; json.RawMessage; and for other types string (text
// format) or []byte (binary). The result owns its memory.
func (t *Tuple) Value(i int) (any, error) {
	if i < 0 || i >= len(t.fields) {
		return nil, fmt.Errorf("decode %s.%s: no column %d", t.rel.Namespace, t.rel.Name, i)
	}
	f := t.fields[i]
	switch f.kind {
	case 'n':
		return nil, nil
	case 'u':
		return nil, t.errAt(i, ErrUnchanged)
	}
	switch t.rel.Columns[i].kind {
	case kindUUID:
		u, err := t.uuidAt(i, f)
		if err != nil {
			return nil, err
		}
		return u.String(), nil
	case kindInt2, kindInt4, kindInt8:
		return t.intAt(i, f)
	case kindBool:
		return t.boolAt(i, f)
	case kindTimestamptz, kindTimestamp:
		return t.timestampAt(i, f)
	case kindTstzrange:
		return t.periodAt(i, f)
	case kindTstzmultirange:
		return t.periodsAt(i, f)
	case kindRegistrering:
		return t.registreringAt(i, f)
	case kindVirkning:
		return t.virkningAt(i, f)
	case kindTextArray:
		return t.textArrayAt(i, f)
	case kindJSON, kindJSONB:
		b := t.bytes(f)
		if f.kind == 'b' && t.rel.Columns[i].kind == kindJSONB {
			var err error
			if b, err = binJSONB(b); err != nil {
				return nil, t.errAt(i, err)
			}
		}
		return json.RawMessage(append([]byte(nil), b...)), nil
	case kindOther:
		if f.kind == 'b' {
			return append([]byte(nil), t.bytes(f)...), nil
		}
	}
	s, _, err := t.textAt(i, f)
	return s, err
}
