package ad

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Data is what a mapping template sees as "." — the view of one AD
// account: its person, the IT user that links it, the engagements that
// decide its title, department and manager, and addresses. docs/ad.md
// documents every field; SampleData is the example `mocdc config check`
// renders every template against.
type Data struct {
	Person PersonData
	// ITUser is the AD IT user that links the account; nil for an account
	// found by CPR or created for a person without one.
	ITUser *ITUserData
	// Engagements are the IT user's linked engagements (the person's, when
	// it links none or there is no IT user) valid today — or, when none is,
	// those starting later — that pass ad.scope, primary first, then by
	// start date.
	Engagements []EngagementData
	// Engagement is Engagements[0], or nil.
	Engagement *EngagementData
	// Addresses linked to the IT user, then to its engagements, then the
	// person's other addresses, valid today.
	Addresses []AddressData
	// Email and Phone are the first address of scope EMAIL and PHONE in
	// Addresses ("" when none).
	Email string
	Phone string
	// Organisation is the name of MO's root organisation.
	Organisation string
	// Today is the sink's date (YYYY-MM-DD, Europe/Copenhagen).
	Today string
	// N counts sAMAccountName candidates (1, 2, …); 0 outside create.
	N int
}

// PersonData is a person as the templates see it.
type PersonData struct {
	UUID, UserKey      string
	GivenName, Surname string
	Name               string // given name and surname
	NicknameGivenName  string
	NicknameSurname    string
	Nickname           string // nickname given name and surname, "" when none
	CPR                string
}

// ITUserData is the linking IT user.
type ITUserData struct {
	UUID, UserKey, ExternalID string
}

// EngagementData is one engagement with its unit and manager.
type EngagementData struct {
	UUID, UserKey string
	// Title is the export title (the policy's export_title, capture/policy:
	// never a withheld job function); without the policy, the job
	// function's name. Blank when withheld.
	Title string
	// JobFunction is the job function class's name ("" when withheld).
	JobFunction    string
	EngagementType string
	Primary        bool
	// Start and End are the first and last day ("" when open).
	Start, End string
	Unit       UnitData
	// Manager is the nearest manager of the unit or, when it has none (or
	// only the person itself), of an ancestor; nil when there is none.
	Manager *ManagerData
	// Extension holds extension_1 … extension_10 that are set.
	Extension map[string]string
}

// UnitData is a unit with its path.
type UnitData struct {
	UUID, UserKey, Name string
	UnitType, Level     string
	// Path lists the names from the top unit down to this one.
	Path []string
	// PathString is Path joined with " / ".
	PathString string
}

// ManagerData is a manager and the DN of the manager's AD account.
type ManagerData struct {
	Person PersonData
	// DN of the manager's account ("" when the manager has none).
	DN string
}

// AddressData is one address.
type AddressData struct {
	UUID string
	// Type is the address type class's user_key; Scope its scope (EMAIL,
	// PHONE, DAR, …).
	Type, Scope, Value, Visibility string
	// Via says what links it: "ituser", "engagement" or "person".
	Via string
}

// DefaultMapping is the mapping used where the configuration says nothing
// (docs/ad.md). employeeID (CPR) is off unless configured.
var DefaultMapping = map[string]string{
	"cn":              `{{ .Person.Name }}`,
	"givenName":       `{{ .Person.GivenName }}`,
	"sn":              `{{ .Person.Surname }}`,
	"displayName":     `{{ .Person.Name }}`,
	"mail":            `{{ .Email }}`,
	"telephoneNumber": `{{ .Phone }}`,
	"title":           `{{ with .Engagement }}{{ .Title }}{{ end }}`,
	"department":      `{{ with .Engagement }}{{ .Unit.Name }}{{ end }}`,
	"company":         `{{ .Organisation }}`,
	"manager":         `{{ with .Engagement }}{{ with .Manager }}{{ .DN }}{{ end }}{{ end }}`,
}

// Mapping is a compiled mapping: AD attribute → template.
type Mapping struct {
	attrs    []string // sorted, "cn" included when mapped
	tmpl     map[string]*template.Template
	usesPath bool
}

var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"trim":  strings.TrimSpace,
	"ascii": asciiFold,
	"join":  func(sep string, xs []string) string { return strings.Join(xs, sep) },
	"trunc": func(n int, s string) string {
		r := []rune(s)
		if len(r) > n {
			return string(r[:n])
		}
		return s
	},
	"default": func(d, s string) string {
		if strings.TrimSpace(s) == "" {
			return d
		}
		return s
	},
}

