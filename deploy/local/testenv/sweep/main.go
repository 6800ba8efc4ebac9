// Command sweep removes what integration tests leave behind when they are
// killed before their cleanup runs: Kafka topics and groups named by
// testenv.UniqueTopicPrefix, and the PostgreSQL (with their replication
// slots) and MariaDB databases testenv made. It removes those of running
// tests too, so run it only when no test runs: `make test-clean`.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := testenv.Sweep(ctx, os.Getenv)
	fmt.Printf("removed %d topics, %d consumer groups, %d PostgreSQL and %d MariaDB databases made by tests\n",
		rep.Topics, rep.Groups, rep.PostgresDBs, rep.MySQLDBs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sweep:", err)
		os.Exit(1)
	}
}
