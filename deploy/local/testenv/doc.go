// Package testenv lets integration tests reach the local services that
// deploy/local/services starts: PostgreSQL 15 (logical replication on),
// a single-node Kafka 4 broker (KRaft, transactions work) and MariaDB.
//
// The services are found through environment variables that
// `deploy/local/services up` writes to .mocdc/env (or $MOCDC_DATA/env):
//
//	MOCDC_TEST_PG_DSN     admin DSN of the PostgreSQL server
//	MOCDC_TEST_KAFKA      comma-separated Kafka bootstrap brokers
//	MOCDC_TEST_MYSQL_DSN  admin DSN (go-sql-driver/mysql form) of MariaDB
//
// `make test` starts the services and sources that file. By hand:
//
//	deploy/local/services up && source .mocdc/env && go test ./...
//
// A missing variable fails the test (tb.Fatal) with that instruction; it never
// skips, so a CI run without services cannot pass silently.
//
// Every helper gives the test something of its own that no other test, nor a
// parallel `go test -p` package, touches, and removes it in tb.Cleanup:
//
//   - NewPostgresDB: a fresh database; cleanup ends its sessions, drops the
//     replication slots that belong to it (they would retain WAL forever) and
//     drops it.
//   - UniqueTopicPrefix: a random prefix for topic names, consumer group ids
//     and transactional ids; cleanup deletes the topics and groups that start
//     with it.
//   - NewMySQLDB: a fresh utf8mb4 database; cleanup drops it.
//
// Sweep (`make test-clean`) removes all of these at once, for what killed
// test runs left behind.
package testenv
