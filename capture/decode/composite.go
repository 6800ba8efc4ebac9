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
