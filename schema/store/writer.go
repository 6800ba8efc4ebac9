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

// Writer writes LoRa registrations the way OS2mo's stored procedures do:
// one PostgreSQL transaction per call, holding one new registration with the
// object's complete state, rows in OS2mo's order. It is safe for concurrent
// use when its DB is (a pool); two concurrent changes of one object are
// serialised by a row lock on the object.
type Writer struct {
	db DB
}

// NewWriter returns a Writer on db (a *pgx.Conn or a *pgxpool.Pool) whose
// schema Init has created.
func NewWriter(db DB) *Writer { return &Writer{db: db} }

// Create writes a new object: INSERT of the object row, of its registration
// [now, infinity) with lifecycle m.Lifecycle (Opstaaet by default, or
// Importeret), then one INSERT per egenskaber, udvidelser and tils row and
// one INSERT of all relation rows, as as_create_or_import_<class> does; the
// tils INSERTs fire the touch UPDATEs of the attr rows. s needs at least one
// egenskaber and one tils row. A uuid that exists returns ErrExists.
func (w *Writer) Create(ctx context.Context, c *lora.Class, uuid string, m Meta, s State) error {
	lc, err := createLifecycle(c, uuid, m, s)
	if err != nil {
		return err
	}
	return w.inTx(ctx, c, uuid, "create", func(tx pgx.Tx) error {
		var reg int64
		var now pgtype.Timestamptz
		if err := tx.QueryRow(ctx, "SELECT nextval($1::regclass), clock_timestamp()", qual(sequence(c.RegistreringTable()))).Scan(&reg, &now); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(setTimeZone)
		b.Queue("INSERT INTO "+qual(c.Table())+" (id) VALUES ($1)", uuid)
		queue(b, registrationInsert(c, reg, uuid, now, m, lc))
		for _, r := range s.Egenskaber {
			if err := queueAttrs(b, c, c.EgenskaberTable(), egenskaberColumns(c), []AttrRow{r}, reg); err != nil {
				return err
			}
		}
		for _, r := range s.Udvidelser {
			if err := queueAttrs(b, c, c.UdvidelserTable(), c.Udvidelser, []AttrRow{r}, reg); err != nil {
				return err
			}
		}
		for _, r := range s.Tils {
			queue(b, tilsInsert(c, []TilsRow{r}, []int64{reg}))
		}
		if len(s.Relations) > 0 {
			queue(b, relationInsert(c, s.Relations, repeat(reg, len(s.Relations))))
		}
		return runBatch(ctx, tx, b)
	})
}

func createLifecycle(c *lora.Class, uuid string, m Meta, s State) (lora.Lifecycle, error) {
	if c == nil {
		return "", invalid("nil class")
	}
	lc := m.Lifecycle
	if lc == "" {
		lc = lora.Opstaaet
	}
	if lc != lora.Opstaaet && lc != lora.Importeret {
		return "", fmt.Errorf("create %s %s: %w: lifecycle %s (want Opstaaet or Importeret)", c.Name, uuid, ErrInvalid, lc)
	}
	err := checkUUID("uuid", uuid)
	if err == nil {
		err = checkMeta(m)
	}
	if err == nil {
		err = validate(c, s)
	}
	if err == nil && (len(s.Egenskaber) == 0 || len(s.Tils) == 0) {
		// OS2mo: "Savner påkraevet attribut/tilstand".
		err = invalid("a new object needs at least one egenskaber row and one %s row", c.Tils)
	}
	if err != nil {
		return "", fmt.Errorf("create %s %s: %w", c.Name, uuid, err)
	}
	return lc, nil
}

// Update writes a new registration (lifecycle Rettet by default, or
// Passiveret or Importeret) with the complete new state s: it closes the
// open registration at clock_timestamp(), inserts the new one from that
// instant, then the relation rows, the tils rows (each group of tils rows
// one statement, followed by its touch UPDATEs), the egenskaber and the
// udvidelser rows, as as_update_<class> does. If s equals the current state
// it returns ErrNoChange and writes nothing; ErrNotFound, ErrDeleted,
// ErrTransition and ErrNoOpenRegistration when the object cannot change.
func (w *Writer) Update(ctx context.Context, c *lora.Class, uuid string, m Meta, s State) error {
	if c == nil {
		return invalid("nil class")
	}
	lc, err := checkUpdate(uuid, m)
	if err == nil {
		err = validate(c, s)
	}
	if err != nil {
		return fmt.Errorf("update %s %s: %w", c.Name, uuid, err)
	}
	return w.change(ctx, c, uuid, m, lc, &s, nil)
}

