package ledger

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Measurements, not tests (make bench runs them). For 100,000 entries:
//
//	source .mocdc/env && go test ./sinks/ledger -run '^$' -bench . -benchtime 100000x
//
// BenchmarkBuilder: a backlog of b.N update events (engagement-sized
// envelopes, seven types, three partitions each, published in transactions
// of 1000 like capture does) → how fast the builder appends them, from its
// start until the last entry is committed (entries/s).
func BenchmarkBuilder(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env := newKafkaEnv(b)
	p := newProducer(b, env)
	types := []mo.Type{mo.Person, mo.OrgUnit, mo.Engagement, mo.Address, mo.ITUser, mo.Manager, mo.Class}
	var batch []*kgo.Record
	actor := "1f0c9b3a-7d2e-4e8f-a5b6-c4d3e2f1a0b9"
	if err := p.publish(ctx, []*kgo.Record{{Topic: env.topics.Actor(), Key: []byte(actor),
		Value: mustMarshal(b, event.Actor{Version: 1, UUID: actor, Name: "SD-Løn import"})}}, commitTxn); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		typ := types[i%len(types)]
		uuid := fmt.Sprintf("6d1c3a7e-2b8f-4c55-9e0a-%012x", i%10000)
		from := mo.Date("2020-01-01")
		msg := map[string]any{
			"version": 1, "id": fmt.Sprintf("reg/organisationfunktion/%d", i+1), "op": "update", "type": typ, "uuid": uuid,
			"registration": event.Registration{ID: int64(i + 1), Time: time.Unix(1709280000+int64(i), 0).UTC(), Lifecycle: "Rettet", Actor: actor, Note: "Import fra SD-Løn"},
			"source":       event.Source{LSN: fmt.Sprintf("0/%X", 0x3000000+i*0x100), Xid: uint32(i), CommitTime: time.Unix(1709280000+int64(i), 0).UTC()},
			"changed":      []string{"job_function", "validity"},
			"object": map[string]any{"type": typ, "uuid": uuid, "validities": []map[string]any{{
				"validity": mo.Validity{From: &from}, "user_key": "12345", "person": "3c1a9f2e-5b7d-4e8a-9c6f-2d4b1a0e7f53",
				"org_unit": "b5f0d7c3-2e4a-4c6b-9d8f-1a3c5e7b9d02", "engagement_type": "0b7f5e2c-91d4-4a36-8c1e-7a2f9d3b6e15",
				"job_function": "9a4e6b2d-1c3f-4a5e-8b7d-6f0e2d4c1a38", "primary": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "fraction": 1000000,
			}}},
		}
		batch = append(batch, &kgo.Record{Topic: env.topics.Object(typ), Key: []byte(uuid), Value: mustMarshal(b, msg)})
		if len(batch) == 1000 || i == b.N-1 {
			if err := p.publish(ctx, batch, commitTxn); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	priv, _ := testKey(b)
	reg := prometheus.NewRegistry()
	cfg := Config{}
	cfg.Defaults()

	b.ResetTimer()
	began := time.Now()
	stop := start(b, env.newBuilder(b, cfg, priv, reg))
	for {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() == "mocdc_ledger_entries_total" {
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		if int(n) >= b.N {
			break
		}
		if ctx.Err() != nil {
			b.Fatalf("%v entries of %d", n, b.N)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
}

// BenchmarkVerify: a ledger of b.N entries (with a checkpoint every 1000)
// → how fast Verify walks it from Kafka (records/s).
func BenchmarkVerify(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env := newKafkaEnv(b)
	cl, err := kgo.NewClient(append(env.opts, kgo.TransactionalID(env.prefix+"bench"), kgo.ProducerBatchMaxBytes(4<<20))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if err := EnsureTopic(ctx, kadm.NewClient(cl), env.topics.Ledger(), 1); err != nil {
		b.Fatal(err)
	}
	key := exampleKey()
	c := newChain(genesis(), key, 1000, time.Hour)
	at := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	records := 0
	var batch []*kgo.Record
	for i := range b.N {
		e := exampleEntries()[i%3]
		e.Source.Offset = int64(i)
		batch = append(batch, &kgo.Record{Topic: env.topics.Ledger(), Value: c.entry(e, at)})
		if c.countDue() {
			_, v := c.checkpoint(at)
			batch = append(batch, &kgo.Record{Topic: env.topics.Ledger(), Value: v})
		}
		if len(batch) >= 1000 || i == b.N-1 {
			if err := cl.BeginTransaction(); err != nil {
				b.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				b.Fatal(err)
			}
			records += len(batch)
			batch = batch[:0]
		}
	}

	b.ResetTimer()
	rep, err := Verify(ctx, env.opts, env.topics.Ledger(), key.Public().(ed25519.PublicKey), VerifyOptions{})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Break != nil || rep.Records != int64(records) {
		b.Fatalf("verify: %d of %d records, %v", rep.Records, records, rep.Break)
	}
	b.ReportMetric(float64(rep.Records)/rep.Elapsed.Seconds(), "records/s")
}
