package fkdouble

import "time"

// OrgUnit is OS2sync's OrgUnitRegistration as its API reads and returns it
// (ServiceLayer binds the JSON body to this shape; field names are the C#
// member names). Type and Timestamp are set by the server: a client may
// send them, and GET always returns them.
type OrgUnit struct {
	Uuid              string    `json:"Uuid"`
	ShortKey          *string   `json:"ShortKey"`
	Name              *string   `json:"Name"`
	ParentOrgUnitUuid *string   `json:"ParentOrgUnitUuid"`
	PayoutUnitUuid    *string   `json:"PayoutUnitUuid"`
	ManagerUuid       *string   `json:"ManagerUuid"`
	PhoneNumber       *string   `json:"PhoneNumber"`
	Email             *string   `json:"Email"`
	Location          *string   `json:"Location"`
	LOSShortName      *string   `json:"LOSShortName"`
	LOSId             *string   `json:"LOSId"`
	DtrId             *string   `json:"DtrId"`
	ContactOpenHours  *string   `json:"ContactOpenHours"`
	EmailRemarks      *string   `json:"EmailRemarks"`
	Contact           *string   `json:"Contact"`
	PostReturn        *string   `json:"PostReturn"`
	PhoneOpenHours    *string   `json:"PhoneOpenHours"`
	Ean               *string   `json:"Ean"`
	Url               *string   `json:"Url"`
	Landline          *string   `json:"Landline"`
	Post              *string   `json:"Post"`
	PostSecondary     *string   `json:"PostSecondary"`
	FOA               *string   `json:"FOA"`
	PNR               *string   `json:"PNR"`
	SOR               *string   `json:"SOR"`
	Type              string    `json:"Type"`
	Timestamp         time.Time `json:"Timestamp"`
	Tasks             []string  `json:"Tasks"`
	ItSystems         []string  `json:"ItSystems"`
	ContactForTasks   []string  `json:"ContactForTasks"`
	ContactPlaces     []string  `json:"ContactPlaces"`
}

// User is OS2sync's UserRegistration.
type User struct {
	Uuid        string     `json:"Uuid"`
	ShortKey    *string    `json:"ShortKey"`
	UserId      *string    `json:"UserId"`
	PhoneNumber *string    `json:"PhoneNumber"`
	Landline    *string    `json:"Landline"`
	Email       *string    `json:"Email"`
	RacfID      *string    `json:"RacfID"`
	Location    *string    `json:"Location"`
	FMKID       *string    `json:"FMKID"`
	Person      *Person    `json:"Person"`
	Positions   []Position `json:"Positions"`
	Timestamp   time.Time  `json:"Timestamp"`
}

// Person is the person behind a user.
type Person struct {
	Name *string `json:"Name"`
	Cpr  *string `json:"Cpr"`
}

// Position is a user's job in a unit. Dates are yyyy-MM-dd or null.
type Position struct {
	Name        *string `json:"Name"`
	OrgUnitUuid *string `json:"OrgUnitUuid"`
	StartDate   *string `json:"StartDate"`
	StopDate    *string `json:"StopDate"`
}

// State is what FK Organisation holds for one municipality (CVR) after
// the queue has applied every accepted write.
type State struct {
	OrgUnits map[string]OrgUnit `json:"OrgUnits"`
	Users    map[string]User    `json:"Users"`
}

// Failure is a queued write the scheduler could not apply (OS2sync's
// failure table): accepted with 200 by the API, then rejected.
type Failure struct {
	CVR       string `json:"Cvr"`
	Kind      string `json:"Kind"` // "orgUnit" or "user"
	Operation string `json:"Operation"`
	Uuid      string `json:"Uuid"`
	Error     string `json:"Error"`
}

// Stats counts what the double saw.
type Stats struct {
	// Requests per "METHOD route", e.g. "POST /api/user" or
	// "GET /api/orgUnit/{uuid}", every answer counted (2xx and errors).
	Requests map[string]int `json:"Requests"`
	// Rejected counts writes (POST, DELETE) answered 4xx or 5xx; a GET's
	// 404 is the normal answer for an absent object.
	Rejected int `json:"Rejected"`
	// Queued counts writes accepted into the queue; Applied those the
	// scheduler applied; SkippedByCache the updates identical to the last
	// success of the object (not queued).
	Queued         int `json:"Queued"`
	Applied        int `json:"Applied"`
	SkippedByCache int `json:"SkippedByCache"`
	Failed         int `json:"Failed"`
}

// Total returns the number of requests of every route.
func (s Stats) Total() int {
	n := 0
	for _, c := range s.Requests {
		n += c
	}
	return n
}
