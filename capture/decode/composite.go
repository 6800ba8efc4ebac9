package decode

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// registreringbase and virkning share one shape, a period, a uuid and an
// enum in some order, and a text:
//
//	registreringbase: (timeperiod tstzrange, livscykluskode, brugerref uuid, note text)
//	virkning:         (timeperiod tstzrange, aktoerref uuid, aktoertypekode, notetekst text)
//
// so one parser per format reads both; uuidAt says which of the middle two
// fields (0 or 1) is the uuid. The middle fields come back as text in column
// order, NULL as "".
const (
	registreringUUID = 1 // brugerref is the third field
	virkningUUID     = 0 // aktoerref is the second field
)

// textComposite parses the text output of registreringbase or virkning.
func textComposite(b []byte, uuidAt int) (p mo.Period, mid [2]string, note string, err error) {
	r, err := newRecord(b)
	if err != nil {
		return p, mid, "", err
	}
	var buf [96]byte
	v, null, err := r.next(buf[:0])
	if err != nil {
		return p, mid, "", err
	}
	if !null {
		if p, err = parseRange(v); err != nil {
			return p, mid, "", fmt.Errorf("record field 1: %w", err)
		}
	}
	for k := range mid {
		if v, null, err = r.next(buf[:0]); err != nil {
			return p, mid, "", err
		}
		if null {
			continue
		}
		if k == uuidAt {
			if _, err = parseUUID(v); err != nil {
				return p, mid, "", fmt.Errorf("record field %d: %w", k+2, err)
			}
		}
		mid[k] = internText(v)
	}
	if v, null, err = r.next(buf[:0]); err != nil {
		return p, mid, "", err
	}
	if !null {
		note = string(v)
	}
	return p, mid, note, r.end()
}

// binComposite parses the binary form of registreringbase or virkning.
func binComposite(b []byte, uuidAt int) (p mo.Period, mid [2]string, note string, err error) {
	r, err := newBinRecord(b)
	if err != nil {
		return p, mid, "", err
	}
	oid, v, null, err := r.next()
	if err != nil {
		return p, mid, "", err
	}
	if !null {
		if oid != oidTstzrange {
			return p, mid, "", fmt.Errorf("%w: record field 1 has type oid %d, want tstzrange", errSyntax, oid)
		}
		if p, err = binRange(v); err != nil {
			return p, mid, "", fmt.Errorf("record field 1: %w", err)
		}
	}
	for k := range mid {
		if oid, v, null, err = r.next(); err != nil {
			return p, mid, "", err
		}
		switch {
		case null:
		case k == uuidAt:
			if oid != oidUUID || len(v) != 16 {
				return p, mid, "", fmt.Errorf("%w: record field %d: type oid %d with %d bytes, want a uuid", errSyntax, k+2, oid, len(v))
			}
			mid[k] = uuid.UUID(v).String()
		default:
			mid[k] = internText(v)
		}
	}
	if _, v, null, err = r.next(); err != nil {
		return p, mid, "", err
	}
	if !null {
		note = string(v)
	}
	return p, mid, note, r.end()
}

// internText returns the livscykluskode labels without allocating.
func internText(b []byte) string {
	switch string(b) {
	case "Opstaaet":
		return string(lora.Opstaaet)
	case "Rettet":
		return string(lora.Rettet)
	case "Importeret":
		return string(lora.Importeret)
	case "Passiveret":
		return string(lora.Passiveret)
	case "Slettet":
		return string(lora.Slettet)
	}
	return string(b)
}

// record iterates over the fields of a composite's text output as
// record_in reads it: fields separated by commas, an empty unquoted field is
// NULL, quotes group (with "" a quote inside them) and backslash escapes the
// next byte.
type record struct {
	b    []byte
	p    int
	done bool
}

func newRecord(b []byte) (record, error) {
	p := skipSpace(b, 0)
	if p >= len(b) || b[p] != '(' {
		return record{}, syntaxf("record", b)
	}
	return record{b: b, p: p + 1}, nil
}

// next returns the next field: b's own bytes when nothing needed
// unescaping, else built in buf.
func (r *record) next(buf []byte) (val []byte, null bool, err error) {
	if r.done {
		return nil, false, fmt.Errorf("record has too few fields: %w", syntaxf("record", r.b))
	}
	b, p := r.b, r.p
	if p < len(b) && (b[p] == ',' || b[p] == ')') {
		r.delim(p)
		return nil, true, nil
	}
	// Fast paths: a plain field, or one quoted field without escapes.
	if p < len(b) && b[p] == '"' {
		for q := p + 1; q < len(b); q++ {
			if b[q] == '\\' {
				break
			}
			if b[q] == '"' {
				if q+1 < len(b) && (b[q+1] == ',' || b[q+1] == ')') {
					r.delim(q + 1)
					return b[p+1 : q], false, nil
				}
				break
			}
		}
	} else {
		for q := p; q < len(b); q++ {
			if b[q] == '"' || b[q] == '\\' {
				break
			}
			if b[q] == ',' || b[q] == ')' {
				r.delim(q)
				return b[p:q], false, nil
			}
		}
	}
	inQuote := false
	for p < len(b) {
		// Copy the run up to the next byte that means something.
		q := p
		for q < len(b) && b[q] != '"' && b[q] != '\\' && (inQuote || (b[q] != ',' && b[q] != ')')) {
			q++
		}
		buf = append(buf, b[p:q]...)
		if p = q; p == len(b) {
			break
		}
		switch ch := b[p]; {
		case ch == '\\':
			if p+1 == len(b) {
				return nil, false, syntaxf("record", b)
			}
			buf = append(buf, b[p+1])
			p += 2
		case ch == '"':
			if inQuote && p+1 < len(b) && b[p+1] == '"' {
				buf = append(buf, '"')
				p += 2
			} else {
				inQuote = !inQuote
				p++
			}
		default: // an unquoted delimiter
			r.delim(p)
			return buf, false, nil
		}
	}
	return nil, false, syntaxf("record", b)
}

// delim consumes the delimiter at b[p] that ended a field.
func (r *record) delim(p int) {
	r.done = r.b[p] == ')'
	r.p = p + 1
}

// end checks that every field was read and nothing but space follows.
func (r *record) end() error {
	if !r.done {
		return fmt.Errorf("record has too many fields: %w", syntaxf("record", r.b))
	}
	if skipSpace(r.b, r.p) != len(r.b) {
		return syntaxf("record", r.b)
	}
	return nil
}
