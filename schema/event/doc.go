// Package event defines what capture publishes and sinks consume: the
// versioned JSON envelope of an MO object change, the read event of the
// access log, the actor record, and the topic names. These are the only
// types capture and sinks share besides the MO object model.
//
// docs/events.md documents the envelope with an example per type; the
// examples are produced by a test in capture, so they cannot drift.
package event
