// Package mirror is the SQL mirror sink: it keeps the tables of the OS2mo
// SQL export (facetter, klasser, brugere, enheder, engagementer, …,
// kvittering) in a PostgreSQL, MySQL/MariaDB or SQL Server database, seconds
// behind MO instead of a night, for BI teams whose reports query those
// tables today.
//
// Where it sits in the flow:
//
//	Kafka mo.<type> → sinks/runner (batches, retries, dead letters)
//	  → Mirror.Apply (this package) → target database
//
// Per batch, one serializable transaction of the target holds everything:
// the new object states (mocdc_objects) and their references
// (mocdc_refs), the export rows of every object the batch changed or whose
// computed columns depend on it (titles of renamed classes, organisatorisk_sti
// below a moved unit, leder_uuid/fungerende_leder_uuid, primær_boolean),
// the consumed offsets (mocdc_offsets) and a kvittering row. The runner
// seeks to the stored offsets whenever it is assigned partitions, so a
// crash, a restart or an added instance never loses or doubles a row.
//
// Files, in the order a change flows through them:
//
//	config.go     – the `mirrors:` entry of the YAML
//	run.go        – Run: open, prepare, run the runner (cmd and tests)
//	schema.go     – Prepare: create missing tables, refuse differing ones, rebuild,
//	                recompute on a new MappingVersion
//	tables.go     – the export tables and the mirror's own, as data
//	mirror.go     – the Mirror, its session and offsets
//	apply.go      – Apply: the transaction, step by step
//	state.go      – the object state and reference tables
//	cascade.go    – which objects to recompute when something changes
//	derive.go     – computed columns: path, managers, is_primary, titles
//	dates.go      – startdato/slutdato: OS2mo's `current` period, historic periods
//	export.go     – MO object → export rows, per type
//	rows.go       – row values, validation against the columns
//	write.go      – state and rows into the tables: staging, delete, upsert
//	dialect.go    – the seam between databases; postgres.go, mysql.go, mssql.go
//	statements.go – the plain statements, per dialect (golden-tested)
//	inventory.go  – which objects of a partition loaded from its start exist
//	status.go     – progress and freshness as `mocdc status` reads them
//
// docs/mirror.md is the manual for BI users and operators.
package mirror
