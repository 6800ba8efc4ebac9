package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

const (
	flex      = "9f9934cd-0c45-5e65-bc6d-b2c6f5b39f10"
	teacher   = "11111111-0000-0000-0000-000000000001"
	primary   = "22222222-0000-0000-0000-000000000001"
	secondary = "22222222-0000-0000-0000-000000000002"
	adSystem  = "33333333-0000-0000-0000-000000000001"
	otherSys  = "33333333-0000-0000-0000-000000000002"
	person    = "44444444-0000-0000-0000-000000000001"
)

var today = time.Date(2026, 12, 3, 12, 0, 0, 0, mo.Location)

func object(typ mo.Type, uuid string, fields map[string]any) *mo.Object {
	from := mo.Date("2020-01-01")
	v := mo.Validity{From: &from}
	return &mo.Object{Type: typ, UUID: uuid, Validities: []mo.Version{{Validity: v, Period: v.Period(), Fields: fields}}}
}

func newPolicy(t *testing.T) *Policy {
	t.Helper()
	cfg := Config{SensitiveJobFunctions: []string{"fleksjob"}, ADITSystems: []string{"AD"}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := New(cfg, func() time.Time { return today })
	for _, c := range []struct{ uuid, key, name, scope string }{
		{flex, "fleksjob", "Fleksjob", ""}, {teacher, "laerer", "Lærer", ""},
		{primary, "primary", "Primær", "3000"}, {secondary, "non-primary", "Ikke-primær", "0"},
	} {
		p.Learn(object(mo.Class, c.uuid, map[string]any{"user_key": c.key, "name": c.name, "scope": c.scope}))
	}
	p.Learn(object(mo.ITSystem, adSystem, map[string]any{"user_key": "AD", "name": "Active Directory"}))
	p.Learn(object(mo.ITSystem, otherSys, map[string]any{"user_key": "OPUS", "name": "OPUS Løn"}))
	return p
}

// expected is OS2mo's rule, written out on its own.
func expected(isPrimary, hasAD bool, adTitle string, sensitive bool) string {
	if isPrimary && hasAD && adTitle != "" {
		return adTitle
	}
	if sensitive {
		return " "
	}
	return "Lærer"
}

func TestExportTitleTruthTable(t *testing.T) {
	for _, isPrimary := range []bool{false, true} {
		for _, hasAD := range []bool{false, true} {
			for _, adTitle := range []string{"", "Konsulent"} {
				for _, sensitive := range []bool{false, true} {
					name := fmt.Sprintf("primary=%v/ad=%v/adtitle=%q/sensitive=%v", isPrimary, hasAD, adTitle, sensitive)
					t.Run(name, func(t *testing.T) {
						p := newPolicy(t)
						if hasAD {
							// An IT user in another system does not count; one in AD does.
							p.Learn(object(mo.ITUser, "it-2", map[string]any{"itsystem": otherSys, "person": person}))
							if got := p.Learn(object(mo.ITUser, "it-1", map[string]any{"itsystem": adSystem, "person": person})); len(got) != 1 || got[0] != person {
								t.Fatalf("Learn of the first AD IT user returned %v, want [%s]", got, person)
							}
						}
						jf, prim := teacher, secondary
						if sensitive {
							jf = flex
						}
						if isPrimary {
							prim = primary
						}
						f := map[string]any{"user_key": "E1", "person": person, "job_function": jf, "primary": prim, "extension_3": "Fleksjob, stale"}
						if adTitle != "" {
							f["extension_2"] = adTitle
						}
						e := object(mo.Engagement, "e1", f)
						p.Apply(e)
						got := e.Validities[0].Fields
						want := expected(isPrimary, hasAD, adTitle, sensitive)
						if got[ExportTitle] != want || got["extension_3"] != want {
							t.Errorf("export_title %q, extension_3 %q; want %q", got[ExportTitle], got["extension_3"], want)
						}
						if sensitive {
							if got["job_function"] != nil {
								t.Errorf("job_function %v not withheld", got["job_function"])
							}
							if w := fmt.Sprint(got[Withheld]); w != "[job_function]" {
								t.Errorf("withheld %s, want [job_function]", w)
							}
						} else if got["job_function"] != teacher || got[Withheld] != nil {
							t.Errorf("job_function %v withheld %v: a plain class is kept", got["job_function"], got[Withheld])
						}
					})
				}
			}
		}
	}
}

func TestExtensionNamingTheClassIsWithheld(t *testing.T) {
	p := newPolicy(t)
	e := object(mo.Engagement, "e1", map[string]any{"person": person, "job_function": flex, "extension_1": "FLEKSJOB, Rådhuset", "extension_4": "LK 20"})
	p.Apply(e)
	f := e.Validities[0].Fields
	if f["extension_1"] != nil || f["extension_4"] != "LK 20" {
		t.Fatalf("extension_1 %v extension_4 %v", f["extension_1"], f["extension_4"])
	}
	if w := fmt.Sprint(f[Withheld]); w != "[extension_1 job_function]" {
		t.Fatalf("withheld %s", w)
	}
}

func TestAssociationAndMerge(t *testing.T) {
	p := newPolicy(t)
	// Two sensitive periods in a row become one: the boundary between two
	// withheld values would tell that the job function changed.
	a := object(mo.Association, "a1", map[string]any{"person": person, "job_function": flex})
	mid := mo.Date("2024-01-01")
	v2 := mo.Validity{From: &mid}
	end := mo.Date("2023-12-31")
	a.Validities[0].Validity.To = &end
	a.Validities[0].Period = a.Validities[0].Validity.Period()
	a.Validities = append(a.Validities, mo.Version{Validity: v2, Period: v2.Period(), Fields: map[string]any{"person": person, "job_function": "skaanejob-uuid"}})
	p.Learn(object(mo.Class, "skaanejob-uuid", map[string]any{"user_key": "skaanejob", "name": "Skånejob"}))
	p2 := New(Config{SensitiveJobFunctions: []string{"fleksjob", "skaanejob"}}, func() time.Time { return today })
	p2.classes = p.classes
	p2.Apply(a)
	if len(a.Validities) != 1 || a.Validities[0].Fields[ExportTitle] != " " || a.Validities[0].Validity.To != nil {
		t.Fatalf("got %+v", a.Validities)
	}
}

func TestADUserLeavesAndScrub(t *testing.T) {
	p := newPolicy(t)
	p.Learn(object(mo.ITUser, "it-1", map[string]any{"itsystem": adSystem, "person": person}))
	deleted := &mo.Object{Type: mo.ITUser, UUID: "it-1", Validities: []mo.Version{}}
	if got := p.Learn(deleted); len(got) != 1 || p.HasAD(person) {
		t.Fatalf("after delete: flipped %v, HasAD %v", got, p.HasAD(person))
	}
	s := p.Scrub(`{"job_function": "` + flex + `", "q": "fleksJOB"}`)
	if strings.Contains(strings.ToLower(s), "fleksjob") || strings.Contains(s, flex) {
		t.Fatalf("scrubbed %s", s)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{SensitiveJobFunctions: []string{" "}, ADTitleField: "extension_2", ExportTitleField: "extension_2", ADITSystems: []string{"AD"}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "sensitive_job_functions[0]") || !strings.Contains(err.Error(), "would overwrite") {
		t.Fatalf("got %v", err)
	}
	c = Config{ExportTitleField: "udvidelse_3"}
	c.Defaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "extension_1 … extension_10") {
		t.Fatalf("got %v", err)
	}
}

func TestUnmatched(t *testing.T) {
	p := New(Config{SensitiveJobFunctions: []string{"fleksjob", "fleksjb", teacher}, ADITSystems: []string{"AD", "Skole-AD"}}, nil)
	p.Learn(object(mo.Class, flex, map[string]any{"user_key": "fleksjob", "name": "Fleksjob"}))
	p.Learn(object(mo.Class, teacher, map[string]any{"user_key": "laerer", "name": "Lærer"}))
	p.Learn(object(mo.ITSystem, adSystem, map[string]any{"user_key": "AD"}))
	if got := fmt.Sprint(p.Unmatched()); got != "[sensitive_job_functions: fleksjb ad_itsystems: Skole-AD]" {
		t.Fatalf("Unmatched = %s", got)
	}
}
