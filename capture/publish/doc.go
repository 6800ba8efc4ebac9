// Package publish is the last step of capture: it writes the events of one
// or more source transactions and the capture checkpoint to Kafka in ONE
// Kafka transaction, and creates the topics capture writes to.
//
// The acknowledgement chain: the caller confirms a WAL position to
// PostgreSQL only after Publish has returned nil for a batch that ends at
// that position. Publish either commits everything in the batch or nothing;
// on any error the caller must restart from the checkpoint that
// ReadCheckpoint returns, because the outcome of a failed commit can be
// unknown.
package publish
