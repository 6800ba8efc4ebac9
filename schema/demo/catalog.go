package demo

import (
	"time"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Catalog is what churn (and tests) need to know about a demo store: the
// uuids of its objects and a few of their fields, as of one moment. Seed
// returns the catalog of what it wrote; LoadCatalog reads one from any MO
// store. Deleted objects are left out; ended ones are kept with their To.
type Catalog struct {
	// Organisation is the root organisation uuid.
	Organisation string
	Actors       []Actor
	// Facets maps a facet user_key to its uuid; Classes a facet user_key to
	// its classes.
	Facets    map[string]string
	Classes   map[string][]Class
	ITSystems map[string]string // IT system user_key → uuid

	Persons      []Person
	Units        []Unit
	Engagements  []Engagement
	ITUsers      []ITUser
	Managers     []Manager
	Addresses    []Address
	Associations []Span
	Leaves       []Span
	KLEs         []Span
	RelatedUnits []Span
	RoleBindings []Span
	Owners       []Span

	// Registrations is the number of registrations in the store when the
	// catalog was loaded (0 from Seed); churn mixes it into the uuids it
	// makes, so a second run on the same store makes new ones.
	Registrations int64
}

// Span is an object's uuid and the days it is valid: From the first, To the
// last (inclusive); nil is open.
type Span struct {
	UUID string
	From *mo.Date
	To   *mo.Date
}

// LiveOn reports whether the object is valid on day d or later.
func (s Span) LiveOn(d mo.Date) bool { return s.To == nil || *s.To >= d }

// Class is a class of a facet.
type Class struct {
	UUID    string
	UserKey string
	Name    string
	Scope   string
}

// Person is an MO person.
type Person struct {
	Span
	GivenName string
	Surname   string
}

// Unit is an MO organisation unit; Parent is "" for a top unit.
type Unit struct {
	Span
	UserKey string
	Name    string
	Parent  string
	Level   int // depth below the top unit (0 for it); -1 when loaded and unknown
}

// Engagement is an MO engagement.
type Engagement struct {
	Span
	Person      string
	Unit        string
	JobFunction string
}

// ITUser is an MO IT user (an account in an IT system).
type ITUser struct {
	Span
	UserKey     string
	ITSystem    string
	Person      string
	Engagements []string
}

// Manager is an MO manager post; Person is "" when the post is vacant.
type Manager struct {
	Span
	Unit   string
	Person string
}

// Address is an MO address; Scope is its address type's scope (EMAIL,
// PHONE, DAR, ...). Exactly one of Person and Unit is set.
type Address struct {
	Span
	Scope       string
	AddressType string
	Person      string
	Unit        string
	Engagement  string
	ITUser      string
}

// ClassByUserKey returns the class with that user_key in facet, or false.
func (c *Catalog) ClassByUserKey(facet, userKey string) (Class, bool) {
	for _, k := range c.Classes[facet] {
		if k.UserKey == userKey {
			return k, true
		}
	}
	return Class{}, false
}

// Scope returns the scope of class uuid (any facet), for addresses.
func (c *Catalog) Scope(uuid string) (string, bool) {
	for _, ks := range c.Classes {
		for _, k := range ks {
			if k.UUID == uuid {
				return k.Scope, true
			}
		}
	}
	return "", false
}

// today returns local midnight of t's day, or of now for a zero t.
func today(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return day(t)
}
