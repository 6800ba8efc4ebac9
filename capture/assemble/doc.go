// Package assemble rebuilds whole committed transactions from the pgoutput
// message stream.
//
// It sits between the replication stream and capture/decode in the flow: the
// stream reader hands every pgoutput message to an Assembler in the order it
// arrived; the Assembler buffers each transaction's messages and releases the
// transaction (a Txn) only when it commits. Protocol version 1 transactions
// arrive whole between BEGIN and COMMIT; with protocol version 2 streaming, a
// large transaction arrives in chunks (STREAM START … STREAM STOP) that may
// interleave with chunks of other streamed transactions and with ordinary
// transactions, and ends with STREAM COMMIT or STREAM ABORT (of the whole
// transaction or of one subtransaction). Nothing of a streamed transaction is
// released before its commit; aborted work is dropped.
//
// Memory is bounded: when buffering a message would take the buffered bytes
// past Config.MemoryBudget, the largest open transaction is written to a spill
// file and keeps growing there; at commit it is read back from disk one
// message at a time. Spill files are unlinked as soon as they are created, so
// the operating system reclaims them when the transaction is released or the
// process dies.
//
// Non-transactional logical decoding messages (pg_logical_emit_message with
// transactional = false, used for heartbeats) are released at once as their
// own items. Origin messages are ignored.
package assemble
