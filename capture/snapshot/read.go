package snapshot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Querier is the part of pgx that reading needs: a *pgx.Conn, a pgx.Tx or a
// *pgxpool.Pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Registration is one LoRa registration with its complete state.
type Registration struct {
	Class *lora.Class
	ID    int64
	UUID  string
	Reg   lora.Registrering
	State lora.State
}

func q(table string) string { return pgx.Identifier{lora.Schema, table}.Sanitize() }

// ReadRegistrations returns the registrations of class c with the given
// ids, in id order, with all their rows. Ids that do not exist are left
// out.
func ReadRegistrations(ctx context.Context, db Querier, c *lora.Class, ids []int64) ([]*Registration, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	regs := map[int64]*Registration{}
	var order []*Registration
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT id, %s::text, lower((registrering).timeperiod), upper((registrering).timeperiod),
		(registrering).livscykluskode::text, (registrering).brugerref::text, (registrering).note
		FROM %s WHERE id = ANY($1) ORDER BY id`, pgx.Identifier{c.ObjectFK()}.Sanitize(), q(c.RegistreringTable())), ids)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.RegistreringTable(), err)
	}
	for rows.Next() {
		r := &Registration{Class: c}
		var from, to pgtype.Timestamptz
		var life, actor, note *string
		if err := rows.Scan(&r.ID, &r.UUID, &from, &to, &life, &actor, &note); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read %s: %w", c.RegistreringTable(), err)
		}
		r.Reg = lora.Registrering{Period: mo.Period{From: lowerTime(from), To: upperTime(to)},
			Lifecycle: lora.Lifecycle(deref(life)), Actor: deref(actor), Note: deref(note)}
		regs[r.ID] = r
		order = append(order, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.RegistreringTable(), err)
	}
	if err := readRows(ctx, db, c, ids, regs); err != nil {
		return nil, err
	}
	return order, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func lowerTime(t pgtype.Timestamptz) time.Time {
	switch {
	case !t.Valid, t.InfinityModifier == pgtype.NegativeInfinity:
		return mo.NegInf
	case t.InfinityModifier == pgtype.Infinity:
		return mo.PosInf
	}
	return t.Time
}

func upperTime(t pgtype.Timestamptz) time.Time {
	switch {
	case !t.Valid, t.InfinityModifier == pgtype.Infinity:
		return mo.PosInf
	case t.InfinityModifier == pgtype.NegativeInfinity:
		return mo.NegInf
	}
	return t.Time
}

// readRows fills the state of every registration in regs.
func readRows(ctx context.Context, db Querier, c *lora.Class, ids []int64, regs map[int64]*Registration) error {
	fk := pgx.Identifier{c.RegistreringFK()}.Sanitize()
	period := `lower((virkning).timeperiod), upper((virkning).timeperiod)`
	attrs := func(table string, cols []lora.Column, egenskaber bool) error {
		names := make([]string, 0, len(cols)+1)
		if egenskaber {
			names = append(names, "brugervendtnoegle")
		}
		for _, col := range cols {
			names = append(names, col.Name)
		}
		sel := make([]string, len(names))
		for i, n := range names {
			sel[i] = pgx.Identifier{n}.Sanitize()
		}
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT %s, %s, %s FROM %s WHERE %s = ANY($1) ORDER BY id`,
			fk, period, strings.Join(sel, ", "), q(table), fk), ids)
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		defer rows.Close()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return fmt.Errorf("read %s: %w", table, err)
			}
			reg := regs[vals[0].(int64)]
			row := lora.AttrRow{Period: periodOf(vals[1], vals[2]), Values: make(map[string]any, len(names))}
			for i, n := range names {
				row.Values[n] = normalise(vals[3+i])
			}
			if egenskaber {
				reg.State.Egenskaber = append(reg.State.Egenskaber, row)
			} else {
				reg.State.Udvidelser = append(reg.State.Udvidelser, row)
			}
		}
		return rows.Err()
	}
	if err := attrs(c.EgenskaberTable(), c.Egenskaber, true); err != nil {
		return err
	}
	if len(c.Udvidelser) > 0 {
		if err := attrs(c.UdvidelserTable(), c.Udvidelser, false); err != nil {
			return err
		}
	}
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT %s, %s, %s::text FROM %s WHERE %s = ANY($1) ORDER BY id`,
		fk, period, pgx.Identifier{c.Tils}.Sanitize(), q(c.TilsTable()), fk), ids)
	if err != nil {
		return fmt.Errorf("read %s: %w", c.TilsTable(), err)
	}
	for rows.Next() {
		var id int64
		var from, to pgtype.Timestamptz
		var v string
		if err := rows.Scan(&id, &from, &to, &v); err != nil {
			rows.Close()
			return fmt.Errorf("read %s: %w", c.TilsTable(), err)
		}
		regs[id].State.Tils = append(regs[id].State.Tils, lora.TilsRow{Period: mo.Period{From: lowerTime(from), To: upperTime(to)}, Value: v})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", c.TilsTable(), err)
	}
	rows, err = db.Query(ctx, fmt.Sprintf(`SELECT %s, %s, rel_type::text, rel_maal_uuid::text, rel_maal_urn, objekt_type
		FROM %s WHERE %s = ANY($1) ORDER BY id`, fk, period, q(c.RelationTable()), fk), ids)
	if err != nil {
		return fmt.Errorf("read %s: %w", c.RelationTable(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var from, to pgtype.Timestamptz
		var kind string
		var uuid, urn, ot *string
		if err := rows.Scan(&id, &from, &to, &kind, &uuid, &urn, &ot); err != nil {
			return fmt.Errorf("read %s: %w", c.RelationTable(), err)
		}
		regs[id].State.Relations = append(regs[id].State.Relations, lora.RelationRow{
			Period: mo.Period{From: lowerTime(from), To: upperTime(to)},
			Kind:   kind, UUID: deref(uuid), URN: deref(urn), ObjektType: deref(ot),
		})
	}
	return rows.Err()
}

func periodOf(from, to any) mo.Period {
	conv := func(v any, lower bool) time.Time {
		switch t := v.(type) {
		case time.Time:
			return t
		case pgtype.InfinityModifier:
			if t == pgtype.Infinity {
				return mo.PosInf
			}
			return mo.NegInf
		}
		if lower {
			return mo.NegInf
		}
		return mo.PosInf
	}
	return mo.Period{From: conv(from, true), To: conv(to, false)}
}

// normalise turns pgx's scanned values into the kinds lora.AttrRow holds.
func normalise(v any) any {
	switch t := v.(type) {
	case int32:
		return int64(t)
	case int16:
		return int64(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return v
}
