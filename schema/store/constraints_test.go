package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestConstraints inserts bad rows by hand and expects the constraint that
// OS2mo's schema has to reject them: GiST exclusion (23P01) for overlapping
// registrations of one uuid, overlapping attr rows of one registration and
// overlapping 0..1 relation rows; CHECK (23514) for empty periods and a
// relation with both a uuid and a URN. Overlapping 0..n relation rows are
// allowed.
func TestConstraints(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	u := newUUID(t)
	virk := func(from, to string) string {
		return fmt.Sprintf("ROW(tstzrange('%s', '%s', '[)'), NULL, NULL, '')::actual_state.virkning", from, to)
	}
	setup := []string{
		fmt.Sprintf("INSERT INTO actual_state.bruger (id) VALUES ('%s')", u),
		fmt.Sprintf(`INSERT INTO actual_state.bruger_registrering (id, bruger_id, registrering) VALUES
			(1000, '%s', ROW(tstzrange('2026-01-01', 'infinity', '[)'), 'Opstaaet', NULL, 'n')::actual_state.registreringbase)`, u),
		fmt.Sprintf("INSERT INTO actual_state.bruger_attr_egenskaber (brugervendtnoegle, virkning, bruger_registrering_id) VALUES ('a', %s, 1000)", virk("2020-01-01", "2021-01-01")),
		fmt.Sprintf("INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_uuid, rel_type) VALUES (1000, %s, '%s', 'tilhoerer')", virk("2020-01-01", "infinity"), newUUID(t)),
		fmt.Sprintf("INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_urn, rel_type) VALUES (1000, %s, 'urn:a', 'tilknyttedepersoner')", virk("2020-01-01", "infinity")),
	}
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tc := range []struct {
		name, sql, code, constraint string
	}{
		{"overlapping registrations", fmt.Sprintf(`INSERT INTO actual_state.bruger_registrering (bruger_id, registrering) VALUES
			('%s', ROW(tstzrange('2026-06-01', '2026-07-01', '[)'), 'Rettet', NULL, 'n')::actual_state.registreringbase)`, u),
			"23P01", "bruger_registrering_excl"},
		{"empty registration", fmt.Sprintf(`INSERT INTO actual_state.bruger_registrering (bruger_id, registrering) VALUES
			('%s', ROW(tstzrange('2025-06-01', '2025-06-01', '[)'), 'Rettet', NULL, 'n')::actual_state.registreringbase)`, u),
			"23514", "bruger_registrering_timeperiod_check"},
		{"overlapping attr rows", fmt.Sprintf("INSERT INTO actual_state.bruger_attr_egenskaber (brugervendtnoegle, virkning, bruger_registrering_id) VALUES ('b', %s, 1000)", virk("2020-12-31", "2022-01-01")),
			"23P01", "bruger_attr_egenskaber_excl"},
		{"empty virkning", fmt.Sprintf("INSERT INTO actual_state.bruger_attr_egenskaber (brugervendtnoegle, virkning, bruger_registrering_id) VALUES ('b', %s, 1000)", virk("2022-01-01", "2022-01-01")),
			"23514", "bruger_attr_egenskaber_virkning_check"},
		{"overlapping 0..1 relation", fmt.Sprintf("INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_uuid, rel_type) VALUES (1000, %s, '%s', 'tilhoerer')", virk("2024-01-01", "2025-01-01"), newUUID(t)),
			"23P01", "bruger_relation_excl"},
		{"uuid and urn", fmt.Sprintf("INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_uuid, rel_maal_urn, rel_type) VALUES (1000, %s, '%s', 'urn:x', 'tilknyttedepersoner')", virk("2020-01-01", "infinity"), newUUID(t)),
			"23514", "bruger_relation_uuid_or_urn_check"},
		{"overlapping 0..n relation", fmt.Sprintf("INSERT INTO actual_state.bruger_relation (bruger_registrering_id, virkning, rel_maal_urn, rel_type) VALUES (1000, %s, 'urn:b', 'tilknyttedepersoner')", virk("2021-01-01", "infinity")),
			"", ""},
		{"non-overlapping attr row", fmt.Sprintf("INSERT INTO actual_state.bruger_attr_egenskaber (brugervendtnoegle, virkning, bruger_registrering_id) VALUES ('c', %s, 1000)", virk("2021-01-01", "infinity")),
			"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			_, err = tx.Exec(ctx, tc.sql)
			var pe *pgconn.PgError
			switch {
			case tc.code == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case tc.code == "":
			case !errors.As(err, &pe):
				t.Errorf("got %v, want SQLSTATE %s", err, tc.code)
			case pe.Code != tc.code || pe.ConstraintName != tc.constraint:
				t.Errorf("got %s on %s (%s), want %s on %s", pe.Code, pe.ConstraintName, pe.Message, tc.code, tc.constraint)
			}
		})
	}
}

// TestZeroToOneNonASCII: the 0..1 kinds with non-ASCII names (primær,
// opmærkning) are in the partial exclusion constraint too.
func TestZeroToOneNonASCII(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	for _, k := range []struct{ class, kind string }{{"organisationfunktion", "primær"}, {"organisationenhed", "opmærkning"}} {
		u := newUUID(t)
		virk := "ROW(tstzrange('2020-01-01', 'infinity', '[)'), NULL, NULL, '')::actual_state.virkning"
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			fmt.Sprintf("INSERT INTO actual_state.%s (id) VALUES ('%s')", k.class, u),
			fmt.Sprintf(`INSERT INTO actual_state.%[1]s_registrering (id, %[1]s_id, registrering) VALUES
				(77, '%[2]s', ROW(tstzrange('2026-01-01', 'infinity', '[)'), 'Opstaaet', NULL, 'n')::actual_state.registreringbase)`, k.class, u),
			fmt.Sprintf("INSERT INTO actual_state.%[1]s_relation (%[1]s_registrering_id, virkning, rel_maal_uuid, rel_type) VALUES (77, %[2]s, '%[3]s', '%[4]s')", k.class, virk, newUUID(t), k.kind),
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		_, err = tx.Exec(ctx, fmt.Sprintf("INSERT INTO actual_state.%[1]s_relation (%[1]s_registrering_id, virkning, rel_maal_uuid, rel_type) VALUES (77, %[2]s, '%[3]s', '%[4]s')", k.class, virk, newUUID(t), k.kind))
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23P01" {
			t.Errorf("%s %s: second overlapping row: %v, want 23P01", k.class, k.kind, err)
		}
		tx.Rollback(ctx)
	}
}
