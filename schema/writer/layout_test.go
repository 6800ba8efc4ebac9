package writer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// TestOS2moRelationLayout: the writer's relation rows for managers,
// addresses, units, facets, classes and associations, read back with SQL,
// are laid out as OS2mo writes them (mo-store.md §4–§5, read from
// mora/service/*.py and the filters in mora/mapping.py). The expected rows
// are written out by hand here, not derived from the field mapping.
func TestOS2moRelationLayout(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.NewPostgresDB(t, "layout")
	conn, err := store.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sum, err := demo.Seed(ctx, pool, demo.SeedOptions{Seed: 5, Persons: 10})
	if err != nil {
		t.Fatal(err)
	}
	cat := sum.Catalog
	org := cat.Organisation
	w := writer.New(store.NewWriter(pool), writer.SQLScopes{DB: pool}, org)
	cls := func(facet string) string { return cat.Classes[facet][0].UUID }
	emailType := ""
	for _, c := range cat.Classes[demo.FacetEmployeeAddressType] {
		if c.Scope == "EMAIL" {
			emailType = c.UUID
		}
	}
	p, u, eng, it := cat.Persons[0].UUID, cat.Units[1].UUID, cat.Engagements[0].UUID, cat.ITUsers[0].UUID
	level, resp, vis, tid := cls(demo.FacetManagerLevel), cls(demo.FacetResponsibility), cls(demo.FacetVisibility), cls(demo.FacetTimePlanning)
	job, mtype, atype, assoc := cls(demo.FacetJobFunction), cls(demo.FacetManagerType), cls(demo.FacetAssociationType), cls(demo.FacetAssociationType)
	facetOf := demo.FacetUUID(demo.FacetJobFunction)
	since := mo.Date("2020-01-01")
	cases := []struct {
		typ    mo.Type
		fields writer.Fields
		want   []string // "rel_type objekt_type -> target", in any order
	}{
		{mo.Manager, writer.Fields{"user_key": "L", "person": p, "org_unit": u, "manager_type": mtype, "manager_level": level, "responsibilities": []string{resp}, "engagement": eng}, []string{
			"tilknyttedebrugere  -> " + p, "tilknyttedeenheder  -> " + u, "organisatoriskfunktionstype  -> " + mtype,
			"opgaver lederniveau -> " + level, "opgaver lederansvar -> " + resp, "tilknyttedefunktioner engagement -> " + eng,
			"tilknyttedeorganisationer  -> " + org}},
		{mo.Address, writer.Fields{"user_key": "a@x.dk", "value": "a@x.dk", "address_type": emailType, "visibility": vis, "person": p, "engagement": eng}, []string{
			"adresser EMAIL -> urn:mailto:a@x.dk", "organisatoriskfunktionstype  -> " + emailType, "opgaver synlighed -> " + vis,
			"tilknyttedebrugere  -> " + p, "tilknyttedefunktioner engagement -> " + eng, "tilknyttedeorganisationer  -> " + org}},
		{mo.OrgUnit, writer.Fields{"user_key": "E", "name": "Enhed", "parent": u, "unit_type": cls(demo.FacetOrgUnitType), "time_planning": tid}, []string{
			"overordnet  -> " + u, "enhedstype  -> " + cls(demo.FacetOrgUnitType), "opgaver tidsregistrering -> " + tid, "tilhoerer  -> " + org}},
		{mo.Facet, writer.Fields{"user_key": "ny_facet"}, []string{"ansvarlig Organisation -> " + org}},
		{mo.Class, writer.Fields{"user_key": "k", "name": "K", "facet": facetOf}, []string{"facet Facet -> " + facetOf, "ansvarlig Organisation -> " + org}},
		// An IT association: the IT user in tilknyttedeitsystemer, its job
		// function in tilknyttedefunktioner, nothing in opgaver.
		{mo.Association, writer.Fields{"user_key": "T", "person": p, "org_unit": u, "association_type": atype, "it_user": it, "job_function": job}, []string{
			"tilknyttedebrugere  -> " + p, "tilknyttedeenheder  -> " + u, "organisatoriskfunktionstype  -> " + assoc,
			"tilknyttedeitsystemer  -> " + it, "tilknyttedefunktioner  -> " + job, "tilknyttedeorganisationer  -> " + org}},
	}
	for _, tc := range cases {
		spec := mo.SpecOf(tc.typ)
		c := lora.ClassByName(spec.Class)
		id := uuid.NewString()
		v := mo.Validity{From: &since}
		if tc.typ == mo.Class || tc.typ == mo.Facet {
			v = mo.Validity{}
		}
		if err := w.Create(ctx, tc.typ, id, v, tc.fields, writer.Meta{Actor: demo.ActorOPUS}); err != nil {
			t.Fatalf("create %s: %v", tc.typ, err)
		}
		var got []string
		for _, l := range current(t, pool, c, id) {
			if strings.Contains(l, " -> ") {
				got = append(got, l)
			}
		}
		want := append([]string(nil), tc.want...)
		if g, w := fmt.Sprint(sorted(got)), fmt.Sprint(sorted(want)); g != w {
			t.Errorf("%s relation rows:\n got  %s\n want %s", tc.typ, g, w)
		}
	}
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
