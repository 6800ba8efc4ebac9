package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

const actor = "de7e104e-baad-c0de-6465-76656c6f7065"

// TestWriterLifecycle creates, updates and deletes one object of every
// class and checks the store with plain SQL (not the writer's reader): the
// registrations abut, carry lifecycle, actor and note; each registration
// holds exactly its rows; active_tils of every attr and relation row is the
// union of the registration's active periods.
func TestWriterLifecycle(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	w := NewWriter(conn)
	for _, c := range lora.Classes {
		t.Run(c.Name, func(t *testing.T) {
			uuid := newUUID(t)
			from, cut := day("2020-03-01"), day("2026-07-01") // cut is in summer time
			created := sampleState(t, c, from, 1)
			if err := w.Create(ctx, c, uuid, Meta{Actor: actor, Note: "Oprettet i MO"}, created); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if err := w.Create(ctx, c, uuid, Meta{Actor: actor}, created); !errors.Is(err, ErrExists) {
				t.Errorf("second Create: got %v, want ErrExists", err)
			}
			if err := w.Update(ctx, c, uuid, Meta{Actor: actor, Note: "same"}, created); !errors.Is(err, ErrNoChange) {
				t.Errorf("identical Update: got %v, want ErrNoChange", err)
			}
			updated := changedState(t, c, created, cut)
			if err := w.Update(ctx, c, uuid, Meta{Actor: actor, Note: "Rediger"}, updated); err != nil {
				t.Fatalf("Update: %v", err)
			}
			if err := w.Delete(ctx, c, uuid, Meta{Actor: actor, Note: "Slet"}); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if err := w.Delete(ctx, c, uuid, Meta{Actor: actor}); !errors.Is(err, ErrDeleted) {
				t.Errorf("second Delete: got %v, want ErrDeleted", err)
			}
			if err := w.Update(ctx, c, uuid, Meta{Actor: actor}, updated); !errors.Is(err, ErrDeleted) {
				t.Errorf("Update after Delete: got %v, want ErrDeleted", err)
			}

			regs := registrations(t, conn, c, uuid)
			wantLC := []string{"Opstaaet", "Rettet", "Slettet"}
			wantNote := []string{"Oprettet i MO", "Rediger", "Slet"}
			if len(regs) != 3 {
				t.Fatalf("%d registrations, want 3 (the rejected update and delete must leave none)", len(regs))
			}
			for i, r := range regs {
				if r.lifecycle != wantLC[i] || r.actor != actor || r.note != wantNote[i] {
					t.Errorf("registration %d: %s/%s/%q, want %s/%s/%q", i, r.lifecycle, r.actor, r.note, wantLC[i], actor, wantNote[i])
				}
				if i > 0 && r.lower != regs[i-1].upper {
					t.Errorf("registration %d starts at %s, previous ends at %s: they must abut", i, r.lower, regs[i-1].upper)
				}
			}
			if regs[2].upper != "infinity" {
				t.Errorf("last registration ends at %s, want infinity", regs[2].upper)
			}
			checkRows(t, conn, c, regs[0].id, created, []mo.Period{openFrom(from)})
			checkRows(t, conn, c, regs[1].id, updated, []mo.Period{{From: from, To: cut}})
			checkRows(t, conn, c, regs[2].id, State{}, nil)

			cur, m, err := w.Current(ctx, c, uuid)
			if err != nil || m.Lifecycle != lora.Slettet || len(cur.Egenskaber)+len(cur.Tils)+len(cur.Relations) != 0 {
				t.Errorf("Current after delete: %v %+v %+v", err, m, cur)
			}
		})
	}
}

