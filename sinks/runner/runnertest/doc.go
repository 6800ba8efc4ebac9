// Package runnertest is the conformance suite every mocdc sink passes
// (CONVENTIONS 13): ordering per object, replay of an applied batch is a
// no-op, delete, offsets stored with the data, all-or-nothing batches, and
// a partial failure that dead-letters the bad record while the rest
// applies — the last one end to end through the runner and a real Kafka.
//
// A sink package calls Run from a test with a Harness that builds a fresh
// target; MemSink is the reference sink the runner's own tests use.
package runnertest
