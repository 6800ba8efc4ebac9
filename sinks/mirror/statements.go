package mirror

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The plain statements the mirror issues besides the per-table DDL and
// merge statements of the Dialect, generated for a dialect. All of them
// appear in the golden files (testdata/<dialect>_<mode>.sql).

func params(d Dialect, first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = d.Param(first + i)
	}
	return strings.Join(ps, ", ")
}

// sqlOffsetCond is "(topic = ? AND partition_no = ?) OR …" for n
// partitions, parameters from first.
func sqlOffsetCond(d Dialect, n, first int) string {
	conds := make([]string, n)
	for i := range conds {
		conds[i] = fmt.Sprintf("(%s = %s AND %s = %s)", d.Quote("topic"), d.Param(first+2*i), d.Quote("partition_no"), d.Param(first+2*i+1))
	}
	return strings.Join(conds, " OR ")
}

// sqlLockOffsets locks n offset rows with a no-op UPDATE (a row lock in
// every dialect, without FOR UPDATE / UPDLOCK syntax).
func sqlLockOffsets(d Dialect, n int) string {
	return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s", d.Quote(tOffsets), d.Quote("next_offset"), d.Quote("next_offset"), sqlOffsetCond(d, n, 1))
}

func sqlReadOffsets(d Dialect, n int) string {
	q := fmt.Sprintf("SELECT %s FROM %s", list(d, "", []string{"topic", "partition_no", "next_offset"}), d.Quote(tOffsets))
	if n > 0 {
		q += " WHERE " + sqlOffsetCond(d, n, 1)
	}
	return q
}

// sqlLockReadOffsets locks n offset rows and reads them in one round
// trip (SELECT … FOR UPDATE), on the dialects that have it; "" elsewhere
// (SQL Server: sqlLockOffsets, then sqlReadOffsets).
func sqlLockReadOffsets(d Dialect, n int) string {
	switch d.(type) {
	case *postgres, *mysql:
		return sqlReadOffsets(d, n) + " FOR UPDATE"
	}
	return ""
}

// sqlStoreOffsets moves n existing offset rows in one statement, on the
// dialects that have it; "" elsewhere (one sqlStoreOffset per row). Its
// arguments are storeOffsetsArgs'.
func sqlStoreOffsets(d Dialect, n int) string {
	switch d.(type) {
	case *postgres:
		return fmt.Sprintf("UPDATE %s AS o SET %s = v.n FROM unnest($1::varchar[], $2::integer[], $3::bigint[]) AS v(topic, p, n) WHERE o.%s = v.topic AND o.%s = v.p",
			d.Quote(tOffsets), d.Quote("next_offset"), d.Quote("topic"), d.Quote("partition_no"))
	case *mysql:
		var sb strings.Builder
		fmt.Fprintf(&sb, "UPDATE %s SET %s = CASE", d.Quote(tOffsets), d.Quote("next_offset"))
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, " WHEN %s = ? AND %s = ? THEN ?", d.Quote("topic"), d.Quote("partition_no"))
		}
		fmt.Fprintf(&sb, " END WHERE %s", sqlOffsetCond(d, n, 1))
		return sb.String()
	}
	return ""
}

// storeOffsetsArgs binds sqlStoreOffsets for rows of (topic, partition,
// next offset).
func storeOffsetsArgs(d Dialect, topics []string, parts []int32, next []int64) []any {
	if _, ok := d.(*postgres); ok {
		return []any{topics, parts, next}
	}
	args := make([]any, 0, 5*len(topics))
	for i := range topics {
		args = append(args, topics[i], parts[i], next[i])
	}
	for i := range topics {
		args = append(args, topics[i], parts[i])
	}
	return args
}

func sqlStoreOffset(d Dialect) string {
	return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s AND %s = %s", d.Quote(tOffsets), d.Quote("next_offset"), d.Param(1),
		d.Quote("topic"), d.Param(2), d.Quote("partition_no"), d.Param(3))
}

// sqlInsertRows is a multi-row INSERT of n rows.
func sqlInsertRows(d Dialect, table string, cols []string, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s) VALUES ", d.Quote(table), list(d, "", cols))
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(" + params(d, 1+i*len(cols), len(cols)) + ")")
	}
	return sb.String()
}

// insertRows writes rows (values in the order of cols) into table
// (unquoted name) with multi-row INSERT statements of up to chunk rows
// each. NULLs are sent typed (typedNull).
func insertRows(ctx context.Context, s *session, d Dialect, table string, cols []Column, rows [][]any, chunk int) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	for len(rows) > 0 {
		n := min(chunk, len(rows))
		if _, err := s.exec(ctx, sqlInsertRows(d, table, names, n), rowArgs(cols, rows[:n], nil)...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// rowArgs appends the values of rows (in the order of cols) to args as
// parameters, NULLs typed.
func rowArgs(cols []Column, rows [][]any, args []any) []any {
	for _, r := range rows {
		for i, v := range r {
			if v == nil {
				v = typedNull(cols[i].Kind)
			}
			args = append(args, v)
		}
	}
	return args
}

// typedNull is the NULL parameter for a column of kind k. The mirror never
// binds an untyped nil: go-mssqldb sends it as the TDS NULL type (0x1F),
// which SQL Server accepts and other TDS servers (Babelfish) refuse;
// session.exec rejects it.
func typedNull(k Kind) any {
	switch k {
	case Int:
		return sql.NullInt32{}
	case BigInt:
		return sql.NullInt64{}
	case Bool:
		return sql.NullBool{}
	}
	return sql.NullString{} // strings, text, and times (bound as text)
}

// nullableString is s, or a typed NULL when s is empty.
func nullableString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func sqlKvittering(d Dialect) string {
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", d.Quote(tKvittering),
		list(d, "", []string{"query_tid", "start_levering_tid", "slut_levering_tid"}), params(d, 1, 3))
}

func sqlReadMeta(d Dialect) string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s", d.Quote("value"), d.Quote(tMeta), d.Quote("name"), d.Param(1))
}