// TestWriterErrors covers the typed errors that need no state.
func TestWriterErrors(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	w := NewWriter(conn)
	c := lora.Bruger
	missing := newUUID(t)
	if err := w.Update(ctx, c, missing, Meta{}, sampleState(t, c, day("2020-01-01"), 1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of unknown uuid: %v, want ErrNotFound", err)
	}
	if err := w.Delete(ctx, c, missing, Meta{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of unknown uuid: %v, want ErrNotFound", err)
	}
	if _, _, err := w.Current(ctx, c, missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Current of unknown uuid: %v, want ErrNotFound", err)
	}
	// An object whose open registration was closed by hand.
	id := newUUID(t)
	if err := w.Create(ctx, c, id, Meta{}, sampleState(t, c, day("2020-01-01"), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE actual_state.bruger_registrering
		SET registrering.timeperiod = tstzrange(lower((registrering).timeperiod), clock_timestamp()) WHERE bruger_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, c, id, Meta{}); !errors.Is(err, ErrNoOpenRegistration) {
		t.Errorf("Delete without open registration: %v, want ErrNoOpenRegistration", err)
	}
	bad := sampleState(t, c, day("2020-01-01"), 1)
	bad.Relations[0].URN = "urn:x"
	if err := w.Create(ctx, c, newUUID(t), Meta{}, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("relation with UUID and URN: %v, want ErrInvalid", err)
	}
	bad = sampleState(t, c, day("2020-01-01"), 1)
	bad.Egenskaber[0].Values["brugernavn"] = 7
	if err := w.Create(ctx, c, newUUID(t), Meta{}, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("int in a text column: %v, want ErrInvalid", err)
	}
	// Passiveret, then Rettet is not an OS2mo transition; re-import is.
	id2 := newUUID(t)
	s := sampleState(t, c, day("2020-01-01"), 1)
	if err := w.Create(ctx, c, id2, Meta{}, s); err != nil {
		t.Fatal(err)
	}
	s2 := changedState(t, c, s, day("2024-01-01"))
	if err := w.Update(ctx, c, id2, Meta{Lifecycle: lora.Passiveret}, s2); err != nil {
		t.Fatal(err)
	}
	if err := w.Update(ctx, c, id2, Meta{}, s); !errors.Is(err, ErrTransition) {
		t.Errorf("Rettet after Passiveret: %v, want ErrTransition", err)
	}
	if err := w.Update(ctx, c, id2, Meta{Lifecycle: lora.Importeret}, s); err != nil {
		t.Errorf("Importeret after Passiveret: %v", err)
	}
}

type registration struct {
	id                     int64
	lower, upper           string
	lifecycle, actor, note string
}

func registrations(t *testing.T, conn *pgx.Conn, c *lora.Class, uuid string) []registration {
	t.Helper()
	rows, err := conn.Query(testCtx(t), fmt.Sprintf(`SELECT id, lower((registrering).timeperiod)::text, upper((registrering).timeperiod)::text,
		(registrering).livscykluskode::text, coalesce((registrering).brugerref::text, ''), coalesce((registrering).note, '')
		FROM actual_state.%s WHERE %s = $1 ORDER BY lower((registrering).timeperiod)`, c.RegistreringTable(), c.ObjectFK()), uuid)
	if err != nil {
		t.Fatal(err)
	}
	var out []registration
	var r registration
	if _, err := pgx.ForEachRow(rows, []any{&r.id, &r.lower, &r.upper, &r.lifecycle, &r.actor, &r.note}, func() error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRows asserts that registration reg holds exactly the rows of want and
// that active_tils on each attr and relation row is the union of active.
func checkRows(t *testing.T, conn *pgx.Conn, c *lora.Class, reg int64, want State, active []mo.Period) {
	t.Helper()
	ctx := testCtx(t)
	fk := c.RegistreringFK()
	query := func(q string) []string {
		rows, err := conn.Query(ctx, q, reg)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var out []string
		var lo, hi pgtype.Timestamptz
		var rest string
		if _, err := pgx.ForEachRow(rows, []any{&lo, &hi, &rest}, func() error {
			out = append(out, periodKey(mo.Period{From: fromBound(lo), To: fromBound(hi)})+" "+rest)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
	span := "lower((virkning).timeperiod), upper((virkning).timeperiod), "
	attr := func(table string, cols []lora.Column, rows []AttrRow) {
		got := query(fmt.Sprintf(`SELECT %s (to_jsonb(t) - 'id' - 'virkning' - '%s' - 'active_tils')::text
			FROM actual_state.%s t WHERE %s = $1`, span, fk, table, fk))
		var exp []string
		for _, r := range rows {
			full := map[string]any{}
			for _, col := range cols {
				full[col.Name] = r.Values[col.Name]
			}
			exp = append(exp, periodKey(r.Period)+" "+canonJSON(t, full))
		}
		for i := range got { // re-encode PostgreSQL's JSON the same way
			var k, js string
			fmt.Sscanf(got[i], "%s", &k)
			js = got[i][len(k)+1:]
			var m map[string]any
			if err := json.Unmarshal([]byte(js), &m); err != nil {
				t.Fatal(err)
			}
			got[i] = k + " " + canonJSON(t, m)
		}
		sort.Strings(got)
		sort.Strings(exp)
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s of registration %d:\n got %q\nwant %q", table, reg, got, exp)
		}
	}
	attr(c.EgenskaberTable(), egenskaberColumns(c), want.Egenskaber)
	if len(c.Udvidelser) > 0 {
		attr(c.UdvidelserTable(), c.Udvidelser, want.Udvidelser)
	}
	got := query(fmt.Sprintf(`SELECT %s %s::text || ' ' || coalesce((virkning).notetekst, 'NULL') || coalesce((virkning).aktoerref::text, '')
		FROM actual_state.%s WHERE %s = $1`, span, quoteIdent(c.Tils), c.TilsTable(), fk))
	var exp []string
	for _, r := range want.Tils {
		exp = append(exp, periodKey(r.Period)+" "+r.Value+" ")
	}
	sort.Strings(exp)
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s of registration %d:\n got %q\nwant %q", c.TilsTable(), reg, got, exp)
	}
	got = query(fmt.Sprintf(`SELECT %s concat_ws('|', rel_type::text, coalesce(rel_maal_uuid::text, '-'), coalesce(rel_maal_urn, '-'), coalesce(objekt_type, '-'))
		FROM actual_state.%s WHERE %s = $1`, span, c.RelationTable(), fk))
	exp = nil
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range want.Relations {
		exp = append(exp, periodKey(r.Period)+" "+r.Kind+"|"+dash(r.UUID)+"|"+dash(r.URN)+"|"+dash(r.ObjektType))
	}
	sort.Strings(exp)
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s of registration %d:\n got %q\nwant %q", c.RelationTable(), reg, got, exp)
	}
	if c.ActiveTils {
		checkActiveTils(t, conn, c, []int64{reg}, [][]mo.Period{active})
	}
}

// checkActiveTils asserts that every attr and relation row of registration
// regs[i] has active_tils = the union of active[i] (computed from the
// expectation, not from the tils table).
func checkActiveTils(t *testing.T, conn *pgx.Conn, c *lora.Class, regs []int64, active [][]mo.Period) {
	t.Helper()
	ctx := testCtx(t)
	var reg []int64
	var lo, hi []pgtype.Timestamptz
	for i, r := range regs {
		for _, p := range active[i] {
			reg = append(reg, r)
			lo, hi = append(lo, bound(p.From)), append(hi, bound(p.To))
		}
	}
	tables := []string{c.EgenskaberTable(), c.RelationTable()}
	if len(c.Udvidelser) > 0 {
		tables = append(tables, c.UdvidelserTable())
	}
	for _, table := range tables {
		var rows, wrong int
		err := conn.QueryRow(ctx, fmt.Sprintf(`
			WITH want AS (SELECT x.reg, range_agg(tstzrange(x.lo, x.hi, '[)')) AS m
			                FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS x(reg, lo, hi) GROUP BY x.reg)
			SELECT count(*), count(*) FILTER (WHERE t.active_tils IS DISTINCT FROM coalesce(want.m, '{}'::tstzmultirange))
			  FROM actual_state.%s t LEFT JOIN want ON want.reg = t.%s
			 WHERE t.%s = ANY($4::bigint[])`, table, c.RegistreringFK(), c.RegistreringFK()),
			reg, lo, hi, regs).Scan(&rows, &wrong)
		if err != nil {
			t.Fatal(err)
		}
		if wrong > 0 {
			t.Errorf("%s: %d of %d rows have a wrong active_tils", table, wrong, rows)
		}
	}
}

func canonJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(back) // map keys sorted
	return string(b)
}

// TestCurrentRoundTrip checks that Current returns what Create wrote, with
// the documented Go types.
func TestCurrentRoundTrip(t *testing.T) {
	_, conn := freshStore(t)
	ctx := testCtx(t)
	w := NewWriter(conn)
	for _, c := range []*lora.Class{lora.Organisationfunktion, lora.Itsystem} {
		id := newUUID(t)
		s := sampleState(t, c, day("2021-01-01"), 3)
		if err := w.Create(ctx, c, id, Meta{Actor: actor, Note: "n", Lifecycle: lora.Importeret}, s); err != nil {
			t.Fatal(err)
		}
		got, m, err := w.Current(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if m != (Meta{Actor: actor, Note: "n", Lifecycle: lora.Importeret}) {
			t.Errorf("meta %+v", m)
		}
		if !sameState(c, got, s) {
			t.Errorf("%s: Current differs:\n got %+v\nwant %+v", c.Name, got, s)
		}
		for _, r := range got.Egenskaber {
			for _, col := range c.Egenskaber {
				if reflect.TypeOf(r.Values[col.Name]) != reflect.TypeOf(s.Egenskaber[0].Values[col.Name]) {
					t.Errorf("%s.%s: type %T, want %T", c.Name, col.Name, r.Values[col.Name], s.Egenskaber[0].Values[col.Name])
				}
			}
		}
	}
}

// TestConcurrentUpdates changes one object from two connections at once:
// the row lock on the object makes the second wait for the first, so both
// succeed and the three registrations abut.
func TestConcurrentUpdates(t *testing.T) {
	dsn, conn := freshStore(t)
	ctx := testCtx(t)
	c := lora.Organisationenhed
	id := newUUID(t)
	s := sampleState(t, c, day("2020-01-01"), 1)
	if err := NewWriter(conn).Create(ctx, c, id, Meta{Actor: actor}, s); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for i, cut := range []string{"2024-01-01", "2025-01-01"} {
		w := NewWriter(connect(t, dsn))
		go func() {
			errs <- w.Update(ctx, c, id, Meta{Actor: actor, Note: fmt.Sprint(i)}, changedState(t, c, s, day(cut)))
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	regs := registrations(t, conn, c, id)
	if len(regs) != 3 {
		t.Fatalf("%d registrations, want 3", len(regs))
	}
	for i := 1; i < 3; i++ {
		if regs[i].lower != regs[i-1].upper {
			t.Errorf("registrations %d and %d do not abut: %s vs %s", i-1, i, regs[i-1].upper, regs[i].lower)
		}
	}
}
