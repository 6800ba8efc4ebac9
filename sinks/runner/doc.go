// Package runner is the consumer loop every mocdc sink shares: it reads the
// MO object topics as one Kafka consumer group, cuts the records into
// batches by count and time, hands each batch to a Sink, and retries,
// dead-letters and measures around it.
//
// Where it sits in the flow:
//
//	capture → Kafka mo.<type> topics → runner (this package) → Sink → target
//
// The acknowledgement chain, written down (CONVENTIONS 11):
//
//  1. The runner consumes with read_committed isolation, so it only ever
//     sees events of committed capture transactions.
//  2. A Sink writes a batch's effects AND the batch's end offsets in one
//     durable transaction of its target (Sink.Apply).
//  3. The runner never commits offsets to Kafka and never trusts Kafka's
//     committed offsets. When the group assigns it partitions (at start
//     and on every rebalance) it asks the Sink for the offsets stored in
//     the target (Sink.Offsets) and starts there (kgo.AdjustFetchOffsetsFn,
//     before any record of the partition is fetched).
//  4. Apply skips records below the offsets stored in the target, inside
//     its transaction, so a batch applied twice — a replay after a crash,
//     or two instances briefly owning one partition during a rebalance —
//     changes nothing the second time.
//  5. The runner remembers what it committed (Batch.Start) and Apply
//     checks the target still holds it (CheckStart). A target that lost
//     committed transactions — a restore, a promoted asynchronous
//     replica, a crash without durable commits — makes the runner go back
//     to what the target stores and apply those records again, instead of
//     going on past a hole (behind.go).
//
// Failures: an error from Apply is retryable unless marked (errors.go).
// Retryable errors are retried with capped, jittered backoff; nothing is
// skipped. One that repeats the same way Config.StuckAfter times in a row
// makes the runner split the batch; a record alone that still fails is
// dead-lettered when other records of the batch applied meanwhile, and
// otherwise Run stops with the error — a batch never loops silently (the
// attempts and the last error are metrics, Stats and, through
// HealthReporter, `mocdc status`). Unavailable (target down) is retried
// for as long as it takes and never counted so; Fatal (the target rejects
// the sink's statements) stops Run at once. A BatchError names the records
// that can never apply: they go to the dead-letter topic (event.DeadLetter,
// stage "apply", with topic, partition, offset and reason) and the rest of
// the batch is applied. A permanent error that names no record makes the
// runner split the batch until the one record that fails is found. A dead letter is written before
// the batch that skips it is applied, so a crash in between writes it again
// (at least once) and never loses it.
//
// Consumer group settings: cooperative-sticky balancing, so adding or
// removing an instance only moves the partitions that must move;
// BlockRebalanceOnPoll, so a partition is never revoked while its batch is
// being applied.
//
// Organisation labels (sinks/scope) are not filtered here: whether a
// record is in a sink's scope depends on state the record does not carry,
// so each sink applies the shared rules over its own state (docs/scope.md).
//
// Start and stop: Run first waits for topics that do not exist yet
// (capture creates them; Config.TopicWait, then an error naming them).
// When its context ends, Run rolls back a batch in progress, logs where it
// stands and returns nil; Close then leaves the group at once.
package runner
