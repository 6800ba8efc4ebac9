// Package mo is the MO object model shared by capture and every sink: the MO
// types, how each MO field is stored in the LoRa tables of the MO store, and
// the object value (uuid, type, validity periods with field values) that
// capture builds from a registration and sinks consume.
//
// It sits at the bottom of the flow: capture/ and sinks/ import it, it
// imports nothing of ours.
package mo
