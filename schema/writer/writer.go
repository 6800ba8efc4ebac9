package writer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
)

// Store is the LoRa writer that Writer drives: one PostgreSQL transaction
// per call, each writing one registration. *store.Writer implements it.
type Store interface {
	Create(ctx context.Context, c *lora.Class, uuid string, m store.Meta, s lora.State) error
	// Modify computes the new state from the current one in the same
	// transaction (read, change, write), like OS2mo's edit.
	Modify(ctx context.Context, c *lora.Class, uuid string, m store.Meta, fn func(lora.State) (lora.State, error)) error
	Delete(ctx context.Context, c *lora.Class, uuid string, m store.Meta) error
}

// Scopes looks up the scope (omfang) of a class, for addresses.
type Scopes interface {
	ClassScope(ctx context.Context, class string) (string, error)
}

// Writer makes MO changes. It is safe for concurrent use when Store is, but
// two concurrent changes of the same object race as they would in OS2mo
// without its locking: churn changes each object from one goroutine.
type Writer struct {
	store  Store
	scopes Scopes
	org    string
}

// New returns a Writer that ties every object to root organisation org.
func New(st Store, scopes Scopes, org string) *Writer {
	return &Writer{store: st, scopes: scopes, org: org}
}

// Meta is who makes a change and why (OS2mo's registration actor and note).
type Meta struct {
	Actor string
	Note  string
}

// Notes OS2mo writes.
const (
	NoteCreate    = "Oprettet i MO"
	NoteTerminate = "Afslut"
	NoteDelete    = "Slet"
)

func classOf(typ mo.Type) (*mo.Spec, *lora.Class, error) {
	spec := mo.SpecOf(typ)
	if spec == nil {
		return nil, nil, fmt.Errorf("unknown MO type %q", typ)
	}
	return spec, lora.ClassByName(spec.Class), nil
}

func (w *Writer) context(ctx context.Context, spec *mo.Spec, f Fields, cur *lora.State) (Context, error) {
	cx := Context{Organisation: w.org}
	if spec.Type != mo.Address {
		return cx, nil
	}
	if at, ok := f["address_type"].(string); ok && at != "" {
		scope, err := w.scopes.ClassScope(ctx, at)
		if err != nil {
			return cx, fmt.Errorf("scope of address type %s: %w", at, err)
		}
		cx.Scope = scope
		return cx, nil
	}
	if cur != nil {
		for _, r := range cur.Relations {
			if r.Kind == "adresser" && r.ObjektType != "" {
				cx.Scope = r.ObjektType
			}
		}
	}
	return cx, nil
}

// Create writes a new object of type typ valid during v.
func (w *Writer) Create(ctx context.Context, typ mo.Type, uuid string, v mo.Validity, f Fields, m Meta) error {
	spec, c, err := classOf(typ)
	if err != nil {
		return err
	}
	cx, err := w.context(ctx, spec, f, nil)
	if err != nil {
		return err
	}
	s, err := Encode(spec, v.Period(), f, cx)
	if err != nil {
		return err
	}
	if m.Note == "" {
		m.Note = NoteCreate
	}
	return w.store.Create(ctx, c, uuid, store.Meta{Actor: m.Actor, Note: m.Note, Lifecycle: lora.Opstaaet}, s)
}

// Update sets fields f of an object during v (OS2mo's edit: typically from
// a date, open-ended).
func (w *Writer) Update(ctx context.Context, typ mo.Type, uuid string, v mo.Validity, f Fields, m Meta) error {
	spec, c, err := classOf(typ)
	if err != nil {
		return err
	}
	if m.Note == "" {
		m.Note = "Rediger " + string(typ)
	}
	return w.store.Modify(ctx, c, uuid, store.Meta{Actor: m.Actor, Note: m.Note, Lifecycle: lora.Rettet}, func(cur lora.State) (lora.State, error) {
		cx, err := w.context(ctx, spec, f, &cur)
		if err != nil {
			return lora.State{}, err
		}
		return Apply(spec, cur, v.Period(), f, cx)
	})
}

// Terminate ends an object after lastDay.
func (w *Writer) Terminate(ctx context.Context, typ mo.Type, uuid string, lastDay mo.Date, m Meta) error {
	_, c, err := classOf(typ)
	if err != nil {
		return err
	}
	if m.Note == "" {
		m.Note = NoteTerminate
	}
	return w.store.Modify(ctx, c, uuid, store.Meta{Actor: m.Actor, Note: m.Note, Lifecycle: lora.Rettet}, func(cur lora.State) (lora.State, error) {
		return Terminate(c, cur, lastDay), nil
	})
}

// Delete deletes an object (a registration with lifecycle Slettet).
func (w *Writer) Delete(ctx context.Context, typ mo.Type, uuid string, m Meta) error {
	_, c, err := classOf(typ)
	if err != nil {
		return err
	}
	if m.Note == "" {
		m.Note = NoteDelete
	}
	return w.store.Delete(ctx, c, uuid, store.Meta{Actor: m.Actor, Note: m.Note, Lifecycle: lora.Slettet})
}

// ErrNoChange is returned (wrapped) when an update changes nothing; like
// OS2mo, the transaction is rolled back.
var ErrNoChange = store.ErrNoChange

// SQLScopes looks up class scopes in the MO store itself: the omfang of
// the class's open registration.
type SQLScopes struct {
	DB interface {
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

// ClassScope implements Scopes.
func (s SQLScopes) ClassScope(ctx context.Context, class string) (string, error) {
	var scope *string
	err := s.DB.QueryRow(ctx, `SELECT a.omfang FROM actual_state.klasse_registrering r
		JOIN actual_state.klasse_attr_egenskaber a ON a.klasse_registrering_id = r.id
		WHERE r.klasse_id = $1 AND upper((r.registrering).timeperiod) = 'infinity'
		ORDER BY upper((a.virkning).timeperiod) DESC LIMIT 1`, class).Scan(&scope)
	if err != nil {
		return "", fmt.Errorf("scope of class %s: %w", class, err)
	}
	if scope == nil {
		return "", nil
	}
	return *scope, nil
}
