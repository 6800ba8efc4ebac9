package demo

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

// BenchmarkSeed measures Seed into a fresh store. MOCDC_DEMO_PERSONS sets
// the size (default 50000); run it once:
//
//	go test ./schema/demo -run '^$' -bench Seed -benchtime 1x
func BenchmarkSeed(b *testing.B) {
	persons := 50000
	if s := os.Getenv("MOCDC_DEMO_PERSONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("MOCDC_DEMO_PERSONS: %v", err)
		}
		persons = n
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dsn := testenv.NewPostgresDB(b, "demo_bench")
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Init(ctx, pool); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s, err := Seed(ctx, pool, SeedOptions{Seed: 1, Persons: persons})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(s.Objects), "objects")
		b.ReportMetric(float64(s.Rows), "rows")
		b.ReportMetric(float64(s.Rows)/s.Elapsed.Seconds(), "rows/s")
		b.Logf("%d persons: %d objects, %d rows in %s; %v", persons, s.Objects, s.Rows, s.Elapsed, s.Counts)
		pool.Close()
	}
}
