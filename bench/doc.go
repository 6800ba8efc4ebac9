// Command bench measures mocdc on the local services and prints figures
// with the settings that produced them, for bench/results.md.
//
//	go run ./bench capture  [-persons N] [-changes N]   capture rate vs pg_recvlogical on the same WAL
//	go run ./bench bigtxn   [-persons N]                capture RSS while one huge transaction streams
//
// Each scenario makes its own database on the local PostgreSQL
// (MOCDC_TEST_PG_DSN) and its own topics on the local Kafka
// (MOCDC_TEST_KAFKA), runs the real mocdc binary as a child process and
// removes what it made afterwards.
package main
