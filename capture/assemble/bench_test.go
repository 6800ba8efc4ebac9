package assemble

import (
	"fmt"
	"testing"
)

// BenchmarkAssembleV1 assembles the v1 corpus and reads every transaction
// back, in memory and (with a 1-byte budget) through spill files.
func BenchmarkAssembleV1(b *testing.B) {
	msgs := readCorpus(b, "pgoutput-v1.jsonl")
	var bytes int64
	for _, m := range msgs {
		bytes += int64(len(m.Data))
	}
	for _, budget := range []int64{0, 1} {
		b.Run(fmt.Sprintf("budget=%d", budget), func(b *testing.B) {
			a, err := New(Config{MemoryBudget: budget, SpillDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range msgs {
					it, err := a.Add(m.LSN, m.Data)
					if err != nil {
						b.Fatal(err)
					}
					if it.Txn == nil {
						continue
					}
					for _, err := range it.Txn.Messages() {
						if err != nil {
							b.Fatal(err)
						}
					}
					if err := it.Txn.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(msgs))*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
