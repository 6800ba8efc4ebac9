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
package capture