// Delete writes a registration with lifecycle Slettet and no rows, closing
// the open one at the same instant. Deleting a deleted object returns
// ErrDeleted.
func (w *Writer) Delete(ctx context.Context, c *lora.Class, uuid string, m Meta) error {
	if c == nil {
		return invalid("nil class")
	}
	if m.Lifecycle != "" && m.Lifecycle != lora.Slettet {
		return fmt.Errorf("delete %s %s: %w: lifecycle %s (want Slettet)", c.Name, uuid, ErrInvalid, m.Lifecycle)
	}
	err := checkUUID("uuid", uuid)
	if err == nil {
		err = checkMeta(m)
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", c.Name, uuid, err)
	}
	return w.change(ctx, c, uuid, m, lora.Slettet, nil, nil)
}

// checkUpdate checks an update's input and returns its lifecycle (Rettet
// unless m says Passiveret or Importeret).
func checkUpdate(uuid string, m Meta) (lora.Lifecycle, error) {
	lc := m.Lifecycle
	if lc == "" {
		lc = lora.Rettet
	}
	if lc != lora.Rettet && lc != lora.Passiveret && lc != lora.Importeret {
		return "", fmt.Errorf("%w: lifecycle %s (want Rettet, Passiveret or Importeret)", ErrInvalid, lc)
	}
	if err := checkUUID("uuid", uuid); err != nil {
		return "", err
	}
	return lc, checkMeta(m)
}

// open is the registration a change closes.
type open struct {
	id        int64
	lifecycle lora.Lifecycle
	now       pgtype.Timestamptz // clock_timestamp(): end of the old, start of the new
	next      int64              // id of the new registration
}

// Modify is Update with the new state computed from the current one in
// the same transaction, under the lock on the open registration: fn gets
// the current state and returns the new one. It is what OS2mo's edit does
// (read, change, write as one procedure call), and it cannot lose a
// concurrent change. Errors as for Update, plus whatever fn returns.
func (w *Writer) Modify(ctx context.Context, c *lora.Class, uuid string, m Meta, fn func(State) (State, error)) error {
	if c == nil {
		return invalid("nil class")
	}
	lc, err := checkUpdate(uuid, m)
	if err != nil {
		return fmt.Errorf("update %s %s: %w", c.Name, uuid, err)
	}
	return w.change(ctx, c, uuid, m, lc, nil, fn)
}

func (w *Writer) change(ctx context.Context, c *lora.Class, uuid string, m Meta, lc lora.Lifecycle, s *State, fn func(State) (State, error)) error {
	op := "update"
	if s == nil && fn == nil {
		op = "delete"
	}
	return w.inTx(ctx, c, uuid, op, func(tx pgx.Tx) error {
		o, err := lockOpen(ctx, tx, c, uuid)
		if err != nil {
			return err
		}
		if !allowedTransition(o.lifecycle, lc) {
			if o.lifecycle == lora.Slettet {
				return ErrDeleted
			}
			return fmt.Errorf("%w: %s after %s", ErrTransition, lc, o.lifecycle)
		}
		b := &pgx.Batch{}
		b.Queue(setTimeZone)
		b.Queue(fmt.Sprintf("UPDATE %s SET registrering.timeperiod = tstzrange(lower((registrering).timeperiod), $2, '[)') WHERE id = $1",
			qual(c.RegistreringTable())), o.id, o.now)
		queue(b, registrationInsert(c, o.next, uuid, o.now, m, lc))
		if s != nil || fn != nil {
			old, err := readState(ctx, tx, c, o.id)
			if err != nil {
				return err
			}
			if fn != nil {
				next, err := fn(old)
				if err != nil {
					return err
				}
				if err := validate(c, next); err != nil {
					return err
				}
				s = &next
			}
			if sameState(c, *s, old) {
				return ErrNoChange
			}
			if err := queueState(b, c, *s, old, o.next); err != nil {
				return err
			}
		}
		return runBatch(ctx, tx, b)
	})
}

