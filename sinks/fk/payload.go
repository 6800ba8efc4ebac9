package fk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// OrgUnit is the body of POST /api/orgUnit: the fields of OS2sync's
// OrgUnitRegistration that os2mo-os2sync-export sends (os2sync_models.py
// OrgUnit), every one present, null when MO has no value. Uuid sets are
// sorted, so equal units encode equally.
type OrgUnit struct {
	Uuid              string   `json:"Uuid"`
	ShortKey          *string  `json:"ShortKey"`
	Name              string   `json:"Name"`
	ParentOrgUnitUuid *string  `json:"ParentOrgUnitUuid"`
	PayoutUnitUuid    *string  `json:"PayoutUnitUuid"`
	ManagerUuid       *string  `json:"ManagerUuid"`
	PhoneNumber       *string  `json:"PhoneNumber"`
	Email             *string  `json:"Email"`
	Location          *string  `json:"Location"`
	LOSShortName      *string  `json:"LOSShortName"`
	LOSId             *string  `json:"LOSId"`
	DtrId             *string  `json:"DtrId"`
	ContactOpenHours  *string  `json:"ContactOpenHours"`
	EmailRemarks      *string  `json:"EmailRemarks"`
	Contact           *string  `json:"Contact"`
	PostReturn        *string  `json:"PostReturn"`
	PhoneOpenHours    *string  `json:"PhoneOpenHours"`
	Ean               *string  `json:"Ean"`
	Url               *string  `json:"Url"`
	Landline          *string  `json:"Landline"`
	Post              *string  `json:"Post"`
	PostSecondary     *string  `json:"PostSecondary"`
	FOA               *string  `json:"FOA"`
	PNR               *string  `json:"PNR"`
	SOR               *string  `json:"SOR"`
	Tasks             []string `json:"Tasks"`
	ItSystems         []string `json:"ItSystems"`
	ContactForTasks   []string `json:"ContactForTasks"`
	ContactPlaces     []string `json:"ContactPlaces"`
}

// fkOrgUnit is an org unit as GET /api/orgUnit/{uuid} returns it: the
// same fields plus the server's Type and Timestamp, which the sink reads
// and never sends back.
type fkOrgUnit struct {
	OrgUnit
	Type      string `json:"Type"`
	Timestamp string `json:"Timestamp"`
}

// User is the body of POST /api/user (OS2sync's UserRegistration): one
// per account IT user of a person.
type User struct {
	Uuid        string     `json:"Uuid"`
	ShortKey    *string    `json:"ShortKey"`
	UserId      string     `json:"UserId"`
	Person      Person     `json:"Person"`
	Positions   []Position `json:"Positions"`
	PhoneNumber *string    `json:"PhoneNumber"`
	Landline    *string    `json:"Landline"`
	Email       *string    `json:"Email"`
	RacfID      *string    `json:"RacfID"`
	Location    *string    `json:"Location"`
	FMKID       *string    `json:"FMKID"`
}

// Person is the person behind a user; Cpr is null unless sync_cpr.
type Person struct {
	Name string  `json:"Name"`
	Cpr  *string `json:"Cpr"`
}

// Position is a user's job in a unit; dates are yyyy-MM-dd or null.
type Position struct {
	Name        string  `json:"Name"`
	OrgUnitUuid string  `json:"OrgUnitUuid"`
	StartDate   *string `json:"StartDate"`
	StopDate    *string `json:"StopDate"`
}

func (u *OrgUnit) normalise() {
	for _, l := range []*[]string{&u.Tasks, &u.ItSystems, &u.ContactForTasks, &u.ContactPlaces} {
		if *l == nil {
			*l = []string{}
		}
		sort.Strings(*l)
	}
}

func (u *User) normalise() {
	sort.Slice(u.Positions, func(i, j int) bool {
		a, b := u.Positions[i], u.Positions[j]
		if a.OrgUnitUuid != b.OrgUnitUuid {
			return a.OrgUnitUuid < b.OrgUnitUuid
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return deref(a.StartDate) < deref(b.StartDate)
	})
	// Identical positions (two engagements in one unit with one title and
	// start) would be a duplicate position in FK: send one.
	out := u.Positions[:0]
	for i, p := range u.Positions {
		if i > 0 && p.Name == out[len(out)-1].Name && p.OrgUnitUuid == out[len(out)-1].OrgUnitUuid && deref(p.StartDate) == deref(out[len(out)-1].StartDate) {
			continue
		}
		out = append(out, p)
	}
	u.Positions = out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// digest is the fingerprint of a payload recorded per FK object: the first
// 16 bytes of SHA-256 of its JSON, hex.
func digest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of strings are marshalled
	}
	return b
}
