// Package outbox makes effects on other systems happen once: an email, an
// account create, a call whose result cannot be diffed afterwards
// (DESIGN.md §6a, CONVENTIONS 19).
//
// Where it sits in the flow:
//
//	mo.<type> topics ──► Outbox.Run ──► Handler.Handle (decide) ──┐
//	                                                              │ one Kafka transaction:
//	                      <state topic> ◄── intents, state, offsets ┘
//	                           │
//	                           └──► Performer.Perform (act) ──► done record
//
// The Outbox consumes the source topics as a consumer group in Kafka
// transactions (consume-transform-produce, as sinks/ledger does). For each
// batch the Handler reads and writes a keyed durable state (key → value, for
// instance "the digest of the last payload sent") and records intents: an
// effect, keyed by what it is about, with the payload to perform and the
// source offsets that caused it. The intents, the state writes and the
// consumed offsets are committed in ONE transaction to a compacted state
// topic, so after a crash either all of a batch's decisions are durable
// together with its offsets, or none is and the batch is read again.
//
// After the commit the Outbox performs each new intent, one at a time:
// it records the effect as performing, calls Performer.Perform, and then
// records it done, each record in a transaction of its own (of a second
// transactional producer, "<transactional id>.effects", fenced like the
// first). A WindowPerformer says when its effect becomes irrevocable (for
// mail: the end of DATA), and the performing record is written only then,
// so a failed connection attempt opens no window.
// An effect is performed at most once per key in normal operation: Intend
// refuses a key that was ever intended, so a replay of the source, a
// duplicate event or a re-evaluation records nothing new.
//
// The one crash window: between the performing record and the done record.
// On restart an effect found performing is performed again — it may or may
// not have happened (a duplicate only if Perform had succeeded). That is at
// most one effect per crash (effects are performed and marked one at a
// time); it is counted (mocdc_outbox_recovered_total, Stats.Recovered,
// Effect.Recovered) and logged with the key, so a duplicate can be
// recognised (for mail: the Message-ID is derived from the key). Intents
// never attempted are simply performed. Nothing else repeats an effect, and
// nothing loses one: an effect stays pending until Perform succeeds or fails
// permanently.
//
// Failures of Perform: an error is retried with capped, jittered backoff
// (Config.Retry) while consumption goes on; Later(d, err) asks for a retry
// after d without counting an attempt (rate limits); Permanent(err) records
// the effect as dead with the reason, on the state topic and the dead-letter
// topic, and it is not tried again.
//
// State topic record format (one partition, cleanup.policy=compact): key
// "e/<effect key>" holds the effect's latest record (status intent,
// performing, done or dead); key "s/<state key>" holds a state value, a tombstone deletes it.
// Values are JSON (record.go). At start the whole topic is read back
// (read_committed, after fencing any predecessor), so memory holds every
// state value and every effect key ever recorded.
//
// One Outbox runs per transactional id: it is also the static group member
// id, so a second instance fences the first (like the ledger builder).
// Several sinks may each have their own Outbox (own topic, group and
// transactional id). A sink of several instances may run its Outbox in
// one of them at a time and hand it over (sinks/ad: the instance that owns
// a partition): Run may be called again after it returned, and the next
// instance's Run fences the previous one and loads every intent it
// committed.
//
// A Publisher (optional capability of the Performer) adds records to the
// transaction of an effect's done or dead record — the effect's result for
// others to read (sinks/ad: the new account's objectGUID), visible exactly
// when the effect is recorded.
package outbox
