// Package store is mocdc's own MO store: the DDL of OS2mo's LoRa schema
// (generated from schema/lora) and a writer that changes it the way OS2mo's
// stored procedures do, one registration per PostgreSQL transaction.
//
// It sits before capture in the flow: the demo, the tests and the
// benchmarks write here (through schema/writer or directly), and capture/
// reads the WAL that these writes produce. The writer therefore mimics
// OS2mo's row order and the 2026 active_tils triggers closely enough that
// the logical-decoding stream has the same shape as OS2mo's (see
// testdata/os2mo-sequences.golden, copied from the os2mo-wal corpus).
//
// Entry points: Init creates or completes the schema (idempotent, safe to
// run concurrently); Writer writes objects (Create, Update, Delete, and
// CreateMany for seeding) and the audit tables (RecordRead, UpsertActor).
package store
