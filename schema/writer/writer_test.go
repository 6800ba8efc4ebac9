package writer_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// current reads an object's current state with plain SQL, by mo-store.md's
// rule, independently of the writer: the open, not deleted registration;
// of it the rows valid now inside an active state period. It returns
// "column=value" and "relation kind objekt_type -> target" lines, sorted.
func current(t *testing.T, pool *pgxpool.Pool, c *lora.Class, id string) []string {
	t.Helper()
	ctx := context.Background()
	var reg *int64
	err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT r.id FROM actual_state.%[1]s_registrering r
		WHERE r.%[1]s_id = $1 AND upper((r.registrering).timeperiod) = 'infinity'
		AND (r.registrering).livscykluskode <> 'Slettet'`, c.Name), id).Scan(&reg)
	if err != nil || reg == nil {
		return nil
	}
	active := fmt.Sprintf(`EXISTS (SELECT 1 FROM actual_state.%[1]s t WHERE t.%[2]s_registrering_id = $1
		AND t.%[3]s = '%[4]s' AND (t.virkning).timeperiod @> now())`, c.TilsTable(), c.Name, c.Tils, c.ActiveValue())
	var out []string
	tables := []string{c.EgenskaberTable()}
	if len(c.Udvidelser) > 0 {
		tables = append(tables, c.UdvidelserTable())
	}
	for _, table := range tables {
		rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT kv.key, kv.value #>> '{}'
			FROM actual_state.%s a, jsonb_each(to_jsonb(a) - 'id' - 'virkning' - 'active_tils' - '%s_registrering_id') kv
			WHERE a.%s_registrering_id = $1 AND (a.virkning).timeperiod @> now() AND %s AND kv.value <> 'null'::jsonb`,
			table, c.Name, c.Name, active), *reg)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			out = append(out, k+"="+v)
		}
		rows.Close()
	}
	rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT rel_type::text, coalesce(objekt_type, ''), coalesce(rel_maal_uuid::text, rel_maal_urn)
		FROM actual_state.%s_relation a WHERE a.%s_registrering_id = $1 AND (a.virkning).timeperiod @> now() AND %s`,
		c.Name, c.Name, active), *reg)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, ot, v string
		if err := rows.Scan(&k, &ot, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s -> %s", k, ot, v))
	}
	rows.Close()
	sort.Strings(out)
	return out
}

// intended is what current must show for an object of spec with fields f
// (the MO fields valid now), from the field mapping.
func intended(spec *mo.Spec, f writer.Fields, org, scope string) []string {
	var out []string
	c := lora.ClassByName(spec.Class)
	if spec.Funktionsnavn != "" {
		out = append(out, "funktionsnavn="+spec.Funktionsnavn)
	}
	if spec.OrgRelation != "" {
		out = append(out, fmt.Sprintf("%s %s -> %s", spec.OrgRelation, spec.OrgObjektType, org))
	}
	for _, fd := range spec.Fields {
		v, ok := f[fd.Name]
		if !ok || v == nil {
			if fd.OrganisationIsNull {
				out = append(out, fmt.Sprintf("%s  -> %s", fd.Rel, org))
			}
			continue
		}
		switch fd.Source {
		case mo.Egenskab, mo.Udvidelse:
			out = append(out, fmt.Sprintf("%s=%v", fd.Column, v))
		case mo.URN:
			out = append(out, fmt.Sprintf("%s  -> %s%v", fd.Rel, fd.Prefix, v))
		case mo.AddressValue:
			out = append(out, fmt.Sprintf("%s %s -> %s%v", fd.Rel, scope, mo.AddressPrefixes[scope], v))
		case mo.Relation:
			ot := fd.ObjektType
			if ot == "" {
				ot = fd.Tag
			}
			if l, ok := v.([]string); ok {
				for _, u := range l {
					out = append(out, fmt.Sprintf("%s %s -> %s", fd.Rel, ot, u))
				}
			} else {
				out = append(out, fmt.Sprintf("%s %s -> %v", fd.Rel, ot, v))
			}
		}
	}
	_ = c
	sort.Strings(out)
	return out
}

// walCounts returns the INSERT and UPDATE row messages logical decoding
// sees between two calls (a test_decoding slot on the test database).
type walCounts struct {
	pool *pgxpool.Pool
	slot string
}

func (w walCounts) take(t *testing.T) (ins, upd int) {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)`, w.slot)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		_ = rows.Scan(&d)
		switch {
		case strings.Contains(d, ": INSERT:"):
			ins++
		case strings.Contains(d, ": UPDATE:"):
			upd++
		}
	}
	return ins, upd
}

