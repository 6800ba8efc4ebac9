package snapshot

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// zeroUUID sorts before every uuid: scanning starts after it.
const zeroUUID = "00000000-0000-0000-0000-000000000000"

// visibleIn returns SQL that is true when the transaction whose 32-bit xid
// is xmin is visible in the pg_snapshot $3. The xid is widened to xid8
// with the epoch of the current snapshot (an xid above the current one's
// low half belongs to the previous epoch). Xids below 3 (frozen,
// bootstrap) are always visible.
func visibleIn(xmin string) string {
	return fmt.Sprintf(`(%[1]s::text::bigint < 3 OR pg_visible_in_snapshot(
	((((pg_snapshot_xmax(pg_current_snapshot())::text::bigint >> 32)
	   - CASE WHEN %[1]s::text::bigint > (pg_snapshot_xmax(pg_current_snapshot())::text::bigint & 4294967295) THEN 1 ELSE 0 END) << 32)
	 | %[1]s::text::bigint)::text::xid8, $3::pg_snapshot))`, xmin)
}

// insertedBy returns SQL for the xid that inserted registration r. An open
// registration row has never been updated, so its own xmin is that xid. A
// closed one was updated by the transaction that closed it, which replaced
// its xmin; its state rows, written only by its own transaction and never
// touched later, still carry the inserting xid. (A closed registration
// without state rows, a delete that was later re-imported, falls back to
// its own xmin.)
func insertedBy(c *lora.Class) string {
	return fmt.Sprintf(`CASE WHEN upper((r.registrering).timeperiod) = 'infinity' THEN r.xmin
		ELSE coalesce((SELECT t.xmin FROM %s t WHERE t.%s = r.id LIMIT 1), r.xmin) END`,
		q(c.TilsTable()), pgx.Identifier{c.RegistreringFK()}.Sanitize())
}

// Current returns, for the next up to limit objects of class c after uuid
// after (in uuid order), the registration that was current in the
// pg_snapshot visible: the latest one whose transaction is visible in it.
// Objects whose current registration is a delete (Slettet), or that have no
// registration visible in it (created later), are skipped but still advance
// next, the uuid to resume after. A fresh snapshot passes its own
// pg_current_snapshot(); a resumed one passes the original's, so every
// chunk describes the same instant.
//
// The chunk's objects are taken from the object index first and each one's
// registrations read by index after: a chunk costs O(limit) whatever the
// size of the class. (Filtering by visibility first made PostgreSQL sort
// every registration after the key for each chunk: quadratic in the class,
// 8 s a chunk late in a 250,000-object class.)
func Current(ctx context.Context, tx pgx.Tx, c *lora.Class, after string, limit int, visible string) (regs []*Registration, next string, err error) {
	if after == "" {
		after = zeroUUID
	}
	fk := pgx.Identifier{c.ObjectFK()}.Sanitize()
	sql := fmt.Sprintf(`SELECT o.uuid::text, v.id, v.life FROM (
		SELECT DISTINCT r.%[1]s AS uuid FROM %[2]s r WHERE r.%[1]s > $1::uuid ORDER BY 1 LIMIT $2) o
	LEFT JOIN LATERAL (
		SELECT r.id, (r.registrering).livscykluskode::text AS life FROM %[2]s r
		WHERE r.%[1]s = o.uuid AND %[3]s
		ORDER BY r.id DESC LIMIT 1) v ON true
	ORDER BY o.uuid`, fk, q(c.RegistreringTable()), visibleIn("("+insertedBy(c)+")"))
	rows, err := tx.Query(ctx, sql, after, limit, visible)
	if err != nil {
		return nil, "", fmt.Errorf("scan %s: %w", c.RegistreringTable(), err)
	}
	var ids []int64
	for rows.Next() {
		var id *int64
		var uuid string
		var life *string
		if err := rows.Scan(&uuid, &id, &life); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("scan %s: %w", c.RegistreringTable(), err)
		}
		next = uuid
		if id != nil && (life == nil || lora.Lifecycle(*life) != lora.Slettet) {
			ids = append(ids, *id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("scan %s: %w", c.RegistreringTable(), err)
	}
	regs, err = ReadRegistrations(ctx, tx, c, ids)
	return regs, next, err
}

// Actors returns every row of the actor table.
func Actors(ctx context.Context, db Querier) (map[string]string, error) {
	rows, err := db.Query(ctx, `SELECT actor::text, name FROM actual_state.actor`)
	if err != nil {
		return nil, fmt.Errorf("read actors: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("read actors: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}
