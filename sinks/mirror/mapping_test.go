package mirror

import (
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// A small municipality, sent through Kafka to a mirror, and the tables a
// BI user would then read, written out by hand. Then updates, deletes, a
// class rename, a unit move and rename, a manager who leaves, a class that
// arrives late, and midnight passing.

const N = "∅" // NULL as the tests print it

// Names of the municipality's objects.
var (
	// facets
	fEngType, fJob, fPrim, fUnitType, fLevel, fAddr, fVis, fMgrType, fMgrLvl, fResp, fLeave, fKLE, fAspect, fAssoc, fTime, fHier, fUnion = id(1, 1), id(1, 2), id(1, 3), id(1, 4), id(1, 5), id(1, 6), id(1, 7), id(1, 8), id(1, 9), id(1, 10), id(1, 11), id(1, 12), id(1, 13), id(1, 14), id(1, 15), id(1, 16), id(1, 17)
	// classes
	cAnsat, cLaerer, cPaed, cDir, cPrim, cNon, cAfd, cNiv, cLinje, cTid, cEmail, cDar            = id(2, 1), id(2, 2), id(2, 3), id(2, 4), id(2, 5), id(2, 6), id(2, 7), id(2, 8), id(2, 9), id(2, 10), id(2, 11), id(2, 12)
	cPublic, cLeder, cLvl2, cResp1, cResp2, cBarsel, cKle, cAsp1, cAsp2, cMedlem, cMetal, cPedel = id(2, 13), id(2, 14), id(2, 15), id(2, 16), id(2, 17), id(2, 18), id(2, 19), id(2, 20), id(2, 21), id(2, 22), id(2, 23), id(2, 24)
	// the rest
	u1, u2, u3, u4, u5         = id(3, 1), id(3, 2), id(3, 3), id(3, 4), id(3, 5)
	p1, p2, p3                 = id(4, 1), id(4, 2), id(4, 3)
	e1, e2, e3, e4, e5, e6, e7 = id(5, 1), id(5, 2), id(5, 3), id(5, 4), id(5, 5), id(5, 6), id(5, 7)
	m1, m2                     = id(6, 1), id(6, 2)
	a1, a2                     = id(7, 1), id(7, 2)
	i1                         = id(8, 1)
	t1                         = id(9, 1)
	l1                         = id(10, 1)
	k1                         = id(11, 1)
	r1                         = id(12, 1)
	sAD                        = id(13, 1)
	darUUID                    = "0a3f50a0-23c9-32b8-e044-0003ba298018"
)

type facetDef struct{ uuid, bvn string }

var facetDefs = []facetDef{
	{fEngType, "engagement_type"}, {fJob, "engagement_job_function"}, {fPrim, "primary_type"}, {fUnitType, "org_unit_type"},
	{fLevel, "org_unit_level"}, {fAddr, "employee_address_type"}, {fVis, "visibility"}, {fMgrType, "manager_type"},
	{fMgrLvl, "manager_level"}, {fResp, "responsibility"}, {fLeave, "leave_type"}, {fKLE, "kle_number"}, {fAspect, "kle_aspect"},
	{fAssoc, "association_type"}, {fTime, "time_planning"}, {fHier, "org_unit_hierarchy"}, {fUnion, "faglig_organisation"},
}

type classDef struct{ uuid, bvn, name, scope, facet string }

var classDefs = []classDef{
	{cAnsat, "ansat", "Ansat", "", fEngType}, {cLaerer, "laerer", "Lærer", "", fJob}, {cPaed, "paedagog", "Pædagog", "", fJob},
	{cDir, "direktoer", "Direktør", "", fJob}, {cPrim, "primary", "Primær", "3000", fPrim}, {cNon, "non-primary", "Ikke-primær", "0", fPrim},
	{cAfd, "afdeling", "Afdeling", "", fUnitType}, {cNiv, "niveau1", "Niveau 1", "", fLevel}, {cLinje, "linjeorg", "Linjeorganisation", "", fHier},
	{cTid, "dagtimer", "Dagtimer", "", fTime}, {cEmail, "EmailEmployee", "Email", "EMAIL", fAddr}, {cDar, "AdressePostUnit", "Postadresse", "DAR", fAddr},
	{cPublic, "PUBLIC", "Må vises eksternt", "PUBLIC", fVis}, {cLeder, "leder", "Leder", "", fMgrType}, {cLvl2, "niveau2", "Niveau 2", "", fMgrLvl},
	{cResp1, "personale", "Personale", "", fResp}, {cResp2, "oekonomi", "Økonomi", "", fResp}, {cBarsel, "barsel", "Barsel", "", fLeave},
	{cKle, "00.01.00", "Kommunens styrelse", "", fKLE}, {cAsp1, "udfoerende", "Udførende", "", fAspect}, {cAsp2, "ansvarlig", "Ansvarlig", "", fAspect},
	{cMedlem, "medlem", "Medlem", "", fAssoc}, {cMetal, "metal", "Dansk Metal", "", fUnion},
}

// pedel arrives late: engagement e7 refers to it before it exists.
var pedel = classDef{cPedel, "pedel", "Pedel", "", fJob}

func classObj(c classDef) *mo.Object {
	f := map[string]any{"user_key": c.bvn, "name": c.name, "facet": c.facet, "published": "Publiceret"}
	if c.scope != "" {
		f["scope"] = c.scope
	}
	return obj(mo.Class, c.uuid, ver("", "", f))
}

func unitObj(uuid, name, bvn, parent string, extra map[string]any) *mo.Object {
	f := map[string]any{"user_key": bvn, "name": name, "unit_type": cAfd}
	if parent != "" {
		f["parent"] = parent
	}
	for k, v := range extra {
		f[k] = v
	}
	return obj(mo.OrgUnit, uuid, ver("2010-01-01", "", f))
}

func engagementObj(uuid, person, unit, job, primary, from, to string, extra map[string]any) *mo.Object {
	f := map[string]any{"user_key": uuid[len(uuid)-2:], "person": person, "org_unit": unit, "engagement_type": cAnsat, "job_function": job}
	if primary != "" {
		f["primary"] = primary
	}
	for k, v := range extra {
		f[k] = v
	}
	return obj(mo.Engagement, uuid, ver(from, to, f))
}

func municipality() []msg {
	var out []msg
	for _, f := range facetDefs {
		out = append(out, put(event.Snapshot, obj(mo.Facet, f.uuid, ver("", "", map[string]any{"user_key": f.bvn, "published": "Publiceret"}))))
	}
	for _, c := range classDefs {
		out = append(out, put(event.Snapshot, classObj(c)))
	}
	out = append(out,
		put(event.Create, obj(mo.ITSystem, sAD, ver("", "", map[string]any{"user_key": "AD", "name": "Active Directory"}))),
		put(event.Create, unitObj(u1, "Kommune", "kommune", "", map[string]any{"org_unit_level": cNiv, "org_unit_hierarchy": cLinje})),
		put(event.Create, unitObj(u2, "Børn og Unge", "bou", u1, map[string]any{"time_planning": cTid})),
		put(event.Create, unitObj(u3, "Skoler", "skoler", u2, nil)),
		put(event.Create, unitObj(u4, "Østre Skole", "oestre", u3, nil)),
		put(event.Create, unitObj(u5, "Økonomi", "oekonomi", u1, nil)),
		put(event.Create, obj(mo.Person, p1, ver("", "", map[string]any{"user_key": "p1", "given_name": "Åse", "surname": "Ærø", "nickname_given_name": "Åsa", "cpr_number": "0101751234"}))),
		put(event.Create, obj(mo.Person, p2, ver("1955-05-05", "", map[string]any{"user_key": "p2", "given_name": "Søren", "surname": "Kierkegård", "cpr_number": "0505551234"}))),
		put(event.Create, obj(mo.Person, p3, ver("1990-12-12", "", map[string]any{"user_key": "p3", "given_name": "Bjørn", "surname": "Ågesen", "cpr_number": "1212901234"}))),
		put(event.Create, engagementObj(e1, p1, u4, cLaerer, cPrim, "2015-08-01", "", map[string]any{"fraction": int64(37), "extension_1": "Udv æøå", "extension_10": "ti"})),
		put(event.Create, engagementObj(e2, p1, u2, cPaed, cNon, "2019-01-01", "", map[string]any{"fraction": int64(10)})),
		put(event.Create, obj(mo.Engagement, e3,
			ver("2000-01-01", "2019-12-31", map[string]any{"user_key": "03", "person": p2, "org_unit": u5, "engagement_type": cAnsat, "job_function": cLaerer, "primary": cPrim}),
			ver("2020-01-01", "", map[string]any{"user_key": "03", "person": p2, "org_unit": u5, "engagement_type": cAnsat, "job_function": cDir, "primary": cPrim}))),
		put(event.Create, engagementObj(e4, p3, u3, cLaerer, "", "2020-01-01", "", nil)),
		put(event.Create, engagementObj(e5, p2, u4, cLaerer, cPrim, "2026-07-01", "", nil)),
		put(event.Create, engagementObj(e6, p2, u2, cPaed, cPrim, "2010-01-01", "2025-12-31", nil)),
		put(event.Create, engagementObj(e7, p3, u3, cPedel, cNon, "2024-01-01", "", nil)),
		put(event.Create, obj(mo.Manager, m1, ver("2018-01-01", "", map[string]any{"user_key": "m1", "person": p2, "org_unit": u1, "manager_type": cLeder, "manager_level": cLvl2, "responsibilities": []string{cResp1, cResp2}}))),
		put(event.Create, obj(mo.Manager, m2, ver("2021-01-01", "", map[string]any{"user_key": "m2", "org_unit": u3, "manager_type": cLeder, "manager_level": cLvl2, "responsibilities": []string{cResp1}}))),
		put(event.Create, obj(mo.Address, a1, ver("2015-08-01", "", map[string]any{"user_key": "aase@kommune.dk", "value": "aase@kommune.dk", "address_type": cEmail, "visibility": cPublic, "person": p1, "engagement": e1}))),
		put(event.Create, obj(mo.Address, a2, ver("2010-01-01", "", map[string]any{"user_key": "Skolevej 1", "value": darUUID, "address_type": cDar, "org_unit": u4}))),
		put(event.Create, obj(mo.ITUser, i1, ver("2015-08-01", "", map[string]any{"user_key": "aaer", "external_id": "ext-1", "itsystem": sAD, "person": p1, "primary": cPrim, "engagements": []string{e1, e2}}))),
		put(event.Create, obj(mo.Association, t1, ver("2022-01-01", "", map[string]any{"user_key": "t1", "person": p3, "org_unit": u2, "association_type": cMedlem, "dynamic_classes": []string{cMetal}, "primary": cPrim}))),
		put(event.Create, obj(mo.Leave, l1, ver("2026-06-01", "2026-08-31", map[string]any{"user_key": "l1", "person": p1, "leave_type": cBarsel, "engagement": e1}))),
		put(event.Create, obj(mo.KLE, k1, ver("2010-01-01", "", map[string]any{"user_key": "k1", "org_unit": u4, "kle_number": cKle, "kle_aspects": []string{cAsp1, cAsp2}}))),
		put(event.Create, obj(mo.RelatedUnit, r1, ver("2012-01-01", "", map[string]any{"user_key": "r1", "org_units": []string{u4, u5}}))),
	)
	return out
}

// changes is the second round: everything that should ripple.
func changes() []msg {
	out := []msg{
		put(event.Update, obj(mo.Person, p1, ver("", "", map[string]any{"user_key": "p1", "given_name": "Åse", "surname": "Ærø-Hansen", "nickname_given_name": "Åsa", "cpr_number": "0101751234"}))),
		put(event.Update, classObj(classDef{cLaerer, "laerer", "Skolelærer", "", fJob})),
		put(event.Update, unitObj(u4, "Østre Skole", "oestre", u5, nil)), // moved under Økonomi
		put(event.Update, unitObj(u1, "Kommunen", "kommune", "", map[string]any{"org_unit_level": cNiv, "org_unit_hierarchy": cLinje})),
		put(event.Update, obj(mo.Manager, m2, ver("2021-01-01", "2026-06-10", map[string]any{"user_key": "m2", "org_unit": u3, "manager_type": cLeder, "manager_level": cLvl2, "responsibilities": []string{cResp1}}))),
		put(event.Create, classObj(pedel)),
		{mo.RelatedUnit, r1, nil}, // only the tombstone: as after compaction
		put(event.Tick, obj(mo.Engagement, e3,
			ver("2000-01-01", "2019-12-31", map[string]any{"user_key": "03", "person": p2, "org_unit": u5, "engagement_type": cAnsat, "job_function": cLaerer, "primary": cPrim}),
			ver("2020-01-01", "", map[string]any{"user_key": "03", "person": p2, "org_unit": u5, "engagement_type": cAnsat, "job_function": cDir, "primary": cPrim}))),
	}
	out = append(out, del(mo.Engagement, e1)...)
	out = append(out, del(mo.Address, a1)...)
	return out
}

func r(vals ...string) string { return strings.Join(vals, " | ") }

// view is a table read the way a BI user would: chosen columns, ordered.
type view struct {
	table string
	cols  []string
	order []string
}

var (
	vFacetter = view{tFacetter, []string{"uuid", "bvn"}, []string{"uuid"}}
	vKlasser  = view{tKlasser, []string{"uuid", "bvn", "titel", "facet_uuid", "facet_bvn"}, []string{"uuid"}}
	vITSys    = view{tITSystemer, []string{"uuid", "navn"}, []string{"uuid"}}
	vBrugere  = view{tBrugere, []string{"uuid", "bvn", "fornavn", "efternavn", "kaldenavn_fornavn", "kaldenavn_efternavn", "cpr", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vEnheder  = view{tEnheder, []string{"uuid", "navn", "bvn", "forældreenhed_uuid", "enhedstype_uuid", "enhedstype_titel", "enhedsniveau_uuid", "enhedsniveau_titel",
		"tidsregistrering_uuid", "tidsregistrering_titel", "organisatorisk_sti", "leder_uuid", "fungerende_leder_uuid", "opmærkning_uuid", "opmærkning_titel", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vEngagementer = view{tEngagementer, []string{"uuid", "bruger_uuid", "enhed_uuid", "bvn", "arbejdstidsfraktion", "engagementstype_uuid", "engagementstype_titel",
		"primærtype_uuid", "primærtype_titel", "stillingsbetegnelse_uuid", "stillingsbetegnelse_titel", "primær_boolean", "udvidelse_1", "udvidelse_10", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vTilknytninger = view{tTilknytninger, []string{"uuid", "bvn", "bruger_uuid", "enhed_uuid", "tilknytningstype_uuid", "tilknytningstype_titel", "stillingsbetegnelse_uuid",
		"stillingsbetegnelse_titel", "it_forbindelse_uuid", "primær_boolean", "faglig_organisation", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vOrlover   = view{tOrlover, []string{"uuid", "bvn", "bruger_uuid", "orlovstype_uuid", "orlovstype_titel", "engagement_uuid", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vITForb    = view{tITForbindelse, []string{"uuid", "it_system_uuid", "bruger_uuid", "enhed_uuid", "brugernavn", "eksternt_id", "primær_boolean", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vITForbEng = view{tITForbEngage, []string{"it_forbindelse_uuid", "engagement_uuid", "startdato", "slutdato"}, []string{"it_forbindelse_uuid", "engagement_uuid", "startdato"}}
	vLedere    = view{tLedere, []string{"uuid", "bruger_uuid", "enhed_uuid", "ledertype_uuid", "ledertype_titel", "niveautype_uuid", "niveautype_titel", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vLederAnsv = view{tLederAnsvar, []string{"leder_uuid", "lederansvar_uuid", "lederansvar_titel", "startdato", "slutdato"}, []string{"leder_uuid", "lederansvar_uuid", "startdato"}}
	vKLE       = view{tKLE, []string{"uuid", "enhed_uuid", "kle_aspekt_uuid", "kle_aspekt_titel", "kle_nummer_uuid", "kle_nummer_titel", "startdato", "slutdato"}, []string{"uuid", "kle_aspekt_uuid", "startdato"}}
	vRelated   = view{tSammenkobling, []string{"uuid", "enhed1_uuid", "enhed2_uuid", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vAdresser  = view{tAdresser, []string{"uuid", "bvn", "bruger_uuid", "enhed_uuid", "engagement_uuid", "ituser_uuid", "værdi", "dar_uuid", "adressetype_uuid", "adressetype_bvn", "adressetype_scope", "adressetype_titel", "synlighed_uuid", "synlighed_scope", "synlighed_titel", "startdato", "slutdato"}, []string{"uuid", "startdato"}}
	vDAR       = view{tDARAdresser, []string{"uuid"}, []string{"uuid"}}
	allViews   = []view{vFacetter, vKlasser, vITSys, vBrugere, vEnheder, vEngagementer, vTilknytninger, vOrlover, vITForb, vITForbEng, vLedere, vLederAnsv, vKLE, vRelated, vAdresser, vDAR}
)

// expected holds the rows of each view.
type expected map[string][]string

func (e expected) clone() expected {
	out := expected{}
	for k, v := range e {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// compare reads every view and returns the differences.
func compare(t *testing.T, db *sql.DB, d Dialect, want expected) string {
	var diffs []string
	for _, v := range allViews {
		got := query(t, db, selectSQL(d, v.table, v.cols, v.order...))
		w := want[v.table]
		if !reflect.DeepEqual(got, w) && !(len(got) == 0 && len(w) == 0) {
			diffs = append(diffs, fmt.Sprintf("table %s (%s):\n got:\n  %s\nwant:\n  %s", v.table, strings.Join(v.cols, ", "),
				strings.Join(got, "\n  "), strings.Join(w, "\n  ")))
		}
	}
	return strings.Join(diffs, "\n")
}

func assertTables(t *testing.T, db *sql.DB, d Dialect, want expected, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		diff := compare(t, db, d, want)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirror tables differ from the expected rows:\n%s", diff)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantRound1 is the tables after the municipality arrived, by hand.
func wantRound1(mode Mode) expected {
	hist := mode == Historic
	// computed columns: NULL in historic mode
	cmp := func(s string) string {
		if hist {
			return N
		}
		return s
	}
	want := expected{}
	for _, f := range facetDefs {
		want[tFacetter] = append(want[tFacetter], r(f.uuid, f.bvn))
	}
	facetBvn := map[string]string{}
	for _, f := range facetDefs {
		facetBvn[f.uuid] = f.bvn
	}
	for _, c := range classDefs {
		want[tKlasser] = append(want[tKlasser], r(c.uuid, c.bvn, c.name, c.facet, facetBvn[c.facet]))
	}
	want[tITSystemer] = []string{r(sAD, "Active Directory")}
	want[tBrugere] = []string{
		r(p1, "p1", "Åse", "Ærø", "Åsa", N, "0101751234", "0001-01-01", "9999-12-31"),
		r(p2, "p2", "Søren", "Kierkegård", N, N, "0505551234", "1955-05-05", "9999-12-31"),
		r(p3, "p3", "Bjørn", "Ågesen", N, N, "1212901234", "1990-12-12", "9999-12-31"),
	}
	want[tEnheder] = []string{
		r(u1, "Kommune", "kommune", N, cAfd, "Afdeling", cNiv, "Niveau 1", N, N, cmp(`Kommune`), cmp(m1), cmp(m1), cLinje, "Linjeorganisation", "2010-01-01", "9999-12-31"),
		r(u2, "Børn og Unge", "bou", u1, cAfd, "Afdeling", N, N, cTid, "Dagtimer", cmp(`Kommune\Børn og Unge`), N, cmp(m1), N, N, "2010-01-01", "9999-12-31"),
		r(u3, "Skoler", "skoler", u2, cAfd, "Afdeling", N, N, N, N, cmp(`Kommune\Børn og Unge\Skoler`), cmp(m2), cmp(m2), N, N, "2010-01-01", "9999-12-31"),
		r(u4, "Østre Skole", "oestre", u3, cAfd, "Afdeling", N, N, N, N, cmp(`Kommune\Børn og Unge\Skoler\Østre Skole`), N, cmp(m2), N, N, "2010-01-01", "9999-12-31"),
		r(u5, "Økonomi", "oekonomi", u1, cAfd, "Afdeling", N, N, N, N, cmp(`Kommune\Økonomi`), N, cmp(m1), N, N, "2010-01-01", "9999-12-31"),
	}
	// primær_boolean, in both modes: each engagement's own primary class
	// has scope >= 3000 (OS2mo's is_primary). e1 and e3 (Primær, 3000)
	// are true; e2 and e7 (scope 0) and e4 (no primary class) false.
	want[tEngagementer] = []string{
		r(e1, p1, u4, "01", "37", cAnsat, "Ansat", cPrim, "Primær", cLaerer, "Lærer", "1", "Udv æøå", "ti", "2015-08-01", "9999-12-31"),
		r(e2, p1, u2, "02", "10", cAnsat, "Ansat", cNon, "Ikke-primær", cPaed, "Pædagog", "0", N, N, "2019-01-01", "9999-12-31"),
	}
	if hist {
		want[tEngagementer] = append(want[tEngagementer], r(e3, p2, u5, "03", N, cAnsat, "Ansat", cPrim, "Primær", cLaerer, "Lærer", "1", N, N, "2000-01-01", "2019-12-31"))
	}
	want[tEngagementer] = append(want[tEngagementer],
		r(e3, p2, u5, "03", N, cAnsat, "Ansat", cPrim, "Primær", cDir, "Direktør", "1", N, N, "2020-01-01", "9999-12-31"),
		r(e4, p3, u3, "04", N, cAnsat, "Ansat", N, N, cLaerer, "Lærer", "0", N, N, "2020-01-01", "9999-12-31"))
	if hist {
		want[tEngagementer] = append(want[tEngagementer],
			r(e5, p2, u4, "05", N, cAnsat, "Ansat", cPrim, "Primær", cLaerer, "Lærer", "1", N, N, "2026-07-01", "9999-12-31"),
			r(e6, p2, u2, "06", N, cAnsat, "Ansat", cPrim, "Primær", cPaed, "Pædagog", "1", N, N, "2010-01-01", "2025-12-31"))
	}
	// Pedel has not arrived: its title is NULL until it does.
	want[tEngagementer] = append(want[tEngagementer], r(e7, p3, u3, "07", N, cAnsat, "Ansat", cNon, "Ikke-primær", cPedel, N, "0", N, N, "2024-01-01", "9999-12-31"))
	want[tTilknytninger] = []string{r(t1, "t1", p3, u2, cMedlem, "Medlem", N, N, N, "1", "Dansk Metal", "2022-01-01", "9999-12-31")}
	want[tOrlover] = []string{r(l1, "l1", p1, cBarsel, "Barsel", e1, "2026-06-01", "2026-08-31")}
	want[tITForbindelse] = []string{r(i1, sAD, p1, N, "aaer", "ext-1", "1", "2015-08-01", "9999-12-31")}
	want[tITForbEngage] = []string{r(i1, e1, "2015-08-01", "9999-12-31"), r(i1, e2, "2015-08-01", "9999-12-31")}
	want[tLedere] = []string{
		r(m1, p2, u1, cLeder, "Leder", cLvl2, "Niveau 2", "2018-01-01", "9999-12-31"),
		r(m2, N, u3, cLeder, "Leder", cLvl2, "Niveau 2", "2021-01-01", "9999-12-31"),
	}
	want[tLederAnsvar] = []string{
		r(m1, cResp1, "Personale", "2018-01-01", "9999-12-31"),
		r(m1, cResp2, "Økonomi", "2018-01-01", "9999-12-31"),
		r(m2, cResp1, "Personale", "2021-01-01", "9999-12-31"),
	}
	want[tKLE] = []string{
		r(k1, u4, cAsp1, "Udførende", cKle, "Kommunens styrelse", "2010-01-01", "9999-12-31"),
		r(k1, u4, cAsp2, "Ansvarlig", cKle, "Kommunens styrelse", "2010-01-01", "9999-12-31"),
	}
	want[tSammenkobling] = []string{r(r1, u4, u5, "2012-01-01", "9999-12-31")}
	want[tAdresser] = []string{
		r(a1, "aase@kommune.dk", p1, N, e1, N, "aase@kommune.dk", N, cEmail, "EmailEmployee", "E-mail", "Email", cPublic, "PUBLIC", "Må vises eksternt", "2015-08-01", "9999-12-31"),
		r(a2, "Skolevej 1", N, u4, N, N, darUUID, darUUID, cDar, "AdressePostUnit", "DAR", "Postadresse", N, N, N, "2010-01-01", "9999-12-31"),
	}
	return want
}

// wantRound2 is round 1 after changes(), by hand.
func wantRound2(mode Mode) expected {
	hist := mode == Historic
	cmp := func(s string) string {
		if hist {
			return N
		}
		return s
	}
	want := wantRound1(mode)
	want[tBrugere][0] = r(p1, "p1", "Åse", "Ærø-Hansen", "Åsa", N, "0101751234", "0001-01-01", "9999-12-31")
	for i, row := range want[tKlasser] {
		if strings.HasPrefix(row, cLaerer) {
			want[tKlasser][i] = r(cLaerer, "laerer", "Skolelærer", fJob, "engagement_job_function")
		}
	}
	want[tKlasser] = append(want[tKlasser], r(cPedel, "pedel", "Pedel", fJob, "engagement_job_function"))
	// u4 moved under Økonomi, the root renamed, m2 left on 2026-06-10:
	// Skoler and Østre Skole now inherit m1.
	want[tEnheder] = []string{
		r(u1, "Kommunen", "kommune", N, cAfd, "Afdeling", cNiv, "Niveau 1", N, N, cmp(`Kommunen`), cmp(m1), cmp(m1), cLinje, "Linjeorganisation", "2010-01-01", "9999-12-31"),
		r(u2, "Børn og Unge", "bou", u1, cAfd, "Afdeling", N, N, cTid, "Dagtimer", cmp(`Kommunen\Børn og Unge`), N, cmp(m1), N, N, "2010-01-01", "9999-12-31"),
		r(u3, "Skoler", "skoler", u2, cAfd, "Afdeling", N, N, N, N, cmp(`Kommunen\Børn og Unge\Skoler`), N, cmp(m1), N, N, "2010-01-01", "9999-12-31"),
		r(u4, "Østre Skole", "oestre", u5, cAfd, "Afdeling", N, N, N, N, cmp(`Kommunen\Økonomi\Østre Skole`), N, cmp(m1), N, N, "2010-01-01", "9999-12-31"),
		r(u5, "Økonomi", "oekonomi", u1, cAfd, "Afdeling", N, N, N, N, cmp(`Kommunen\Økonomi`), N, cmp(m1), N, N, "2010-01-01", "9999-12-31"),
	}
	// e1 deleted: e2 stays not primary (scope 0), whatever else p1 has.
	var eng []string
	for _, row := range want[tEngagementer] {
		switch {
		case strings.HasPrefix(row, e1):
			continue
		case strings.HasPrefix(row, e2):
			row = r(e2, p1, u2, "02", "10", cAnsat, "Ansat", cNon, "Ikke-primær", cPaed, "Pædagog", "0", N, N, "2019-01-01", "9999-12-31")
		case strings.HasPrefix(row, e7):
			row = strings.Replace(row, cPedel+" | "+N, cPedel+" | Pedel", 1)
		}
		eng = append(eng, strings.ReplaceAll(row, "| Lærer |", "| Skolelærer |"))
	}
	want[tEngagementer] = eng
	want[tAdresser] = want[tAdresser][1:]
	if hist {
		want[tLedere][1] = r(m2, N, u3, cLeder, "Leder", cLvl2, "Niveau 2", "2021-01-01", "2026-06-10")
		want[tLederAnsvar][2] = r(m2, cResp1, "Personale", "2021-01-01", "2026-06-10")
	} else {
		want[tLedere] = want[tLedere][:1]
		want[tLederAnsvar] = want[tLederAnsvar][:2]
	}
	want[tSammenkobling] = nil
	return want
}

func TestMapping(t *testing.T) {
	for _, mode := range []Mode{Actual, Historic} {
		t.Run(string(mode), func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, dialect string) { testMapping(t, dialect, mode) })
		})
	}
}

func testMapping(t *testing.T, dialect string, mode Mode) {
	k := newKafkaEnv(t)
	cfg := newTarget(t, dialect, mode)
	cfg.TickInterval = 200 * time.Millisecond
	clk := newClock(fixedNow)
	runMirror(t, cfg, k, clk.now)
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, _ := dialectFor(cfg)

	k.send(t, municipality()...)
	k.waitCaughtUp(t, db, d, time.Minute)
	assertTables(t, db, d, wantRound1(mode), 0)

	k.send(t, changes()...)
	k.waitCaughtUp(t, db, d, time.Minute)
	want := wantRound2(mode)
	assertTables(t, db, d, want, 0)

	// kvittering says how fresh the mirror is.
	kv := query(t, db, fmt.Sprintf("SELECT COUNT(*), COUNT(%s) FROM %s", d.Quote("query_tid"), d.Quote(tKvittering)))
	if len(kv) != 1 || strings.HasPrefix(kv[0], "0 |") || strings.HasSuffix(kv[0], "| 0") {
		t.Fatalf("kvittering: %v, want rows with query_tid", kv)
	}
	bad := query(t, db, fmt.Sprintf("SELECT %s FROM %s WHERE %s > %s", d.Quote("id"), d.Quote(tKvittering), d.Quote("start_levering_tid"), d.Quote("slut_levering_tid")))
	if len(bad) > 0 {
		t.Fatalf("kvittering rows with start after end: %v", bad)
	}

	// Midnight passes (no event at all): on 2026-07-01 e5 has started.
	// p2 now has e3 and e5, both Primær (3000): both are primary (OS2mo's
	// is_primary is per engagement). Historic rows do not change with the
	// date.
	clk.set(time.Date(2026, 7, 1, 0, 5, 0, 0, mo.Location))
	if mode == Actual {
		var eng []string
		for _, row := range want[tEngagementer] {
			eng = append(eng, row)
			if strings.HasPrefix(row, e4) {
				eng = append(eng, r(e5, p2, u4, "05", N, cAnsat, "Ansat", cPrim, "Primær", cLaerer, "Skolelærer", "1", N, N, "2026-07-01", "9999-12-31"))
			}
		}
		want[tEngagementer] = eng
	}
	assertTables(t, db, d, want, 20*time.Second)
}
