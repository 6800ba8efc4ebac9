package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// obj makes an object with one version per (from, to, fields) triple;
// "" is an open bound.
func obj(t mo.Type, uuid string, vs ...any) *mo.Object {
	o := &mo.Object{Type: t, UUID: uuid}
	for i := 0; i+2 < len(vs)+1; i += 3 {
		var val mo.Validity
		if f := vs[i].(string); f != "" {
			d := mo.Date(f)
			val.From = &d
		}
		if to := vs[i+1].(string); to != "" {
			d := mo.Date(to)
			val.To = &d
		}
		o.Validities = append(o.Validities, mo.Version{Validity: val, Period: val.Period(), Fields: vs[i+2].(map[string]any)})
	}
	return o
}

type f = map[string]any

func day(s string) time.Time {
	t, _ := mo.ParseDate(s)
	return t.Add(10 * time.Hour)
}

func testView() *moView {
	v := newView(nil)
	add := func(o *mo.Object) { v.put(o.Type, o.UUID, o) }
	add(obj(mo.Class, "cls-email", "", "", f{"name": "Email", "scope": "EMAIL", "user_key": "EmailUnit"}))
	add(obj(mo.Class, "cls-phone", "", "", f{"name": "Telefon", "scope": "PHONE", "user_key": "PhoneUnit"}))
	add(obj(mo.Class, "role-admin", "", "", f{"name": "Administrator", "user_key": "admin"}))
	add(obj(mo.ITSystem, "sys-ad", "", "", f{"name": "Active Directory", "user_key": "AD"}))
	add(obj(mo.Person, "p1", "", "", f{"given_name": "Anna", "surname": "Jensen"}))
	add(obj(mo.OrgUnit, "root", "2000-01-01", "", f{"name": "Kommune", "user_key": "K"}))
	add(obj(mo.OrgUnit, "a", "2000-01-01", "", f{"name": "Forvaltning", "user_key": "A1", "parent": "root"}))
	add(obj(mo.OrgUnit, "b", "2000-01-01", "", f{"name": "Skole", "user_key": "B1", "parent": "a"}))
	add(obj(mo.OrgUnit, "x", "2000-01-01", "", f{"name": "Udeladt", "user_key": "X1", "parent": "root"}))
	add(obj(mo.OrgUnit, "c", "2000-01-01", "", f{"name": "Under udeladt", "user_key": "C1", "parent": "x"}))
	add(obj(mo.OrgUnit, "gone", "2000-01-01", "2020-12-31", f{"name": "Nedlagt", "user_key": "G1", "parent": "root"}))
	add(obj(mo.Address, "adr-a", "2000-01-01", "", f{"org_unit": "a", "address_type": "cls-email", "value": "forvaltning@kommune.dk"}))
	add(obj(mo.Address, "adr-a2", "2000-01-01", "", f{"org_unit": "a", "address_type": "cls-phone", "value": "+45 1234"}))
	add(obj(mo.Address, "adr-root", "2000-01-01", "", f{"org_unit": "root", "address_type": "cls-email", "value": "kommune@kommune.dk"}))
	// A second tree: the payroll organisation.
	add(obj(mo.OrgUnit, "loen", "2000-01-01", "", f{"name": "Lønorganisation", "user_key": "L"}))
	add(obj(mo.OrgUnit, "lu1", "2000-01-01", "", f{"name": "Løn 1", "user_key": "L1", "parent": "loen"}))
	add(obj(mo.OrgUnit, "lu2", "2000-01-01", "", f{"name": "Løn 2", "user_key": "L2", "parent": "loen"}))
	add(obj(mo.RelatedUnit, "rel", "2000-01-01", "", f{"org_units": []string{"lu2", "b"}}))
	return v
}

