package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// manyChunk is how many objects CreateMany writes per round of statements:
// large enough that per-statement costs vanish, small enough that the
// parameter arrays and the AFTER-trigger queue stay a few MB.
const manyChunk = 5000

// CreateMany writes many new objects of class c in ONE transaction, for
// seeding. Per chunk of objects it runs one multi-row INSERT per table:
// objects, registrations, tils rows, then egenskaber, udvidelser and
// relation rows. Because the tils rows go in before the attr and relation
// rows, the BEFORE trigger computes each row's active_tils correctly at its
// INSERT and the touch trigger finds nothing to touch: the WAL holds INSERTs
// only, unlike Create's OS2mo-shaped pattern. All registrations start at the
// same clock_timestamp(). Each object is validated as by Create; any error
// writes nothing.
func (w *Writer) CreateMany(ctx context.Context, c *lora.Class, objs []Object) error {
	if c == nil {
		return invalid("nil class")
	}
	lcs := make([]string, len(objs))
	for i, o := range objs {
		lc, err := createLifecycle(c, o.UUID, o.Meta, o.State)
		if err != nil {
			return fmt.Errorf("create many: object %d: %w", i, err)
		}
		lcs[i] = string(lc)
	}
	tx, err := w.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create many %s: %w", c.Name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	var now pgtype.Timestamptz
	if err := tx.QueryRow(ctx, "SELECT clock_timestamp(), set_config('TimeZone', $1, true)", TimeZone).Scan(&now, new(string)); err != nil {
		return fmt.Errorf("create many %s: %w", c.Name, err)
	}
	for start := 0; start < len(objs); start += manyChunk {
		end := min(start+manyChunk, len(objs))
		if err := createChunk(ctx, tx, c, objs[start:end], lcs[start:end], now); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == c.Table() {
				err = fmt.Errorf("%w: %v", ErrExists, err)
			}
			return fmt.Errorf("create many %s (objects %d-%d): %w", c.Name, start, end-1, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("create many %s: commit: %w", c.Name, err)
	}
	return nil
}

func createChunk(ctx context.Context, tx pgx.Tx, c *lora.Class, objs []Object, lcs []string, now pgtype.Timestamptz) error {
	ids := make([]int64, 0, len(objs))
	rows, err := tx.Query(ctx, "SELECT nextval($1::regclass) FROM generate_series(1, $2)", qual(sequence(c.RegistreringTable())), len(objs))
	if err != nil {
		return err
	}
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { ids = append(ids, id); return nil }); err != nil {
		return fmt.Errorf("reserve registration ids: %w", err)
	}

	uuids := make([]string, len(objs))
	actors := make([]pgtype.Text, len(objs))
	notes := make([]pgtype.Text, len(objs))
	var eg, udv []AttrRow
	var egReg, udvReg, tilsReg, relReg []int64
	var tils []TilsRow
	var rels []RelationRow
	for i, o := range objs {
		uuids[i] = o.UUID
		actors[i] = nullText(o.Meta.Actor)
		notes[i] = nullText(o.Meta.Note)
		eg = append(eg, o.State.Egenskaber...)
		egReg = append(egReg, repeat(ids[i], len(o.State.Egenskaber))...)
		udv = append(udv, o.State.Udvidelser...)
		udvReg = append(udvReg, repeat(ids[i], len(o.State.Udvidelser))...)
		tils = append(tils, o.State.Tils...)
		tilsReg = append(tilsReg, repeat(ids[i], len(o.State.Tils))...)
		rels = append(rels, o.State.Relations...)
		relReg = append(relReg, repeat(ids[i], len(o.State.Relations))...)
	}

	b := &pgx.Batch{}
	b.Queue(fmt.Sprintf("INSERT INTO %s (id) SELECT u::uuid FROM unnest($1::text[]) WITH ORDINALITY AS t(u, ord) ORDER BY ord", qual(c.Table())), uuids)
	b.Queue(fmt.Sprintf("INSERT INTO %s (id, %s, registrering) "+
		"SELECT u.id, u.obj::uuid, ROW(tstzrange($1, 'infinity', '[)'), u.lc::%s, u.actor::uuid, u.note)::%s "+
		"FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(id, obj, lc, actor, note, ord) ORDER BY u.ord",
		qual(c.RegistreringTable()), c.ObjectFK(), qual("livscykluskode"), qual("registreringbase")),
		now, ids, uuids, lcs, actors, notes)
	if len(tils) > 0 {
		queue(b, tilsInsert(c, tils, tilsReg))
	}
	if len(eg) > 0 {
		ins, err := attrInsert(c, c.EgenskaberTable(), egenskaberColumns(c), eg, egReg)
		if err != nil {
			return err
		}
		queue(b, ins)
	}
	if len(udv) > 0 {
		ins, err := attrInsert(c, c.UdvidelserTable(), c.Udvidelser, udv, udvReg)
		if err != nil {
			return err
		}
		queue(b, ins)
	}
	if len(rels) > 0 {
		queue(b, relationInsert(c, rels, relReg))
	}
	return runBatch(ctx, tx, b)
}
