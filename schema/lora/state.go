package lora

import "github.com/os2mo-cdc/mocdc/schema/mo"

// AttrRow is one row of C_attr_egenskaber or C_attr_udvidelser: the values
// of its class columns (egenskaber include "brugervendtnoegle") during one
// validity period. Values are string, int64, bool, []string or nil.
type AttrRow struct {
	Period mo.Period
	Values map[string]any
}

// TilsRow is one row of the state table: Aktiv/Inaktiv or
// Publiceret/IkkePubliceret during one validity period.
type TilsRow struct {
	Period mo.Period
	Value  string
}

// RelationRow is one row of C_relation. Exactly one of UUID and URN is set.
type RelationRow struct {
	Period     mo.Period
	Kind       string
	UUID       string
	URN        string
	ObjektType string
}

// State is the complete state of one object in one registration: every
// attribute, state and relation row. OS2mo writes the whole state again in
// each new registration, so a State alone yields the MO object.
type State struct {
	Egenskaber []AttrRow
	Udvidelser []AttrRow
	Tils       []TilsRow
	Relations  []RelationRow
}
