package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs one statement: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// BulkCreatePersons creates n persons in ONE transaction (the caller's, if
// db is a pgx.Tx), the way a bulk import calls OS2mo's
// as_create_or_import_bruger in a loop: object, registration, attributes,
// state (whose trigger touches the attributes) and relations of each. The
// uuids derive from tag and the person's number, so another tag makes
// other persons. It makes a transaction far larger than capture's memory
// budget: the benchmarks and the chaos test use it to make capture spill.
func BulkCreatePersons(ctx context.Context, db Execer, n int, tag string) error {
	tag = strings.ReplaceAll(tag, "'", "''")
	_, err := db.Exec(ctx, fmt.Sprintf(`
DO $$
DECLARE
  u uuid; reg bigint; org uuid; actor uuid := '%s';
  v actual_state.virkning := ROW(tstzrange('-infinity','infinity'), NULL, NULL, '')::actual_state.virkning;
BEGIN
  SELECT id INTO org FROM actual_state.organisation LIMIT 1;
  FOR i IN 1..%d LOOP
    u := md5('%s-' || i)::uuid;
    INSERT INTO actual_state.bruger (id) VALUES (u);
    INSERT INTO actual_state.bruger_registrering (bruger_id, registrering)
      VALUES (u, ROW(tstzrange(clock_timestamp(), 'infinity'), 'Importeret', actor, 'Bulk import')::actual_state.registreringbase)
      RETURNING id INTO reg;
    INSERT INTO actual_state.bruger_attr_egenskaber (brugervendtnoegle, virkning, bruger_registrering_id) VALUES (u::text, v, reg);
    INSERT INTO actual_state.bruger_attr_udvidelser (fornavn, efternavn, virkning, bruger_registrering_id)
      VALUES ('Bulk', 'Person ' || i || ' ' || repeat('æøå', 10), v, reg);
    INSERT INTO actual_state.bruger_tils_gyldighed (virkning, gyldighed, bruger_registrering_id) VALUES (v, 'Aktiv', reg);
    INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_uuid, rel_type) VALUES (reg, v, org, 'tilhoerer');
    INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_urn, rel_type)
      VALUES (reg, v, 'urn:dk:cpr:person:' || lpad(i::text, 10, '0'), 'tilknyttedepersoner');
  END LOOP;
END $$`, ActorOPUS, n, tag))
	if err != nil {
		return fmt.Errorf("bulk create %d persons: %w", n, err)
	}
	return nil
}
