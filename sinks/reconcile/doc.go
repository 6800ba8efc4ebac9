// Package reconcile holds the two small pieces every acting sink's
// reconciliation loop shares (DESIGN.md §6a, CONVENTIONS 18): a
// de-duplicating work queue of owner keys, and a Shard that splits the
// owners between a sink's instances through a Kafka consumer group.
//
// The loop shape, as the AD sink runs it:
//
//	view.Follower ── Touch(owners) ──► Shard.Owns? ──► Queue.Add(owner)
//	worker: key := Queue.Get → render desired state from the view → read the
//	        target → diff → write only the difference → Queue.Done(key)
//	on Shard assignment (start, rebalance): Queue.Add(every owner of the
//	        gained partitions) — a full, diff-only resync of what this
//	        instance now owns
//
// Events only say "owner X may have changed"; duplicates, reordering and
// replays cost a render and a read, never a write.
package reconcile
