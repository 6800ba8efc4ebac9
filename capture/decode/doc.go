// Package decode turns pgoutput row messages into typed LoRa rows.
//
// It sits between capture/assemble and capture/build in the flow: the
// assembler hands over the raw messages of one committed transaction in
// order, a Decoder keeps the relation (R) and type (Y) announcements it sees
// among them and turns every INSERT, UPDATE and DELETE into a Row. A Row knows
// its table, schema and operation; its column values stay as the bytes the
// server sent until a getter asks for one, because the object builder drops
// most UPDATE rows (active_tils touches) without reading their values.
//
// Both tuple formats are understood, per column as the server marks it: text
// ('t', the default) and binary ('b', pgoutput option binary 'true'). Types
// with a typed getter: text-like types and enums (Text), uuid, int2/4/8, bool,
// timestamptz and timestamp, tstzrange (mo.Period), tstzmultirange, the LoRa
// composites registreringbase (lora.Registrering) and virkning
// (lora.Virkning), text[], json and jsonb. Any other type still decodes with
// Text when it arrives in text format.
//
// Text format assumes the walsender's DateStyle is ISO (PostgreSQL's
// default); the time zone offsets it prints are parsed exactly, whatever
// TimeZone is. Every decoded instant is returned in mo.Location; the
// infinities are mo.NegInf and mo.PosInf.
//
// Decoding does no I/O and allocates only for values that are returned as
// strings or slices; a Decoder is not safe for concurrent use.
package decode
