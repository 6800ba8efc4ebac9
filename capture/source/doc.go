// Package source is the first step of capture: the PostgreSQL side. It
// creates the publication over the MO store tables and the durable logical
// replication slot, streams pgoutput messages from the slot, reports the
// confirmed position back to the server, keeps an idle slot advancing with
// heartbeat messages, and measures slot lag.
//
// It never decides on its own that a position is safe: the flush position it
// reports is the one the caller confirmed after Kafka committed (see
// capture/publish). It never starts from IDENTIFY_SYSTEM's position.
package source
