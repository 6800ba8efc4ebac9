package ad

import (
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

func put(v *view.View, typ mo.Type, uuid, from, to string, f map[string]any) {
	val := mo.Validity{From: date(from), To: date(to)}
	v.Apply(&event.Envelope{Version: 1, ID: "x", Op: event.Update, Type: typ, UUID: uuid,
		Object: &mo.Object{Type: typ, UUID: uuid, Validities: []mo.Version{{Validity: val, Period: val.Period(), Fields: f}}}}, 0)
}

// TestRenderTitle: the title is the policy's export title — blank for a
// withheld job function, never its name; without the policy, the job
// function's name. The IT user's linked engagements decide, primary first;
// the manager is inherited from above, never the person itself.
func TestRenderTitle(t *testing.T) {
	v := view.New()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, mo.Location)
	put(v, mo.Class, "jf", "", "", map[string]any{"name": "Pædagog"})
	put(v, mo.Class, "prim", "", "", map[string]any{"user_key": "primary", "scope": "3000"})
	put(v, mo.Class, "sec", "", "", map[string]any{"user_key": "non-primary", "scope": "0"})
	put(v, mo.ITSystem, "ad", "", "", map[string]any{"user_key": "Active Directory"})
	put(v, mo.OrgUnit, "R", "2000-01-01", "", map[string]any{"name": "Kommune"})
	put(v, mo.OrgUnit, "U", "2000-01-01", "", map[string]any{"name": "Skole", "parent": "R"})
	put(v, mo.Person, "P", "", "", map[string]any{"given_name": "Anna", "surname": "Berg"})
	put(v, mo.Person, "M", "", "", map[string]any{"given_name": "Bo", "surname": "Chef"})
	put(v, mo.Manager, "m1", "2000-01-01", "", map[string]any{"person": "P", "org_unit": "U"}) // P manages her own unit
	put(v, mo.Manager, "m2", "2000-01-01", "", map[string]any{"person": "M", "org_unit": "R"})
	// Withheld by the policy: job_function null, export title blank.
	put(v, mo.Engagement, "e1", "2020-01-01", "", map[string]any{"person": "P", "org_unit": "U", "primary": "sec", "export_title": " ", "withheld": []string{"job_function"}})
	put(v, mo.Engagement, "e2", "2021-01-01", "", map[string]any{"person": "P", "org_unit": "U", "primary": "prim", "job_function": "jf"})
	put(v, mo.ITUser, "it", "2020-01-01", "", map[string]any{"person": "P", "itsystem": "ad", "engagements": []string{"e1"}})
	cfg := Config{GUIDField: "user_key"}
	r := &renderer{v: v, cfg: &cfg, system: func() string { return "ad" }}
	it := v.Get(mo.ITUser, "it")
	d, active, err := r.data("P", it, now, nil)
	if err != nil || !active {
		t.Fatal(err, active)
	}
	if len(d.Engagements) != 1 || d.Engagement.UUID != "e1" || d.Engagement.Title != "" || d.Engagement.JobFunction != "" {
		t.Errorf("the IT user links e1 (withheld): %+v", d.Engagements)
	}
	if d.Engagement.Manager == nil || d.Engagement.Manager.Person.Name != "Bo Chef" {
		t.Errorf("manager: P manages her own unit, so R's: %+v", d.Engagement.Manager)
	}
	if d.Engagement.Unit.PathString != "Kommune / Skole" {
		t.Errorf("path %q", d.Engagement.Unit.PathString)
	}
	// Without an IT user: the person's engagements, primary first; no
	// export title: the class name.
	d, _, _ = r.data("P", nil, now, nil)
	if len(d.Engagements) != 2 || d.Engagement.UUID != "e2" || d.Engagement.Title != "Pædagog" {
		t.Errorf("person's engagements, primary first: %+v", d.Engagements)
	}
	m, _ := CompileMapping(nil, "employeeID")
	vals, _ := m.Render(d)
	if vals["title"][0] != "Pædagog" || vals["department"][0] != "Skole" {
		t.Errorf("render: %v", vals)
	}
}