// CompileMapping merges user over DefaultMapping and parses every
// template. A template renders one value per line; blank lines are
// dropped, so a template that renders nothing clears the attribute.
// cprAttr is never mapped implicitly.
func CompileMapping(user map[string]string, cprAttr string) (*Mapping, error) {
	merged := map[string]string{}
	for k, v := range DefaultMapping {
		merged[k] = v
	}
	for k, v := range user {
		for d := range merged {
			if strings.EqualFold(d, k) && d != k {
				delete(merged, d)
			}
		}
		merged[k] = v
	}
	m := &Mapping{tmpl: map[string]*template.Template{}}
	var errs []string
	for attr, src := range merged {
		if strings.TrimSpace(src) == "" {
			continue
		}
		switch strings.ToLower(attr) {
		case "objectguid", "samaccountname", "useraccountcontrol", "unicodepwd", "distinguishedname", "objectclass", "name":
			errs = append(errs, fmt.Sprintf("%s cannot be mapped (the sink manages it, or AD does)", attr))
			continue
		}
		t, err := template.New(attr).Funcs(funcs).Option("missingkey=error").Parse(src)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", attr, err))
			continue
		}
		m.tmpl[attr] = t
		m.attrs = append(m.attrs, attr)
		m.usesPath = m.usesPath || strings.Contains(src, "Path")
	}
	sort.Strings(m.attrs)
	sort.Strings(errs)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	// Execute every template against the sample now, so a typo in a field
	// name fails the config check, not an account at 3 a.m.
	if _, err := m.Render(SampleData()); err != nil {
		return nil, fmt.Errorf("against the sample view: %w", err)
	}
	return m, nil
}

// UsesPath reports whether a template shows a unit path, so that a
// unit's rename changes the accounts of its whole subtree.
func (m *Mapping) UsesPath() bool { return m.usesPath }

// Attributes returns the mapped attributes, sorted.
func (m *Mapping) Attributes() []string { return m.attrs }

// Render executes every template against d: attribute → values (none
// means the attribute must be absent).
func (m *Mapping) Render(d *Data) (map[string][]string, error) {
	out := make(map[string][]string, len(m.attrs))
	var buf bytes.Buffer
	for _, a := range m.attrs {
		buf.Reset()
		if err := m.tmpl[a].Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("mapping %s: %w", a, err)
		}
		out[a] = values(buf.String())
	}
	return out, nil
}

// values splits a rendered template into values: one per line, trimmed,
// blanks dropped.
func values(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if v := strings.TrimSpace(line); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// asciiFold writes Danish letters the way Danish usernames do (æ→ae,
// ø→oe, å→aa) and drops other diacritics and non-letters.
func asciiFold(s string) string {
	r := strings.NewReplacer("æ", "ae", "Æ", "Ae", "ø", "oe", "Ø", "Oe", "å", "aa", "Å", "Aa")
	s = norm.NFD.String(r.Replace(s))
	var b strings.Builder
	for _, c := range s {
		if c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// compileSAM parses the sAMAccountName rules.
func compileSAM(rules []string) ([]*template.Template, error) {
	var out []*template.Template
	for i, r := range rules {
		t, err := template.New(fmt.Sprintf("sam%d", i)).Funcs(funcs).Option("missingkey=error").Parse(r)
		if err != nil {
			return nil, err
		}
		d := SampleData()
		d.N = 1
		if err := t.Execute(&bytes.Buffer{}, d); err != nil {
			return nil, fmt.Errorf("against the sample view: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// SampleData is a filled-in account view: the example in docs/ad.md and
// what `mocdc config check` renders each template against.
func SampleData() *Data {
	mgr := &ManagerData{
		Person: PersonData{UUID: "8d1e4c55-8f0b-4bb5-9d66-1f1f0b3a2c11", UserKey: "bo", GivenName: "Bo", Surname: "Holm", Name: "Bo Holm"},
		DN:     "CN=Bo Holm,OU=Skoler,OU=Kommune,DC=kommune,DC=dk",
	}
	e := EngagementData{
		UUID: "2f6f3c1e-3a55-4c7b-a0a8-4b8c5f1d9e21", UserKey: "12345", Title: "Pædagog", JobFunction: "Pædagog",
		EngagementType: "Ansat", Primary: true, Start: "2024-08-01",
		Unit: UnitData{UUID: "5b3a3b1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", UserKey: "SKOLE1", Name: "Skovby Skole",
			UnitType: "Afdeling", Level: "NY2-niveau",
			Path: []string{"Kommune", "Børn og Unge", "Skovby Skole"}, PathString: "Kommune / Børn og Unge / Skovby Skole"},
		Manager: mgr, Extension: map[string]string{"extension_2": "Pædagog"},
	}
	return &Data{
		Person: PersonData{UUID: "c3f0e1a2-7b6d-4e5f-9a8b-1c2d3e4f5a6b", UserKey: "anna", GivenName: "Anna Marie", Surname: "Østergård",
			Name: "Anna Marie Østergård", CPR: "0101901234"},
		ITUser:      &ITUserData{UUID: "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a", UserKey: "anos", ExternalID: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
		Engagements: []EngagementData{e},
		Engagement:  &e,
		Addresses: []AddressData{
			{UUID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", Type: "EmailEmployee", Scope: "EMAIL", Value: "anos@kommune.dk", Via: "ituser"},
			{UUID: "2a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", Type: "PhoneEmployee", Scope: "PHONE", Value: "+45 12345678", Via: "engagement"},
		},
		Email: "anos@kommune.dk", Phone: "+45 12345678",
		Organisation: "Skovby Kommune", Today: time.Now().In(copenhagen).Format(time.DateOnly),
	}
}
