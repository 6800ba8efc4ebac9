// Package capture tails the MO store's logical replication slot and
// publishes MO object events to Kafka, exactly once.
//
// The flow, one subpackage per step:
//
//	source   – publication, slot, pgoutput stream, heartbeats, slot lag
//	assemble – whole transactions from the stream (streamed ones too), spilled
//	           to disk past a memory budget
//	decode   – pgoutput row messages to typed LoRa rows
//	build    – rows to registrations to MO objects, and what changed
//	publish  – events and checkpoint in one Kafka transaction
//	snapshot – SQL reads of the store: initial snapshot, previous versions
//	clock    – tick events when validity boundaries pass
//
// This package wires them: Capture.Run holds the single-active lock, sets
// up the slot, runs the initial snapshot, and then streams, batching
// source transactions into Kafka transactions and confirming each batch's
// end position to PostgreSQL only after Kafka committed it.
//
// Failures (errors.go): what retrying cannot fix — a refused login, a
// missing role, database or right, wal_level, a Kafka SASL or ACL refusal
// — ends Run at once with what to do; everything else is retried from the
// checkpoint with backoff, logged with what is failing. A standby
// (standby.go) names the active session and warns while Kafka does not
// answer. On stop, the transactions read so far are published and the
// position reported, within StopTimeout.
package capture
