// Package demo generates a plausible Danish municipality in an MO store and
// then keeps changing it the way OS2mo's users and integrations do.
//
// It sits before capture in the flow, next to schema/store and
// schema/writer: `mocdc store`, `make run`, the tests and the benchmarks use
// it to make WAL for capture to read. Nothing in capture/ or sinks/ imports
// it; tests may, for its fixed uuids (actors, sensitive job functions, IT
// systems).
//
//   - Seed writes the actors, the classification (facets, classes, IT
//     systems, the root organisation), a unit tree six levels deep and N
//     persons with engagements, addresses, IT users, managers (some
//     vacant), associations, leaves, KLE, related units, role bindings and
//     owners. Everything is derived from the seed, so the same seed gives
//     the same uuids and values. It writes in large batches with
//     store.CreateMany: 50,000 persons (about 300,000 objects, 2.9 million
//     rows) take about a minute on 2 cores.
//   - LoadCatalog reads the uuids and key fields of the objects of any MO
//     store, so churn can run on a store seeded earlier or elsewhere.
//   - Churn makes a weighted mix of changes (Ops: hires, moves, job-function
//     changes, terminations, future-dated changes, vacant managers, unit
//     renames, deletes, reads recorded in the access log, ...) at a fixed
//     rate, each through schema/writer in its own transaction, as OS2mo does.
package demo
