package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Every multi-row INSERT is one statement over unnest() of parameter
// arrays, whatever the number of rows: the statement text depends only on
// the table, so pgx prepares it once per connection, and one statement is
// one firing point of the AFTER triggers, as in OS2mo's procedures.

// virkningExpr builds the virkning value as OS2mo writes it: actor and actor
// type NULL, note ”.
const virkningExpr = "ROW(tstzrange(u.lo, u.hi, '[)'), NULL::uuid, NULL::" + lora.Schema + ".aktoertypekode, ''::text)::" + lora.Schema + ".virkning"

// setTimeZone makes the transaction's session use the store's time zone.
const setTimeZone = "SELECT set_config('TimeZone', '" + TimeZone + "', true)"

// insert is one statement and its arguments.
type insert struct {
	sql  string
	args []any
}

// cast returns the SQL that turns text expression e into column type t.
func cast(e, t string) string {
	if t == "text" {
		return e
	}
	return e + "::" + sqlType(t)
}

// attrInsert inserts rows into an attr table; regs[i] is row i's
// registration id.
func attrInsert(c *lora.Class, table string, cols []lora.Column, rows []AttrRow, regs []int64) (insert, error) {
	names := make([]string, 0, len(cols)+2)
	exprs := make([]string, 0, len(cols)+2)
	params := make([]string, 0, len(cols)+3)
	aliases := make([]string, 0, len(cols)+4)
	args := make([]any, 0, len(cols)+3)
	for i, col := range cols {
		vals := make([]pgtype.Text, len(rows))
		for j, r := range rows {
			v, err := encodeValue(col, r.Values[col.Name])
			if err != nil {
				return insert{}, invalid("%s row %d: %v", table, j, err)
			}
			vals[j] = v
		}
		names = append(names, quoteIdent(col.Name))
		exprs = append(exprs, cast(fmt.Sprintf("u.c%d", i), col.Type))
		params = append(params, fmt.Sprintf("$%d::text[]", len(args)+1))
		aliases = append(aliases, fmt.Sprintf("c%d", i))
		args = append(args, vals)
	}
	lo, hi := bounds(len(rows), func(i int) mo.Period { return rows[i].Period })
	names = append(names, "virkning", c.RegistreringFK())
	exprs = append(exprs, virkningExpr, "u.reg")
	n := len(args)
	params = append(params, fmt.Sprintf("$%d::timestamptz[]", n+1), fmt.Sprintf("$%d::timestamptz[]", n+2), fmt.Sprintf("$%d::bigint[]", n+3))
	aliases = append(aliases, "lo", "hi", "reg", "ord")
	args = append(args, lo, hi, regs)
	return insert{sql: unnestInsert(table, names, exprs, params, aliases), args: args}, nil
}

// tilsInsert inserts rows into the tils table.
func tilsInsert(c *lora.Class, rows []TilsRow, regs []int64) insert {
	vals := make([]string, len(rows))
	for i, r := range rows {
		vals[i] = r.Value
	}
	lo, hi := bounds(len(rows), func(i int) mo.Period { return rows[i].Period })
	return insert{
		sql: unnestInsert(c.TilsTable(),
			[]string{"virkning", quoteIdent(c.Tils), c.RegistreringFK()},
			[]string{virkningExpr, "u.v::" + qual(tilsType(c)), "u.reg"},
			[]string{"$1::text[]", "$2::timestamptz[]", "$3::timestamptz[]", "$4::bigint[]"},
			[]string{"v", "lo", "hi", "reg", "ord"}),
		args: []any{vals, lo, hi, regs},
	}
}

// relationInsert inserts rows into the relation table. Empty UUID, URN and
// ObjektType are NULL, as OS2mo stores them.
func relationInsert(c *lora.Class, rows []RelationRow, regs []int64) insert {
	uuids := make([]pgtype.Text, len(rows))
	urns := make([]pgtype.Text, len(rows))
	kinds := make([]string, len(rows))
	types := make([]pgtype.Text, len(rows))
	for i, r := range rows {
		uuids[i] = nullText(r.UUID)
		urns[i] = nullText(r.URN)
		kinds[i] = r.Kind
		types[i] = nullText(r.ObjektType)
	}
	lo, hi := bounds(len(rows), func(i int) mo.Period { return rows[i].Period })
	return insert{
		sql: unnestInsert(c.RelationTable(),
			[]string{c.RegistreringFK(), "virkning", "rel_maal_uuid", "rel_maal_urn", "rel_type", "objekt_type"},
			[]string{"u.reg", virkningExpr, "u.uuid::uuid", "u.urn", "u.kind::" + qual(relationType(c)), "u.ot"},
			[]string{"$1::bigint[]", "$2::timestamptz[]", "$3::timestamptz[]", "$4::text[]", "$5::text[]", "$6::text[]", "$7::text[]"},
			[]string{"reg", "lo", "hi", "uuid", "urn", "kind", "ot", "ord"}),
		args: []any{regs, lo, hi, uuids, urns, kinds, types},
	}
}

