package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// Boundary is an object whose current registration has a validity period
// that starts or ends at Day.
type Boundary struct {
	RegistrationID int64
	UUID           string
	Day            time.Time
}

// Boundaries returns the objects of class c whose current (open, not
// deleted) registration has a state, attribute or relation period bound in
// (after, upTo]: their current MO state changes at that instant without any
// write. One row per object and bound, ordered by bound.
func Boundaries(ctx context.Context, db Querier, c *lora.Class, after, upTo time.Time) ([]Boundary, error) {
	fk := pgx.Identifier{c.RegistreringFK()}.Sanitize()
	var parts []string
	for _, t := range []string{c.TilsTable(), c.EgenskaberTable(), c.RelationTable()} {
		for _, end := range []string{"lower", "upper"} {
			parts = append(parts, fmt.Sprintf(`SELECT %[1]s AS reg, %[2]s((virkning).timeperiod) AS t FROM %[3]s
				WHERE %[2]s((virkning).timeperiod) > $1 AND %[2]s((virkning).timeperiod) <= $2`, fk, end, q(t)))
		}
	}
	union := parts[0]
	for _, p := range parts[1:] {
		union += " UNION " + p
	}
	sql := fmt.Sprintf(`SELECT DISTINCT r.id, r.%s::text, b.t FROM (%s) b
		JOIN %s r ON r.id = b.reg
		WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet'
		ORDER BY b.t, r.id`, pgx.Identifier{c.ObjectFK()}.Sanitize(), union, q(c.RegistreringTable()))
	rows, err := db.Query(ctx, sql, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("validity boundaries of %s: %w", c.Name, err)
	}
	defer rows.Close()
	var out []Boundary
	for rows.Next() {
		var b Boundary
		if err := rows.Scan(&b.RegistrationID, &b.UUID, &b.Day); err != nil {
			return nil, fmt.Errorf("validity boundaries of %s: %w", c.Name, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
