package mo

// Type is an MO object type as OS2mo's GraphQL API and mocdc's topics name it.
type Type string

// The MO types. The first ten live in LoRa's organisationfunktion table and
// are told apart by funktionsnavn; the rest have a LoRa class of their own.
const (
	Engagement   Type = "engagement"
	Association  Type = "association"
	ITUser       Type = "ituser"
	Address      Type = "address"
	Manager      Type = "manager"
	Leave        Type = "leave"
	KLE          Type = "kle"
	RelatedUnit  Type = "related_unit"
	RoleBinding  Type = "rolebinding"
	Owner        Type = "owner"
	Person       Type = "person"
	OrgUnit      Type = "org_unit"
	Class        Type = "class"
	Facet        Type = "facet"
	ITSystem     Type = "itsystem"
	Organisation Type = "organisation"
)

// Types lists every MO type, in the order topics and docs show them.
var Types = []Type{
	Person, OrgUnit, Engagement, Association, ITUser, Address, Manager, Leave,
	KLE, RelatedUnit, RoleBinding, Owner, Class, Facet, ITSystem, Organisation,
}

// Valid reports whether t is a known MO type.
func (t Type) Valid() bool { return SpecOf(t) != nil }