// TestEveryTypeAndChangeKind: for every MO type, create, update, terminate
// and delete leave the store valid, and an independent SQL read of the
// current state equals what was intended. It logs the LoRa rows each kind
// of change writes, as logical decoding sees them.
func TestEveryTypeAndChangeKind(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.NewPostgresDB(t, "writer")
	conn, err := store.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pool, err := pgxpool.New(ctx, dsn+"&options=-c%20synchronous_commit%3Don")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sum, err := demo.Seed(ctx, pool, demo.SeedOptions{Seed: 3, Persons: 30})
	if err != nil {
		t.Fatal(err)
	}
	cat := sum.Catalog
	w := writer.New(store.NewWriter(pool), writer.SQLScopes{DB: pool}, cat.Organisation)
	if _, err := pool.Exec(ctx, `SELECT pg_create_logical_replication_slot('writer_counts', 'test_decoding')`); err != nil {
		t.Fatal(err)
	}
	wal := walCounts{pool, "writer_counts"}
	cls := func(facet string, i int) string { return cat.Classes[facet][i%len(cat.Classes[facet])].UUID }
	emailType := ""
	for _, c := range cat.Classes[demo.FacetEmployeeAddressType] {
		if c.Scope == "EMAIL" {
			emailType = c.UUID
		}
	}
	p, u, eng := cat.Persons[0].UUID, cat.Units[1].UUID, cat.Engagements[0].UUID
	it := cat.ITUsers[0].UUID
	cases := []struct {
		typ    mo.Type
		create writer.Fields
		update writer.Fields
		scope  string
	}{
		{mo.Person, writer.Fields{"user_key": "ø1", "given_name": "Søren", "surname": "Ærø", "cpr_number": "0101701234"}, writer.Fields{"surname": "Åberg"}, ""},
		{mo.OrgUnit, writer.Fields{"user_key": "E1", "name": "Ældreplejen", "parent": u, "unit_type": cls(demo.FacetOrgUnitType, 0), "org_unit_level": cls(demo.FacetOrgUnitLevel, 0)}, writer.Fields{"name": "Ældre og Sundhed", "parent": cat.Units[2].UUID}, ""},
		{mo.Engagement, writer.Fields{"user_key": "A1", "person": p, "org_unit": u, "engagement_type": cls(demo.FacetEngagementType, 0), "job_function": cls(demo.FacetJobFunction, 0), "primary": cls(demo.FacetPrimaryType, 0), "fraction": 37, "extension_1": "x"}, writer.Fields{"job_function": cls(demo.FacetJobFunction, 1)}, ""},
		{mo.Association, writer.Fields{"user_key": "T1", "person": p, "org_unit": u, "association_type": cls(demo.FacetAssociationType, 0)}, writer.Fields{"org_unit": cat.Units[2].UUID}, ""},
		{mo.ITUser, writer.Fields{"user_key": "sø1", "itsystem": cat.ITSystems["AD"], "person": p, "external_id": "abc", "engagements": []string{eng}}, writer.Fields{"engagements": []string{}}, ""},
		{mo.Address, writer.Fields{"user_key": "a@kommune.dk", "value": "a@kommune.dk", "address_type": emailType, "visibility": cls(demo.FacetVisibility, 0), "person": p, "engagement": eng}, writer.Fields{"value": "b@kommune.dk"}, "EMAIL"},
		{mo.Manager, writer.Fields{"user_key": "L1", "person": p, "org_unit": u, "manager_type": cls(demo.FacetManagerType, 0), "manager_level": cls(demo.FacetManagerLevel, 0), "responsibilities": []string{cls(demo.FacetResponsibility, 0), cls(demo.FacetResponsibility, 1)}}, writer.Fields{"person": nil}, ""},
		{mo.Leave, writer.Fields{"user_key": "O1", "person": p, "leave_type": cls(demo.FacetLeaveType, 0), "engagement": eng}, writer.Fields{"leave_type": cls(demo.FacetLeaveType, 1)}, ""},
		{mo.KLE, writer.Fields{"user_key": "K1", "org_unit": u, "kle_number": cls(demo.FacetKLENumber, 0), "kle_aspects": []string{cls(demo.FacetKLEAspect, 0)}}, writer.Fields{"kle_aspects": []string{cls(demo.FacetKLEAspect, 1)}}, ""},
		{mo.RelatedUnit, writer.Fields{"user_key": "R1", "org_units": []string{u, cat.Units[2].UUID}}, writer.Fields{"org_units": []string{u, cat.Units[3].UUID}}, ""},
		{mo.RoleBinding, writer.Fields{"user_key": "RB1", "role": cls(demo.FacetRole, 0), "ituser": it, "org_unit": u}, writer.Fields{"org_unit": cat.Units[2].UUID}, ""},
		{mo.Owner, writer.Fields{"user_key": "OW1", "owner": p, "org_unit": u}, writer.Fields{"owner": cat.Persons[1].UUID}, ""},
		{mo.Class, writer.Fields{"user_key": "k1", "name": "Særlig klasse", "facet": demo.FacetUUID(demo.FacetJobFunction)}, writer.Fields{"name": "Særligere klasse"}, ""},
		{mo.Facet, writer.Fields{"user_key": "ny_facet"}, writer.Fields{"description": "Beskrivelse"}, ""},
		{mo.ITSystem, writer.Fields{"user_key": "SYS", "name": "System"}, writer.Fields{"name": "Systemet"}, ""},
	}
	today := mo.DateOf(time.Now())
	yesterday := mo.DateOf(time.Now().AddDate(0, 0, -1))
	since := mo.DateOf(time.Now().AddDate(-1, 0, 0))
	meta := writer.Meta{Actor: demo.ActorOPUS}
	var table []string
	for _, tc := range cases {
		spec := mo.SpecOf(tc.typ)
		c := lora.ClassByName(spec.Class)
		id := uuid.NewString()
		v := mo.Validity{From: &since}
		if tc.typ == mo.Class || tc.typ == mo.Facet || tc.typ == mo.ITSystem {
			v = mo.Validity{}
		}
		wal.take(t)
		if err := w.Create(ctx, tc.typ, id, v, tc.create, meta); err != nil {
			t.Fatalf("create %s: %v", tc.typ, err)
		}
		ci, cu := wal.take(t)
		if got, want := current(t, pool, c, id), intended(spec, tc.create, cat.Organisation, tc.scope); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s after create:\n got  %q\n want %q", tc.typ, got, want)
		}
		if err := w.Update(ctx, tc.typ, id, mo.Validity{From: &today}, tc.update, meta); err != nil {
			t.Fatalf("update %s: %v", tc.typ, err)
		}
		ui, uu := wal.take(t)
		merged := writer.Fields{}
		for k, x := range tc.create {
			merged[k] = x
		}
		for k, x := range tc.update {
			merged[k] = x
		}
		if got, want := current(t, pool, c, id), intended(spec, merged, cat.Organisation, tc.scope); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s after update:\n got  %q\n want %q", tc.typ, got, want)
		}
		if err := w.Terminate(ctx, tc.typ, id, yesterday, meta); err != nil {
			t.Fatalf("terminate %s: %v", tc.typ, err)
		}
		ti, tu := wal.take(t)
		if got := current(t, pool, c, id); len(got) != 0 {
			t.Errorf("%s after terminate yesterday still current: %q", tc.typ, got)
		}
		if err := w.Delete(ctx, tc.typ, id, meta); err != nil {
			t.Fatalf("delete %s: %v", tc.typ, err)
		}
		di, du := wal.take(t)
		var open int
		_ = pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM actual_state.%[1]s_registrering WHERE %[1]s_id = $1 AND upper((registrering).timeperiod) = 'infinity'`, c.Name), id).Scan(&open)
		if open != 1 {
			t.Errorf("%s: %d open registrations after delete, want 1 (Slettet)", tc.typ, open)
		}
		table = append(table, fmt.Sprintf("%-13s create %2d I %2d U | update %2d I %2d U | terminate %2d I %2d U | delete %d I %d U", tc.typ, ci, cu, ui, uu, ti, tu, di, du))
	}
	if _, err := pool.Exec(ctx, `SELECT pg_drop_replication_slot('writer_counts')`); err != nil {
		t.Fatal(err)
	}
	t.Log("LoRa row messages per MO change (INSERT, UPDATE) as logical decoding sees them:\n" + strings.Join(table, "\n"))
}
