package demo

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

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
		t0 := time.Now()
		if _, err := LoadCatalog(ctx, pool, time.Time{}); err != nil {
			b.Fatal(err)
		}
		b.Logf("LoadCatalog of the seeded store: %s", time.Since(t0))
		pool.Close()
	}
}

// BenchmarkChurn measures how many changes per second churn reaches at
// rate 0 on a store of MOCDC_DEMO_PERSONS persons (default 50000), for 1,
// 2, 4 and 8 workers, 10 s each:
//
//	go test ./schema/demo -run '^$' -bench Churn -benchtime 1x
func BenchmarkChurn(b *testing.B) {
	persons := 50000
	if s := os.Getenv("MOCDC_DEMO_PERSONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("MOCDC_DEMO_PERSONS: %v", err)
		}
		persons = n
	}
	ctx := context.Background()
	dsn := testenv.NewPostgresDB(b, "demo_bench")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := store.Init(ctx, pool); err != nil {
		b.Fatal(err)
	}
	s, err := Seed(ctx, pool, SeedOptions{Seed: 1, Persons: persons})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d persons: %d objects, %d rows in %s", persons, s.Objects, s.Rows, s.Elapsed)
	t0 := time.Now()
	cat, err := LoadCatalog(ctx, pool, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("LoadCatalog: %s (%d persons, %d engagements, %d addresses)", time.Since(t0), len(cat.Persons), len(cat.Engagements), len(cat.Addresses))
	for _, w := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				s, err := Churn(ctx, pool, ChurnOptions{Seed: int64(w*100 + i), Duration: 10 * time.Second, Workers: w}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(s.Rate(), "changes/s")
				b.ReportMetric(float64(s.Errors), "errors")
				if s.Errors > 0 {
					b.Logf("last error: %s", s.LastError)
				}
			}
		})
	}
}
