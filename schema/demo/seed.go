package demo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// SeedOptions say what municipality Seed generates.
type SeedOptions struct {
	// Seed selects the municipality: the same seed (and Persons and Today)
	// gives the same uuids and values.
	Seed int64 `yaml:"seed"`
	// Persons is the number of persons (required, > 0). The municipality
	// gets about one unit per 20 persons.
	Persons int `yaml:"persons"`
	// Today is the day the data is generated around (future hires, ended
	// engagements); zero means today in Europe/Copenhagen.
	Today time.Time `yaml:"today"`
	// BatchSize is the number of objects per CreateMany transaction;
	// default 5000.
	BatchSize int `yaml:"batch_size"`
	// Workers is the number of transactions written at the same time;
	// default 2.
	Workers int `yaml:"workers"`
	// Progress, if set, is called after each written batch with the
	// objects written so far and the number Seed writes in all (counted
	// first by a dry run of the generator, which is deterministic). It may
	// be called from several goroutines at once.
	Progress func(written, total int) `yaml:"-"`
}

// Validate reports options Seed cannot use.
func (o SeedOptions) Validate() error {
	if o.Persons <= 0 {
		return fmt.Errorf("demo seed: persons must be > 0, got %d", o.Persons)
	}
	if o.BatchSize < 0 || o.Workers < 0 {
		return fmt.Errorf("demo seed: batch_size and workers must not be negative")
	}
	return nil
}

// SeedSummary says what Seed wrote.
type SeedSummary struct {
	// Counts is the number of objects per MO type.
	Counts map[mo.Type]int
	// Objects is the number of objects (the sum of Counts).
	Objects int
	// Rows is the number of LoRa rows inserted: object, registration,
	// attribute, state and relation rows (actor rows not included).
	Rows int64
	// Elapsed is the time Seed took.
	Elapsed time.Duration
	// Catalog holds the uuids of what was written, for churn and tests.
	Catalog *Catalog
}

// batch is a run of objects of one LoRa class for one CreateMany.
type batch struct {
	class *lora.Class
	items []item
}

// Seed writes a demo municipality into the empty MO store pool points at
// (store.Init must have run): the actors, the classification, a unit tree
// and opts.Persons persons with their engagements, addresses, IT users and
// the rest. It writes with store.CreateMany, opts.BatchSize objects per
// transaction, opts.Workers transactions at a time. It is not idempotent: a
// second Seed into the same store fails with store.ErrExists. On error,
// the batches already committed stay.
func Seed(ctx context.Context, pool *pgxpool.Pool, opts SeedOptions) (SeedSummary, error) {
	started := time.Now()
	if err := opts.Validate(); err != nil {
		return SeedSummary{}, err
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 5000
	}
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	st := store.NewWriter(pool)
	for _, a := range Actors {
		if err := st.UpsertActor(ctx, a.UUID, a.Name); err != nil {
			return SeedSummary{}, fmt.Errorf("demo seed: %w", err)
		}
	}

	total := 0
	if opts.Progress != nil {
		newGenerator(opts.Seed, today(opts.Today), func(item) { total++ }).run(opts.Persons)
	}
	var written atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	batches := make(chan batch, opts.Workers)
	rows := make([]int64, opts.Workers)
	for w := 0; w < opts.Workers; w++ {
		eg.Go(func() error {
			for b := range batches {
				n, err := writeBatch(ctx, st, b)
				if err != nil {
					return err
				}
				rows[w] += n
				if opts.Progress != nil {
					opts.Progress(int(written.Add(int64(len(b.items)))), total)
				}
			}
			return nil
		})
	}

	pending := map[*lora.Class][]item{}
	var order []*lora.Class
	send := func(c *lora.Class) bool {
		select {
		case batches <- batch{class: c, items: pending[c]}:
			pending[c] = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	stopped := false
	g := newGenerator(opts.Seed, today(opts.Today), func(it item) {
		if stopped {
			return
		}
		c := lora.ClassByName(mo.SpecOf(it.typ).Class)
		if _, ok := pending[c]; !ok {
			order = append(order, c)
		}
		pending[c] = append(pending[c], it)
		if len(pending[c]) >= opts.BatchSize {
			stopped = !send(c)
		}
	})
	g.run(opts.Persons)
	for _, c := range order {
		if stopped || len(pending[c]) == 0 {
			continue
		}
		stopped = !send(c)
	}
	close(batches)
	if err := eg.Wait(); err != nil {
		return SeedSummary{}, fmt.Errorf("demo seed: %w", err)
	}
	if stopped {
		return SeedSummary{}, fmt.Errorf("demo seed: %w", errors.Join(context.Cause(ctx), ctx.Err()))
	}
	s := SeedSummary{Counts: g.counts, Catalog: g.cat, Elapsed: time.Since(started)}
	for _, n := range g.counts {
		s.Objects += n
	}
	for _, n := range rows {
		s.Rows += n
	}
	return s, nil
}

// writeBatch encodes the batch's objects and writes them in one
// transaction; it returns the number of LoRa rows written.
func writeBatch(ctx context.Context, st *store.Writer, b batch) (int64, error) {
	objs := make([]store.Object, len(b.items))
	var rows int64
	for i, it := range b.items {
		spec := mo.SpecOf(it.typ)
		s, err := writer.Encode(spec, it.validity.Period(), it.fields, writer.Context{Organisation: Organisation, Scope: it.scope})
		if err != nil {
			return 0, fmt.Errorf("encode %s %s: %w", it.typ, it.uuid, err)
		}
		objs[i] = store.Object{UUID: it.uuid, Meta: it.meta, State: s}
		rows += int64(2 + len(s.Egenskaber) + len(s.Udvidelser) + len(s.Tils) + len(s.Relations))
	}
	if err := st.CreateMany(ctx, b.class, objs); err != nil {
		return 0, err
	}
	return rows, nil
}
