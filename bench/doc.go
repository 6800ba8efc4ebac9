// Command bench measures mocdc on the local services and prints figures
// with the settings that produced them, for bench/results.md.
//
//	go run ./bench capture  [-persons N] [-changes N]   capture rate vs pg_recvlogical on the same WAL
//	go run ./bench bigtxn   [-persons N]                capture RSS while one huge transaction streams
//	go run ./bench latency  [-rate R] [-duration D] [-mirrors pg,mysql] [-workers N] [-profile DIR]
//	                                                    end-to-end latency, MO commit to the row visible in a mirror
//	go run ./bench initial  [-persons 50000] [-churn 20] [-mirrors pg,mysql] [-ledger] [-profile DIR]
//	                                                    initial load: `mocdc run` from empty Kafka and targets until both mirrors hold the snapshot
//	go run ./bench steady   [-rates 100,200] [-runs N] [-profile DIR]
//	                                                    capture CPU per change and commit→Kafka under steady churn vs a backlog
//	go run ./bench kill     [-rounds N] [-rate R]       crash recovery: a mirror killed with SIGKILL and restarted, with and without instance_id
//	go run ./bench peer     [-runs N] [-backlog N] [-rates 100,200] [-duration D]
//	                                                    capture beside Debezium (Kafka Connect) on the same store, as ratios
//
// Each scenario makes its own database on the local PostgreSQL
// (MOCDC_TEST_PG_DSN) and its own topics on the local Kafka
// (MOCDC_TEST_KAFKA), runs the real mocdc binary as a child process and
// removes what it made afterwards, also when it fails or is interrupted.
//
// latency is DESIGN §9's end-to-end target: it seeds a municipality
// (-persons, default 2000), starts `mocdc run` with capture and the mirror
// targets (-mirrors: a PostgreSQL database on the same server and a MariaDB
// database on MOCDC_TEST_MYSQL_DSN), waits until the mirrors have loaded
// the initial snapshot, then runs demo.Churn (writes only unless -reads) at
// -rate MO object changes per second for -duration and reports:
//
//   - the churn rate it actually reached (it says so when it falls short
//     of -rate) and what capture published;
//   - per mirror, the percentiles of the mirror's own histogram
//     mocdc_sink_mirror_commit_to_visible_seconds over every change the
//     churn made (read before the churn and after the mirrors applied all
//     of it; bucket resolution, interpolated like histogram_quantile);
//   - an independent probe: every -probe-every (200 ms) one person is
//     renamed to a numbered surname, and the probe records when its commit
//     had been decoded by the walsender (pg_stat_replication.sent_lsn),
//     was readable on the person topic in Kafka, and was in each mirror's
//     brugere table (polled every -poll, 10 ms);
//   - the CPU the machine, mocdc, PostgreSQL (by database), MariaDB, Kafka
//     and the churn driver used, and how much went to other work.
//
// The scenario's PostgreSQL databases (MO store, pg mirror) run with
// synchronous_commit=on (-sync-commit), as a production OS2mo does: the
// local services default to off, which holds WAL back from logical
// decoding for up to wal_writer_delay (200 ms).
// -churn-only runs the churn alone, for the driver's own ceiling.
//
// peer (peer.go, connect.go, peerreport.go) is the comparison with
// Debezium's PostgreSQL connector (3.6.1.Final) on Kafka Connect standalone
// (the Kafka line of our broker, 4.1.1), both resolved from Maven Central
// with `mvn dependency:copy-dependencies` the way deploy/local/services
// fetches the broker, and cached beside its jars in
// ${XDG_CACHE_HOME:-$HOME/.cache}/mocdc/connect-<kafka>-debezium-<version>
// (delete it to fetch again). Debezium gets its own publication
// (bench_debezium, the tables capture publishes), its own slots and topics
// (<prefix>.dbz<tag>.actual_state.<table>), the JSON converter without
// schemas, and runs once with its defaults and once with
// poll.interval.ms=20. Its JVM runs with the options of Kafka's
// bin/connect-standalone.sh (-Xms256M -Xmx2G, G1). Everything is removed
// with the scenario's database and topics. The report is a markdown table
// of medians (min–max) over -runs with each peer's ratio to capture, and
// the load average while it ran.
package main