// sqlPutMeta sets the value of a row of mocdc_meta, whatever it was.
func sqlPutMeta(d Dialect) string {
	return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", d.Quote(tMeta), d.Quote("value"), d.Param(1), d.Quote("name"), d.Param(2))
}

func sqlInsertMeta(d Dialect) string {
	return fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES (%s, %s)", d.Quote(tMeta), d.Quote("name"), d.Quote("value"), d.Param(1), d.Param(2))
}

// sqlMoveDay moves the day only if nobody else did.
func sqlMoveDay(d Dialect) string {
	return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s AND %s = %s", d.Quote(tMeta), d.Quote("value"), d.Param(1),
		d.Quote("name"), d.Param(2), d.Quote("value"), d.Param(3))
}

// sqlAllDue makes every object's rows due for a recompute at the next
// day check (a new mapping version).
func sqlAllDue(d Dialect) string {
	return fmt.Sprintf("UPDATE %s SET %s = %s", d.Quote(tObjects), d.Quote("next_change"), d.Param(1))
}

// sqlSetMeta changes a meta value only if it still is the one read.
func sqlSetMeta(d Dialect) string { return sqlMoveDay(d) }

func sqlDue(d Dialect) string {
	return fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s <= %s", d.Quote("type"), d.Quote("uuid"), d.Quote(tObjects),
		d.Quote("next_change"), d.Quote("next_change"), d.Param(1))
}

func sqlNewestKvittering(d Dialect) string {
	return fmt.Sprintf("SELECT MAX(%s) FROM %s", d.Quote("id"), d.Quote(tKvittering))
}

func sqlPruneKvittering(d Dialect) string {
	return fmt.Sprintf("DELETE FROM %s WHERE %s < %s AND %s < %s", d.Quote(tKvittering), d.Quote("slut_levering_tid"), d.Param(1), d.Quote("id"), d.Param(2))
}

// sqlLoadObjects reads n objects of one type (parameter 1; the uuids
// follow, bound by Dialect.ListArgs).
func sqlLoadObjects(d Dialect, n int) string {
	return fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = %s AND %s", d.Quote("uuid"), d.Quote("json"), d.Quote(tObjects),
		d.Quote("type"), d.Param(1), d.InList(d.Quote("uuid"), 2, n))
}

// sqlReferrers finds the objects referring to n uuids (bound by
// Dialect.ListArgs from parameter 1), of one type (the parameter after
// them) when typed.
func sqlReferrers(d Dialect, n int, typed bool) string {
	q := fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s", d.Quote("ref"), d.Quote("type"), d.Quote("uuid"), d.Quote(tRefs),
		d.InList(d.Quote("ref"), 1, n))
	if typed {
		q += fmt.Sprintf(" AND %s = %s", d.Quote("type"), d.Param(1+listParams(d, n)))
	}
	return q
}

// listParams is how many parameters a list of n values takes.
func listParams(d Dialect, n int) int { return len(d.ListArgs(make([]string, n))) }

// inList is the portable "col IN (p, p+1, …)" of n parameters.
func inList(d Dialect, col string, first, n int) string {
	return fmt.Sprintf("%s IN (%s)", col, params(d, first, n))
}

// listArgs binds one parameter per value.
func listArgs(vals []string) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// classUse is an export table's columns that hold class uuids, and the
// type of the objects that own its rows.
type classUse struct {
	table string
	typ   mo.Type
	owner string
	cols  []string
}

// classUses lists where the export shows class uuids.
var classUses = []classUse{
	{tKlasser, mo.Class, "uuid", []string{"facet_uuid"}},
	{tEnheder, mo.OrgUnit, "uuid", []string{"enhedstype_uuid", "enhedsniveau_uuid", "tidsregistrering_uuid", "opmærkning_uuid"}},
	{tAdresser, mo.Address, "uuid", []string{"adressetype_uuid", "synlighed_uuid"}},
	{tEngagementer, mo.Engagement, "uuid", []string{"engagementstype_uuid", "primærtype_uuid", "stillingsbetegnelse_uuid"}},
	{tTilknytninger, mo.Association, "uuid", []string{"tilknytningstype_uuid", "stillingsbetegnelse_uuid"}},
	{tOrlover, mo.Leave, "uuid", []string{"orlovstype_uuid"}},
	{tLedere, mo.Manager, "uuid", []string{"ledertype_uuid", "niveautype_uuid"}},
	{tLederAnsvar, mo.Manager, "leder_uuid", []string{"lederansvar_uuid"}},
	{tKLE, mo.KLE, "uuid", []string{"kle_aspekt_uuid", "kle_nummer_uuid"}},
}

// sqlClassUsers finds the owners of rows that show any of n class (or
// facet) uuids in the columns of u.
func sqlClassUsers(d Dialect, u classUse, n int) string {
	conds := make([]string, len(u.cols))
	for i, c := range u.cols {
		first := 1
		if d.Param(1) == d.Param(2) { // "?": each use binds its own values
			first = 1 + i*listParams(d, n)
		}
		conds[i] = d.InList(d.Quote(c), first, n)
	}
	return fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s", d.Quote(u.owner), d.Quote(u.table), strings.Join(conds, " OR "))
}