func TestRules(t *testing.T) {
	cases := []struct {
		name    string
		rule    string
		params  map[string]any
		object  *mo.Object
		today   string
		alert   bool
		reset   bool
		content string
		to      []string
		want    []string // in subject + text + html
	}{
		{name: "vacant today", rule: "manager_removal", today: "2026-12-03",
			object: obj(mo.Manager, "m1", "2026-12-01", "", f{"org_unit": "b"}), alert: true, content: "|b|2026-12-01",
			to:   []string{"fixed@kommune.dk"},
			want: []string{"En medarbejder er blevet fjernet fra lederfanen", "en lederrolle er blevet vakant", "Vakant fra: 2026-12-01", "Vacant manager", "Placering: Kommune / Forvaltning / Skole", "Enhedsnummer: B1"}},
		{name: "vacant from tomorrow: not yet", rule: "manager_removal", today: "2026-12-03",
			object: obj(mo.Manager, "m2", "2026-12-04", "", f{"org_unit": "b"})},
		{name: "vacant from tomorrow, on the day", rule: "manager_removal", today: "2026-12-04",
			object: obj(mo.Manager, "m2", "2026-12-04", "", f{"org_unit": "b"}), alert: true, content: "|b|2026-12-04"},
		{name: "terminated", rule: "manager_removal", today: "2026-12-03", params: map[string]any{"use_org_unit_emails": true},
			object: obj(mo.Manager, "m3", "2020-01-01", "2026-12-02", f{"org_unit": "b", "person": "p1"}), alert: true, content: "p1|b|2026-12-02",
			to:   []string{"forvaltning@kommune.dk"},
			want: []string{"Anna Jensen", "Slutdato på engagement: 2026-12-02", "fjernet fra lederfanen"}},
		{name: "manager of the root: the root's own addresses", rule: "manager_removal", today: "2026-12-03", params: map[string]any{"use_org_unit_emails": true},
			object: obj(mo.Manager, "m3r", "2026-01-01", "", f{"org_unit": "root"}), alert: true, content: "|root|2026-01-01",
			to: []string{"kommune@kommune.dk"}},
		{name: "active manager", rule: "manager_removal", today: "2026-12-03",
			object: obj(mo.Manager, "m4", "2020-01-01", "", f{"org_unit": "b", "person": "p1"})},
		{name: "excluded subtree", rule: "manager_removal", today: "2026-12-03", params: map[string]any{"exclude_units": []any{"x"}},
			object: obj(mo.Manager, "m5", "2026-12-01", "", f{"org_unit": "c"})},
		{name: "unit not current", rule: "manager_removal", today: "2026-12-03",
			object: obj(mo.Manager, "m6", "2026-12-01", "", f{"org_unit": "gone"})},
		{name: "terminated in the future: current version open", rule: "manager_removal", today: "2026-12-03",
			object: obj(mo.Manager, "m7", "2020-01-01", "2026-12-20", f{"org_unit": "b", "person": "p1"}), alert: false},
		{name: "ituser created", rule: "ituser", today: "2026-12-03",
			object: obj(mo.ITUser, "it1", "2026-12-01", "", f{"person": "p1", "itsystem": "sys-ad", "user_key": "anna"}), alert: true,
			content: "p1|anna|sys-ad|role-admin,|",
			want:    []string{"En IT-bruger er blevet oprettet i MO", "Brugernavn: anna", "IT-system: Active Directory", "- Administrator", "<li>Administrator</li>"}},
		{name: "ituser terminated", rule: "ituser", today: "2026-12-03",
			object: obj(mo.ITUser, "it2", "2026-01-01", "2026-12-03", f{"person": "p1", "itsystem": "sys-ad", "user_key": "anna2"}), alert: true,
			content: "p1|anna2|sys-ad||2026-12-03", want: []string{"En IT-bruger er blevet nedlagt i MO", "nedlægges"}},
		{name: "ituser nanoq", rule: "ituser", today: "2026-12-03",
			object: obj(mo.ITUser, "it3", "2026-12-01", "", f{"person": "p1", "itsystem": "sys-ad", "user_key": "nanoq-brugernavn"})},
		{name: "ituser without person", rule: "ituser", today: "2026-12-03",
			object: obj(mo.ITUser, "it4", "2026-12-01", "", f{"org_unit": "b", "itsystem": "sys-ad", "user_key": "unit"})},
		{name: "ituser outside the itsystems filter", rule: "ituser", today: "2026-12-03", params: map[string]any{"itsystems": []any{"OPUS"}},
			object: obj(mo.ITUser, "it5", "2026-12-01", "", f{"person": "p1", "itsystem": "sys-ad", "user_key": "anna5"})},
		{name: "ituser inside the itsystems filter (by user_key)", rule: "ituser", today: "2026-12-03", params: map[string]any{"itsystems": []any{"AD"}},
			object: obj(mo.ITUser, "it6", "2026-12-01", "", f{"person": "p1", "itsystem": "sys-ad", "user_key": "anna6"}), alert: true,
			content: "p1|anna6|sys-ad||"},
		{name: "payroll unit without relation", rule: "missing_relation", today: "2026-12-03", params: map[string]any{"root_loen_org": "loen"},
			object: obj(mo.OrgUnit, "lu1", "2000-01-01", "", f{"name": "Løn 1", "user_key": "L1", "parent": "loen"}), alert: true, content: "lu1",
			want: []string{"Manglende relation i Lønorganisation", "enheden: Løn 1 ikke er relateret"}},
		{name: "payroll unit related outside", rule: "missing_relation", today: "2026-12-03", params: map[string]any{"root_loen_org": "loen"},
			object: obj(mo.OrgUnit, "lu2", "2000-01-01", "", f{"name": "Løn 2", "user_key": "L2", "parent": "loen"}), reset: true},
		{name: "unit outside the payroll organisation", rule: "missing_relation", today: "2026-12-03", params: map[string]any{"root_loen_org": "loen"},
			object: obj(mo.OrgUnit, "b", "2000-01-01", "", f{"name": "Skole", "user_key": "B1", "parent": "a"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := testView()
			v.put(tc.object.Type, tc.object.UUID, tc.object)
			// rolebinding of it1
			v.put(mo.RoleBinding, "rb1", obj(mo.RoleBinding, "rb1", "2026-01-01", "", f{"ituser": "it1", "role": "role-admin"}))
			ev := &evaluator{v: v, now: day(tc.today), today: tc.today}
			var rule *compiled
			for _, r := range mergeRules([]Rule{{Name: tc.rule, Enabled: ptrBool(true), Params: tc.params}}) {
				if r.Name == tc.rule {
					c, err := compile(r, ev.funcs())
					if err != nil {
						t.Fatal(err)
					}
					rule = c
				}
			}
			d, err := ev.decide(rule, eventInfo{Type: tc.object.Type, UUID: tc.object.UUID}, tc.object.UUID)
			if err != nil {
				t.Fatal(err)
			}
			if d.alert != tc.alert || d.reset != tc.reset {
				t.Fatalf("alert %v reset %v, want %v %v (vars %v)", d.alert, d.reset, tc.alert, tc.reset, d.data)
			}
			if !tc.alert {
				return
			}
			if d.content != tc.content {
				t.Errorf("key content %q, want %q", d.content, tc.content)
			}
			to, err := ev.receivers(d, []string{"fixed@kommune.dk"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.to != nil && strings.Join(to, ",") != strings.Join(tc.to, ",") {
				t.Errorf("receivers %v, want %v", to, tc.to)
			}
			subj, _ := render(rule.subj, d.data)
			text, _ := render(rule.text, d.data)
			var html strings.Builder
			if rule.html != nil {
				if err := rule.html.Execute(&html, d.data); err != nil {
					t.Fatal(err)
				}
			}
			all := subj + "\n" + text + "\n" + html.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("mail lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "<no value>") {
				t.Errorf("mail shows <no value>:\n%s", all)
			}
		})
	}
}

func ptrBool(b bool) *bool { return &b }

func TestTargets(t *testing.T) {
	v := testView()
	ev := &evaluator{v: v, now: day("2026-12-03"), today: "2026-12-03"}
	rules := map[string]*compiled{}
	for _, r := range mergeRules(nil) {
		c, err := compile(r, ev.funcs())
		if err != nil {
			t.Fatal(err)
		}
		rules[r.Name] = c
	}
	rb := obj(mo.RoleBinding, "rb9", "2026-01-01", "", f{"ituser": "it9", "role": "role-admin"})
	got, err := ev.targets(rules["ituser"], eventInfo{Type: mo.RoleBinding, UUID: "rb9"}, nil, rb)
	if err != nil || strings.Join(got, " ") != "it9" {
		t.Errorf("rolebinding targets %v %v, want its IT user", got, err)
	}
	old := obj(mo.RelatedUnit, "r", "2000-01-01", "", f{"org_units": []string{"lu1", "a"}})
	n := obj(mo.RelatedUnit, "r", "2000-01-01", "", f{"org_units": []string{"lu2", "a"}})
	got, err = ev.targets(rules["missing_relation"], eventInfo{Type: mo.RelatedUnit, UUID: "r"}, old, n)
	if err != nil || strings.Join(got, " ") != "lu1 a lu2" {
		t.Errorf("related_unit targets %v %v, want every unit before and after", got, err)
	}
}

func TestMailBytes(t *testing.T) {
	m := Mail{Key: "manager_removal/m1/abc", MessageID: MessageID("manager_removal/m1/abc", "OS2mo <os2mo@kommune.dk>"),
		From: "os2mo@kommune.dk", Subject: "Manglende relation i Lønorganisation", Text: "æøå\nlinje 2", HTML: "<p>æøå</p>", Date: day("2026-12-03")}
	b, err := m.Bytes([]string{"a@k.dk", "b@k.dk"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, w := range []string{"Message-ID: <", "@kommune.dk>", "To: a@k.dk, b@k.dk", "X-Mocdc-Alert-Key: manager_removal/m1/abc",
		"Subject: =?utf-8?q?Manglende_relation_i_L=C3=B8norganisation?=", "multipart/alternative", "=C3=A6=C3=B8=C3=A5"} {
		if !strings.Contains(s, w) {
			t.Errorf("message lacks %q:\n%s", w, s)
		}
	}
	b2, _ := m.Bytes([]string{"a@k.dk", "b@k.dk"})
	if string(b2) != s {
		t.Error("the same mail renders to different bytes")
	}
}

// A rule for another MO type is configuration and templates only (the
// example of docs/notify.md).
func TestCustomRuleForAnotherType(t *testing.T) {
	custom := Rule{Name: "leave_started", On: []mo.Type{mo.Leave}, Version: "current",
		When: "{{and .V.person (eq .From .Today)}}", Key: "{{.V.person}}|{{.From}}", Receivers: []string{"hr@kommune.dk"},
		Subject: "Orlov begynder: {{(person .V.person).Name}}", Text: "{{(person .V.person).Name}} går på orlov fra {{.From}}."}
	v := newView([]mo.Type{mo.Leave})
	for _, o := range []*mo.Object{
		obj(mo.Person, "p1", "", "", f{"given_name": "Anna", "surname": "Jensen"}),
		obj(mo.Leave, "l1", "2026-12-03", "2027-03-01", f{"person": "p1"}),
		obj(mo.Leave, "l2", "2026-11-01", "", f{"person": "p1"}),
	} {
		v.put(o.Type, o.UUID, o)
	}
	ev := &evaluator{v: v, now: day("2026-12-03"), today: "2026-12-03"}
	var rule *compiled
	for _, r := range mergeRules([]Rule{custom}) {
		if r.Name == custom.Name {
			c, err := compile(r, ev.funcs())
			if err != nil {
				t.Fatal(err)
			}
			rule = c
		}
	}
	d, err := ev.decide(rule, eventInfo{Type: mo.Leave, UUID: "l1"}, "l1")
	if err != nil || !d.alert {
		t.Fatalf("leave starting today: alert %v err %v", d.alert, err)
	}
	subj, _ := render(rule.subj, d.data)
	to, _ := ev.receivers(d, nil)
	if subj != "Orlov begynder: Anna Jensen" || len(to) != 1 || to[0] != "hr@kommune.dk" {
		t.Errorf("subject %q receivers %v", subj, to)
	}
	if d, _ := ev.decide(rule, eventInfo{Type: mo.Leave, UUID: "l2"}, "l2"); d.alert {
		t.Error("a leave that started last month alerted")
	}
	if got := ConsumedTopics(Config{Rules: []Rule{custom}}, event.Topics{Prefix: "mo"}); !has(got, "mo.leave") {
		t.Errorf("the sink does not consume the custom rule's topic: %v", got)
	}
}
