// Package ledger is the audit ledger sink: it turns the MO writes and reads
// that capture publishes into an append-only, hash-chained, signed record of
// who read or wrote what, and it verifies and queries that record.
//
// Where it sits in the flow (DESIGN.md §1, §7):
//
//	mo.<type> (create/update/delete) ─┐
//	mo.access (reads)                 ├─► Builder ─► mo.ledger ─► Verify / Query
//	mo.actor  (actor names)  ─────────┘
//
// The Builder consumes every object topic and the access topic in one
// consumer group and appends one entry per registration (create, update,
// delete; never snapshot or tick) and one per read operation to the ledger
// topic, in Kafka transactions that also commit the consumed offsets
// (consume-transform-produce), so each event is appended exactly once
// across crashes. Each record carries the SHA-256 of the previous one;
// every checkpoint_every entries or checkpoint_interval an Ed25519-signed
// checkpoint record of the chain head joins the chain.
//
// The record format and its canonical encoding are specified in
// docs/ledger.md, which is the contract for auditors; record.go and
// canonical.go implement it and the golden files in testdata pin it.
//
// Only one Builder may run per ledger: it uses a fixed transactional id and
// a static group member id, so a second instance fences the first.
package ledger
