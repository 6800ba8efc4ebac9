package ad

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// TestMappingErrors: template mistakes are found when the mapping is
// compiled (by `mocdc config check`), against the sample view.
func TestMappingErrors(t *testing.T) {
	for _, tc := range []struct {
		mapping map[string]string
		want    string
	}{
		{map[string]string{"title": "{{ .Engagement.Titel }}"}, "can't evaluate field Titel"},
		{map[string]string{"title": "{{ .Engagement.Title "}, "title: template"},
		{map[string]string{"sAMAccountName": "{{ .Person.Name }}"}, "sAMAccountName cannot be mapped"},
		{map[string]string{"employeeID": "{{ .Person.Cpr }}"}, "can't evaluate field Cpr"},
	} {
		_, err := CompileMapping(tc.mapping, "employeeID")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error with %q", tc.mapping, err, tc.want)
		}
	}
	m, err := CompileMapping(map[string]string{"employeeID": "{{ .Person.CPR }}", "company": "", "otherTelephone": "{{ range .Addresses }}{{ if eq .Scope \"PHONE\" }}{{ .Value }}\n{{ end }}{{ end }}"}, "employeeID")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Render(SampleData())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["company"]; ok {
		t.Error("an empty template must remove the default attribute")
	}
	if got["employeeID"][0] != "0101901234" || got["title"][0] != "Pædagog" || got["manager"][0] != SampleData().Engagement.Manager.DN {
		t.Errorf("render: %v", got)
	}
	if len(got["otherTelephone"]) != 1 {
		t.Errorf("a template renders one value per line: %v", got["otherTelephone"])
	}
}

// TestDiff: values compare case-insensitively and as sets; DNs as DNs; a
// new cn is a rename; an unchanged account is an empty plan.
func TestDiff(t *testing.T) {
	a := &account{DN: "CN=Anna Berg,OU=X,DC=k,DC=dk", UAC: 512, Attrs: map[string][]string{
		"title": {"PÆDAGOG"}, "othertelephone": {"2", "1"}, "manager": {"CN=Bo Holm,OU=X,DC=k,DC=dk"}, "mail": {"a@k.dk"},
	}}
	yes := true
	p, err := diffAccount(a, map[string][]string{"cn": {"anna berg"}, "title": {"pædagog"}, "otherTelephone": {"1", "2"},
		"manager": {"cn=Bo Holm, ou=X, dc=k, dc=dk"}, "mail": {"a@k.dk"}}, "", &yes)
	if err != nil || !p.empty() {
		t.Fatalf("nothing differs, plan %v (err %v)", p, err)
	}
	no := false
	p, _ = diffAccount(a, map[string][]string{"cn": {"Anna  Holm"}, "title": nil, "mail": {"b@k.dk"}}, "OU=Y,DC=k,DC=dk", &no)
	if p.NewRDN != "CN=Anna Holm" || p.NewSuperior != "OU=Y,DC=k,DC=dk" {
		t.Errorf("rename/move: %+v", p)
	}
	if s := p.String(); !strings.Contains(s, `delete title`) || !strings.Contains(s, `replace mail=["b@k.dk"]`) || !strings.Contains(s, `replace userAccountControl=["514"]`) {
		t.Errorf("plan: %s", s)
	}
	if !suffixed("Anna Berg 2", "Anna Berg") || suffixed("Anna Bergmann", "Anna Berg") {
		t.Error("suffixed")
	}
	mr := modifyRequest("CN=x", p.Changes)
	if len(mr.Changes) != 3 || mr.Changes[0].Operation != ldap.DeleteAttribute && mr.Changes[0].Operation != ldap.ReplaceAttribute {
		t.Errorf("one modify with every change: %+v", mr.Changes)
	}
}

func TestGUID(t *testing.T) {
	raw := []byte{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	s := guidString(raw)
	if s != "12345678-1234-5678-1234-56789abcdef0" {
		t.Fatalf("guid %s", s)
	}
	f, err := guidFilter(s)
	if err != nil || f != `(objectGUID=\78\56\34\12\34\12\78\56\12\34\56\78\9a\bc\de\f0)` {
		t.Errorf("filter %s %v", f, err)
	}
	if _, err := guidFilter("anbe"); err == nil {
		t.Error("a username is not a GUID")
	}
}

func TestWindowAndFold(t *testing.T) {
	w := &Window{Start: "23:30", End: "01:00"}
	for _, tc := range []struct {
		h, m int
		want bool
	}{{23, 45, true}, {0, 15, true}, {1, 0, false}, {12, 0, false}, {23, 29, false}} {
		at := time.Date(2026, 6, 15, tc.h, tc.m, 0, 0, mo.Location)
		if w.Contains(at.UTC()) != tc.want {
			t.Errorf("%02d:%02d in 23:30-01:00: %v", tc.h, tc.m, !tc.want)
		}
	}
	if asciiFold("Søren Ærø-Åberg") != "SoerenAeroeAaberg" {
		t.Errorf("fold: %s", asciiFold("Søren Ærø-Åberg"))
	}
	c := Config{Maintenance: &Window{Start: "2:00", End: "x"}}
	c.Defaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"x" is not HH:MM`) {
		t.Errorf("window error: %v", err)
	}
}

// TestConfigErrors: each wrong value is named with its key.
func TestConfigErrors(t *testing.T) {
	c := Config{URL: "ldap://dc:389", BaseDN: "not a dn", WriteOUs: []string{"OU=W,DC=k,DC=dk"}, GUIDField: "uuid",
		Create: &Create{OU: "OU=Elsewhere,DC=k,DC=dk"}}
	c.Defaults()
	err := c.Validate()
	for _, want := range []string{"ad.url", "start_tls", "ad.bind_dn is empty", "ad.bind_password is empty", `ad.base_dn "not a dn"`, "ad.guid_field", "create.ou", "outside write_ous"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
