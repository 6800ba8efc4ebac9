package event

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Version is the envelope version this code writes. Readers accept every
// version up to it and reject newer ones with an error that says to upgrade.
const Version = 1

// Op says why an event was published.
type Op string

// The event operations.
const (
	// Create is the first registration of an object.
	Create Op = "create"
	// Update is a later registration (OS2mo's update, terminate, passivate).
	Update Op = "update"
	// Delete is a registration with lifecycle Slettet; a tombstone follows it
	// on the compacted object topic.
	Delete Op = "delete"
	// Snapshot carries the current state of an object read by the initial
	// snapshot, not a change.
	Snapshot Op = "snapshot"
	// Tick carries the full state of an object whose current state changed
	// because a validity boundary passed, without any write.
	Tick Op = "tick"
)

// Registration is the LoRa registration behind an event: the audit record
// of who wrote it and when.
type Registration struct {
	// ID is the registration row id (C_registrering.id).
	ID int64 `json:"id"`
	// Time is when the registration started (system time).
	Time time.Time `json:"time"`
	// Lifecycle is LoRa's livscykluskode: Opstaaet, Importeret, Rettet,
	// Passiveret or Slettet.
	Lifecycle string `json:"lifecycle"`
	// Actor is the uuid of the user or integration that wrote it (brugerref).
	Actor string `json:"actor"`
	Note  string `json:"note"`
}

// Source is the position of the event in the MO store's WAL.
type Source struct {
	// LSN is the commit LSN of the source transaction, e.g. "0/23FD7D0".
	LSN string `json:"lsn"`
	// Xid is the source transaction id (0 for snapshot and tick events).
	Xid uint32 `json:"xid"`
	// CommitTime is when the source transaction committed.
	CommitTime time.Time `json:"commit_time"`
}

// Envelope is one MO object event, the value of a record on an object topic
// (key: the object uuid).
type Envelope struct {
	Version int `json:"version"`
	// ID is stable across retries and restarts and unique per event: sinks
	// use it as the idempotency key.
	ID           string        `json:"id"`
	Op           Op            `json:"op"`
	Type         mo.Type       `json:"type"`
	UUID         string        `json:"uuid"`
	Registration *Registration `json:"registration,omitempty"`
	Source       Source        `json:"source"`
	// Changed lists the MO fields that differ from the object's previous
	// registration ("validity" when its valid periods changed). Empty for
	// snapshots; every set field for a create.
	Changed []string `json:"changed"`
	// Object is the full object after the change; nil for a delete.
	Object *mo.Object `json:"object"`
	// Day is the validity day a tick event is for (YYYY-MM-DD).
	Day string `json:"day,omitempty"`
}

// ObjectID is the event id of a registration: unique per registration row.
func ObjectID(class string, registrationID int64) string {
	return fmt.Sprintf("reg/%s/%d", class, registrationID)
}

// SnapshotID is the event id of the snapshot of one registration.
func SnapshotID(class string, registrationID int64) string {
	return fmt.Sprintf("snap/%s/%d", class, registrationID)
}

// TickID is the event id of a tick for an object on a day.
func TickID(uuid string, day mo.Date) string {
	return fmt.Sprintf("tick/%s/%s", day, uuid)
}

// Marshal encodes e as JSON.
func (e *Envelope) Marshal() ([]byte, error) { return json.Marshal(e) }

// Decode parses an object event and checks its version.
func Decode(b []byte) (*Envelope, error) {
	if !utf8.Valid(b) {
		// encoding/json replaces invalid bytes with U+FFFD; go-json keeps
		// them. Such input is rare (capture writes valid UTF-8).
		return decode(b, json.Unmarshal)
	}
	return decode(b, gojson.Unmarshal)
}

// wire is an event as decoded: the versions as generic maps, so that the
// input is scanned once (a Version's own UnmarshalJSON scans its bytes
// again) and no reflection on mo types is needed.
type wire struct {
	Envelope
	Object *struct {
		Type       mo.Type          `json:"type"`
		UUID       string           `json:"uuid"`
		Validities []map[string]any `json:"validities"`
	} `json:"object"`
}

// decode is Decode with a JSON decoder. Decode uses goccy/go-json, about
// four times faster than encoding/json on events (decoding is most of a
// sink's CPU); a fuzz test holds it to encoding/json's results.
func decode(b []byte, unmarshal func([]byte, any) error) (*Envelope, error) {
	var w wire
	if err := unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	e := w.Envelope
	if o := w.Object; o != nil {
		e.Object = &mo.Object{Type: o.Type, UUID: o.UUID, Validities: make([]mo.Version, len(o.Validities))}
		for i, m := range o.Validities {
			if m == nil {
				return nil, fmt.Errorf("decode event %s: version %d is null", e.ID, i)
			}
			if err := e.Object.Validities[i].FromMap(m); err != nil {
				return nil, fmt.Errorf("decode event %s: version %d: %w", e.ID, i, err)
			}
		}
	}
	if err := checkVersion(e.Version); err != nil {
		return nil, err
	}
	if !e.Type.Valid() {
		return nil, fmt.Errorf("decode event %s: unknown type %q", e.ID, e.Type)
	}
	if e.UUID == "" || e.ID == "" {
		return nil, fmt.Errorf("decode event: missing id or uuid")
	}
	return &e, nil
}

func checkVersion(v int) error {
	if v < 1 || v > Version {
		return fmt.Errorf("event version %d not supported (this mocdc reads 1..%d): upgrade mocdc", v, Version)
	}
	return nil
}

// Access is a read event on the access topic: one operation of the access
// log (access_log_operation) with the uuids it read (access_log_read).
type Access struct {
	Version int    `json:"version"`
	ID      string `json:"id"` // "read/<operation uuid>"
	// Operation is the access_log_operation id.
	Operation string    `json:"operation"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	// Model is the LoRa model read (Bruger, OrganisationFunktion, ...).
	Model string `json:"model"`
	// Name is the GraphQL operation or endpoint (access_log_operation.operation).
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	UUIDs     []string        `json:"uuids"`
	Source    Source          `json:"source"`
}

// DecodeAccess parses a read event and checks its version.
func DecodeAccess(b []byte) (*Access, error) {
	var a Access
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode access event: %w", err)
	}
	if err := checkVersion(a.Version); err != nil {
		return nil, err
	}
	return &a, nil
}

// Actor is a record of the actor topic (key: actor uuid): the name of a
// user or integration, from the MO store's actor table.
type Actor struct {
	Version int    `json:"version"`
	UUID    string `json:"uuid"`
	Name    string `json:"name"`
}

// DeadLetter is a record of the dead-letter topic: input that could not be
// turned into an event, with the reason. Nothing is dropped silently.
type DeadLetter struct {
	Version int    `json:"version"`
	Reason  string `json:"reason"`
	// Stage names where it failed: decode, build, apply, ...
	Stage  string `json:"stage"`
	Source Source `json:"source"`
	// Table and Registration locate the source rows when known.
	Table        string `json:"table,omitempty"`
	Registration int64  `json:"registration,omitempty"`
	// Payload is the offending input (an event, or the row as text).
	Payload json.RawMessage `json:"payload,omitempty"`
	// Topic, Partition, Offset locate a consumed record a sink gave up on.
	Topic     string `json:"topic,omitempty"`
	Partition int32  `json:"partition,omitempty"`
	Offset    int64  `json:"offset,omitempty"`
}
