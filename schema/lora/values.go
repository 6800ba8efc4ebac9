package lora

import "github.com/os2mo-cdc/mocdc/schema/mo"

// Lifecycle is LoRa's livscykluskode.
type Lifecycle string

// The lifecycle codes. OS2mo writes Opstaaet or Importeret on create,
// Rettet on update and terminate, Passiveret, and Slettet on delete.
const (
	Opstaaet   Lifecycle = "Opstaaet"
	Importeret Lifecycle = "Importeret"
	Passiveret Lifecycle = "Passiveret"
	Slettet    Lifecycle = "Slettet"
	Rettet     Lifecycle = "Rettet"
)

// Registrering is a value of the composite type RegistreringBase: the
// system-time period of one registration, its lifecycle, the actor
// (brugerref) that wrote it and its note.
type Registrering struct {
	Period    mo.Period
	Lifecycle Lifecycle
	Actor     string // uuid, "" when NULL
	Note      string
}

// Open reports whether the registration is the current one (upper bound
// infinity).
func (r Registrering) Open() bool { return mo.IsPosInf(r.Period.To) }

// Virkning is a value of the composite type Virkning: the validity period of
// an attribute, state or relation row. OS2mo leaves actor, actor type and
// note empty.
type Virkning struct {
	Period    mo.Period
	Actor     string // uuid, "" when NULL
	ActorType string // AktoerTypeKode, "" when NULL
	Note      string
}