func unnestInsert(table string, names, exprs, params, aliases []string) string {
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM unnest(%s) WITH ORDINALITY AS u(%s) ORDER BY u.ord",
		qual(table), strings.Join(names, ", "), strings.Join(exprs, ", "), strings.Join(params, ", "), strings.Join(aliases, ", "))
}

// registrationInsert inserts registration id of object uuid starting at
// from (open-ended).
func registrationInsert(c *lora.Class, id int64, uuid string, from pgtype.Timestamptz, m Meta, lc lora.Lifecycle) insert {
	return insert{
		sql: fmt.Sprintf("INSERT INTO %s (id, %s, registrering) VALUES ($1, $2, "+
			"ROW(tstzrange($3, 'infinity', '[)'), $4::%s, $5::uuid, $6::text)::%s)",
			qual(c.RegistreringTable()), c.ObjectFK(), qual("livscykluskode"), qual("registreringbase")),
		args: []any{id, uuid, from, string(lc), nullText(m.Actor), nullText(m.Note)},
	}
}

func bounds(n int, period func(int) mo.Period) (lo, hi []pgtype.Timestamptz) {
	lo, hi = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
	for i := 0; i < n; i++ {
		p := period(i)
		lo[i], hi[i] = bound(p.From), bound(p.To)
	}
	return lo, hi
}

func repeat(id int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = id
	}
	return out
}

func nullText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// queue adds ins to b.
func queue(b *pgx.Batch, ins insert) { b.Queue(ins.sql, ins.args...) }

// runBatch sends b in tx and returns the first error.
func runBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	br := tx.SendBatch(ctx, b)
	for i := 0; i < b.Len(); i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// readState reads the rows of registration reg, in insertion order. Values
// maps hold every column of the table (nil for NULL).
func readState(ctx context.Context, tx pgx.Tx, c *lora.Class, reg int64) (State, error) {
	var s State
	var err error
	if s.Egenskaber, err = readAttrs(ctx, tx, c, c.EgenskaberTable(), egenskaberColumns(c), reg); err != nil {
		return s, err
	}
	if len(c.Udvidelser) > 0 {
		if s.Udvidelser, err = readAttrs(ctx, tx, c, c.UdvidelserTable(), c.Udvidelser, reg); err != nil {
			return s, err
		}
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(
		"SELECT lower((virkning).timeperiod), upper((virkning).timeperiod), %s::text FROM %s WHERE %s = $1 ORDER BY id",
		quoteIdent(c.Tils), qual(c.TilsTable()), c.RegistreringFK()), reg)
	if err != nil {
		return s, fmt.Errorf("read %s: %w", c.TilsTable(), err)
	}
	var lo, hi pgtype.Timestamptz
	var v string
	if _, err := pgx.ForEachRow(rows, []any{&lo, &hi, &v}, func() error {
		s.Tils = append(s.Tils, TilsRow{Period: mo.Period{From: fromBound(lo), To: fromBound(hi)}, Value: v})
		return nil
	}); err != nil {
		return s, fmt.Errorf("read %s: %w", c.TilsTable(), err)
	}
	rows, err = tx.Query(ctx, fmt.Sprintf(
		"SELECT lower((virkning).timeperiod), upper((virkning).timeperiod), rel_type::text, rel_maal_uuid::text, rel_maal_urn, objekt_type "+
			"FROM %s WHERE %s = $1 ORDER BY id", qual(c.RelationTable()), c.RegistreringFK()), reg)
	if err != nil {
		return s, fmt.Errorf("read %s: %w", c.RelationTable(), err)
	}
	var kind string
	var uuid, urn, ot pgtype.Text
	if _, err := pgx.ForEachRow(rows, []any{&lo, &hi, &kind, &uuid, &urn, &ot}, func() error {
		s.Relations = append(s.Relations, RelationRow{
			Period: mo.Period{From: fromBound(lo), To: fromBound(hi)},
			Kind:   kind, UUID: uuid.String, URN: urn.String, ObjektType: ot.String,
		})
		return nil
	}); err != nil {
		return s, fmt.Errorf("read %s: %w", c.RelationTable(), err)
	}
	return s, nil
}

func readAttrs(ctx context.Context, tx pgx.Tx, c *lora.Class, table string, cols []lora.Column, reg int64) ([]AttrRow, error) {
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = quoteIdent(col.Name)
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(
		"SELECT lower((virkning).timeperiod), upper((virkning).timeperiod), %s FROM %s WHERE %s = $1 ORDER BY id",
		strings.Join(names, ", "), qual(table), c.RegistreringFK()), reg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	var out []AttrRow
	var lo, hi pgtype.Timestamptz
	vals := make([]any, len(cols))
	dest := []any{&lo, &hi}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	if _, err := pgx.ForEachRow(rows, dest, func() error {
		r := AttrRow{Period: mo.Period{From: fromBound(lo), To: fromBound(hi)}, Values: make(map[string]any, len(cols))}
		for i, col := range cols {
			r.Values[col.Name] = decodeValue(vals[i])
		}
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return out, nil
}
