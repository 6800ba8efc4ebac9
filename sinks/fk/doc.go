// Package fk is the FK Organisation sink: it keeps FK Organisation (the
// national organisation service) in step with MO through OS2sync's REST
// API, as magenta-aps/os2mo-os2sync-export does, but from the event
// stream, within a second of the MO commit. docs/fk.md is the operator's
// reference (configuration, field mapping, filters, deletes).
//
// Where it sits in the flow (DESIGN.md §6a):
//
//	mo.<type> topics ─► view.Follower ─► view.View ◄─ render (units, users)
//	                         └─ touched owners ─► reconcile: diff with the
//	                            state topic's digests ─► Client ─► OS2sync
//	                                                    └─► state topic (txn)
//
// Level-triggered (CONVENTIONS 18): an event only says which persons and
// units may have changed. The sink renders each such owner's whole desired
// FK state — one OrgUnit per relevant unit, one User per account IT user
// with positions — and compares every FK object with the digest of the
// payload it last sent. Only differences are sent; an FK object that is no
// longer wanted (a unit that stopped being relevant, a user without
// positions or account) is deleted, the top unit never.
//
// The acknowledgement chain, written down (CONVENTIONS 11):
//
//  1. The follower reads the object topics from their start, read_committed,
//     into the view; the sink acts only once it has caught up.
//  2. Then every owner is reconciled once against the digests read from
//     the state topic (so a restart, a replay or a new instance sends only
//     what MO and FK disagree on: nothing, normally), then each owner an
//     event touches, in batches.
//  3. A write is recorded after OS2sync accepted it (200: queued); the
//     batch's digests, dead letters and the view position are committed in
//     one Kafka transaction of the state topic. A crash between the two
//     resends the writes of that one batch — the same payloads, upserts
//     keyed by uuid, so FK ends the same and nothing is duplicated.
//
// Errors: 5xx and network errors are retried per request with backoff, then
// the batch is retried as a whole; a 4xx is final: the write goes to the
// dead-letter topic with the server's message and its digest is marked
// rejected, so the same payload is not sent again.
//
// One process runs per transactional id: a second one fences the first.
package fk
