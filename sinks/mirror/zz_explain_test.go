package mirror

import (
	"context"
	"os"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
)

func TestZZExplainLoad(t *testing.T) {
	dsn := os.Getenv("ZZ_DSN")
	if dsn == "" {
		t.Skip()
	}
	cfg := Config{Name: "x", Dialect: os.Getenv("ZZ_DIALECT"), DSN: dsn}
	cfg.Defaults()
	db, _ := Open(cfg)
	topics := event.Topics{Prefix: "bench"}
	m, _ := New(db, cfg, topics, WithClock(fixedClock))
	ctx := context.Background()
	if err := m.Prepare(ctx, true); err != nil {
		t.Fatal(err)
	}
	recs := benchRecords(topics)
	for i := 0; i < len(recs); i += benchBatch {
		if err := m.Apply(ctx, runner.NewBatch(recs[i:min(i+benchBatch, len(recs))])); err != nil {
			t.Fatal(err)
		}
	}
}
