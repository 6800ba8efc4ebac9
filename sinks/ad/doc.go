// Package ad is the Active Directory sink: it keeps AD accounts in step
// with MO over LDAP(S), as OS2mo's own AD integration does
// (integrations.md §1), but on the fly and with no double creates.
// docs/ad.md is the user's reference (configuration, mapping, topics).
//
// Where it sits in the flow (DESIGN.md §6a):
//
//	mo.<type> ─► view.Follower ─► view.View ─► render (Mapping over Data) ─┐
//	                 └─ touches ─► owners (persons) ─► reconcile.Queue ─────┤
//	mo.person ─► reconcile.Shard (consumer group: which persons are mine)   │
//	                                   AD ◄── diff, write only what differs ┘
//	no account ─► <prefix>.ad.creates ─► outbox (sinks/outbox) ─► LDAP add
//	                                       └─► <prefix>.ad.accounts (links, objectGUIDs)
//
// Level-triggered (CONVENTIONS 18): an event only says which persons may
// have changed; each is re-derived whole — find its accounts, render the
// mapping, read the account, diff, write the difference in one modify (a
// rename or move in one modify DN). A replay, duplicate or reordering
// therefore writes nothing. At start, after a rebalance and at every
// midnight (the injected clock) every owned person is reconciled, which
// catches up on anything missed and makes end and start dates act on their
// day; capture's tick events do the same for single objects.
//
// Finding accounts: the accounts whose objectGUID an IT user of the AD IT
// system names (user_key or external_id); else the account the sink
// created or linked before (the accounts topic); else a CPR search in the
// search OUs. Missing or ambiguous: no write, counted
// (mocdc_sink_ad_unresolved_total) and dead-lettered with the reason.
//
// Creates go through sinks/outbox (outbox.go): a reconcile that finds no
// account sends a create request; the create outbox, run by the instance
// that owns partition 0 of mo.person, records one intent per person (with
// a DN and sAMAccountName no other intent claimed) together with the
// request offsets in one Kafka transaction, makes the account, and writes
// the done record and the link with the new objectGUID on the accounts
// topic in one transaction. A repeated add after a crash finds the account
// made (AD refuses a second with its DN), so a crash never makes two
// accounts. The accounts topic is also what a later write-back into MO
// reads.
//
// Instances are static group members under their instance_id (the
// shard): a killed one restarted takes its persons back at once.
//
// Delivery: the sink commits no Kafka offsets for its reconciles; its
// state is AD itself (the diff) plus the accounts and outbox topics, all
// durable. The price is that a restart
// reconciles every person once (reads, no writes).
package ad
