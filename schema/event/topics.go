package event

import "github.com/os2mo-cdc/mocdc/schema/mo"

// Topics names every topic under one prefix (default "mo").
type Topics struct{ Prefix string }

// DefaultPrefix is the topic prefix when none is configured.
const DefaultPrefix = "mo"

func (t Topics) p() string {
	if t.Prefix == "" {
		return DefaultPrefix
	}
	return t.Prefix
}

// Object is the compacted topic of one MO type, e.g. mo.engagement.
func (t Topics) Object(typ mo.Type) string { return t.p() + "." + string(typ) }

// Objects lists the object topics of every MO type.
func (t Topics) Objects() []string {
	out := make([]string, len(mo.Types))
	for i, typ := range mo.Types {
		out[i] = t.Object(typ)
	}
	return out
}

// Access is the topic of read events.
func (t Topics) Access() string { return t.p() + ".access" }

// Actor is the compacted topic of actor names.
func (t Topics) Actor() string { return t.p() + ".actor" }

// Ledger is the audit ledger (one partition, kept forever).
func (t Topics) Ledger() string { return t.p() + ".ledger" }

// DeadLetter receives input that could not be processed, with the reason.
func (t Topics) DeadLetter() string { return t.p() + ".deadletter" }

// Checkpoint is capture's internal compacted topic: the last published
// source commit LSN per slot, written in the same Kafka transaction as the
// events.
func (t Topics) Checkpoint() string { return t.p() + "._capture.checkpoint" }
