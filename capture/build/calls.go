package build

import (
	"github.com/os2mo-cdc/mocdc/capture/decode"
	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// Calls splits a transaction into OS2mo procedure calls. OS2mo writes one
// object per call: the object row (create) or the closing UPDATE of the
// open registration, the new registration, then that registration's rows.
// A call ends where a registration or object row of another object starts.
// A transaction that follows this pattern can be turned into events call by
// call, in bounded memory, however large it is.
//
// Calls is not safe for concurrent use.
type Calls struct {
	current string
	open    map[regKey]bool
}

// Reset forgets the current call.
func (k *Calls) Reset() {
	k.current = ""
	k.open = map[regKey]bool{}
}

// Starts reports whether row begins a new call (and makes it the current
// one). The first registration or object row of a transaction begins one
// too, but there is nothing before it to finish.
func (k *Calls) Starts(row *decode.Row) (bool, error) {
	if k.open == nil {
		k.Reset()
	}
	if row.Schema() != lora.Schema {
		return false, nil
	}
	ti, ok := tables[row.Table()]
	if !ok {
		return false, nil
	}
	var col string
	switch {
	case ti.part == partObject && row.Op() == decode.OpInsert:
		col = "id"
	case ti.part == partRegistrering:
		col = ti.class.ObjectFK()
	default:
		return false, nil
	}
	uuid, _, err := uuidOf(row, col)
	if err != nil {
		return false, err
	}
	key := ti.class.Name + "/" + uuid
	if key == k.current {
		return false, nil
	}
	started := k.current != ""
	k.current = key
	k.open = map[regKey]bool{}
	return started, nil
}

// InOrder reports whether row fits the call pattern: a registration row
// that belongs to a registration inserted in the current call. Feed every
// row to Starts first.
func (k *Calls) InOrder(row *decode.Row) (bool, error) {
	if row.Schema() != lora.Schema {
		return true, nil
	}
	ti, ok := tables[row.Table()]
	if !ok {
		return true, nil
	}
	switch ti.part {
	case partRegistrering:
		if row.Op() == decode.OpInsert {
			id, _, err := row.Int("id")
			if err != nil {
				return false, err
			}
			k.open[regKey{class: ti.class, id: id}] = true
		}
		return true, nil
	case partEgenskaber, partUdvidelser, partRelation, partTils:
		if row.Op() != decode.OpInsert {
			return true, nil
		}
		fk, _, err := row.Int(ti.class.RegistreringFK())
		if err != nil {
			return false, err
		}
		return k.open[regKey{class: ti.class, id: fk}], nil
	}
	return true, nil
}