// queueState queues the rows of new registration reg in as_update's order:
// relations, tils, egenskaber, udvidelser; in each, the given rows before
// the carried ones (see split).
func queueState(b *pgx.Batch, c *lora.Class, s, old State, reg int64) error {
	given, carried := split(relationKeys(s.Relations), relationKeys(old.Relations))
	for _, idx := range [][]int{given, carried} {
		if len(idx) > 0 {
			queue(b, relationInsert(c, pick(s.Relations, idx), repeat(reg, len(idx))))
		}
	}
	given, carried = split(tilsKeys(s.Tils), tilsKeys(old.Tils))
	for _, idx := range [][]int{given, carried} {
		if len(idx) > 0 {
			queue(b, tilsInsert(c, pick(s.Tils, idx), repeat(reg, len(idx))))
		}
	}
	for _, t := range []struct {
		table    string
		cols     []lora.Column
		cur, old []AttrRow
	}{
		{c.EgenskaberTable(), egenskaberColumns(c), s.Egenskaber, old.Egenskaber},
		{c.UdvidelserTable(), c.Udvidelser, s.Udvidelser, old.Udvidelser},
	} {
		given, carried := split(attrKeys(t.cols, t.cur), attrKeys(t.cols, t.old))
		for _, idx := range [][]int{given, carried} {
			if len(idx) > 0 {
				if err := queueAttrs(b, c, t.table, t.cols, pick(t.cur, idx), reg); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func queueAttrs(b *pgx.Batch, c *lora.Class, table string, cols []lora.Column, rows []AttrRow, reg int64) error {
	ins, err := attrInsert(c, table, cols, rows, repeat(reg, len(rows)))
	if err != nil {
		return err
	}
	queue(b, ins)
	return nil
}

// lockOpen locks the object row (so concurrent changes of one object queue
// up instead of racing for the open registration) and returns its open
// registration, the instant that closes it and the id of the next one.
func lockOpen(ctx context.Context, tx pgx.Tx, c *lora.Class, uuid string) (open, error) {
	var o open
	var one int
	err := tx.QueryRow(ctx, fmt.Sprintf("SELECT 1 FROM %s WHERE id = $1 FOR NO KEY UPDATE", qual(c.Table())), uuid).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, err
	}
	var lc string
	err = tx.QueryRow(ctx, fmt.Sprintf(
		"SELECT r.id, (r.registrering).livscykluskode::text, clock_timestamp(), nextval(%s::regclass) FROM %s r "+
			"WHERE r.%s = $1 AND upper((r.registrering).timeperiod) = 'infinity'",
		literal(qual(sequence(c.RegistreringTable()))), qual(c.RegistreringTable()), c.ObjectFK()), uuid,
	).Scan(&o.id, &lc, &o.now, &o.next)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNoOpenRegistration
	}
	o.lifecycle = lora.Lifecycle(lc)
	return o, err
}

// Current returns the rows and the audit data of the object's open
// registration, rows in insertion order, attr Values with every column of
// the table (nil for NULL). A deleted object has an open registration too:
// its Meta.Lifecycle is Slettet and its State is empty.
func (w *Writer) Current(ctx context.Context, c *lora.Class, uuid string) (State, Meta, error) {
	var s State
	var m Meta
	if c == nil {
		return s, m, invalid("nil class")
	}
	if err := checkUUID("uuid", uuid); err != nil {
		return s, m, fmt.Errorf("read %s %s: %w", c.Name, uuid, err)
	}
	err := w.inTx(ctx, c, uuid, "read", func(tx pgx.Tx) error {
		var reg int64
		var lc string
		var actor, note pgtype.Text
		err := tx.QueryRow(ctx, fmt.Sprintf(
			"SELECT r.id, (r.registrering).livscykluskode::text, (r.registrering).brugerref::text, (r.registrering).note FROM %s r "+
				"WHERE r.%s = $1 AND upper((r.registrering).timeperiod) = 'infinity'",
			qual(c.RegistreringTable()), c.ObjectFK()), uuid).Scan(&reg, &lc, &actor, &note)
		if errors.Is(err, pgx.ErrNoRows) {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+qual(c.Table())+" WHERE id = $1", uuid).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
			return ErrNoOpenRegistration
		}
		if err != nil {
			return err
		}
		m = Meta{Actor: actor.String, Note: note.String, Lifecycle: lora.Lifecycle(lc)}
		s, err = readState(ctx, tx, c, reg)
		return err
	})
	return s, m, err
}

// inTx runs fn in a transaction and commits it; any error rolls back and is
// returned wrapped as "<op> <class> <uuid>: ...". A unique violation on the
// object's primary key becomes ErrExists.
func (w *Writer) inTx(ctx context.Context, c *lora.Class, uuid, op string, fn func(pgx.Tx) error) error {
	wrap := func(err error) error { return fmt.Errorf("%s %s %s: %w", op, c.Name, uuid, err) }
	tx, err := w.db.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == c.Table() {
			return wrap(fmt.Errorf("%w: %v", ErrExists, err))
		}
		return wrap(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err)
	}
	return nil
}
