package mo

import "strconv"

// Kind is the kind of value an MO field holds.
type Kind int

// Field value kinds. In an Object a field's value is a string (Text, UUID),
// []string (UUIDs, sorted), bool (Bool), int64 (Int), or nil when unset.
const (
	Text Kind = iota
	UUID
	UUIDs
	Bool
	Int
)

// Source says where in LoRa a field is stored.
type Source int

// Field sources.
const (
	// Egenskab is a column of C_attr_egenskaber.
	Egenskab Source = iota
	// Udvidelse is a column of C_attr_udvidelser.
	Udvidelse
	// Relation is rel_maal_uuid of the relation rows of kind Rel (and, when
	// set, objekt_type ObjektType).
	Relation
	// URN is rel_maal_urn of the relation rows of kind Rel, without Prefix.
	URN
	// AddressValue is the address value: rel_maal_urn of the adresser row,
	// without the prefix that its scope (objekt_type) selects.
	AddressValue
	// State is the value of the tils row (Aktiv, Publiceret, ...).
	State
)

// Field describes one MO field and where it is stored.
type Field struct {
	// Name is OS2mo's GraphQL field name.
	Name   string
	Kind   Kind
	Source Source
	// Column is the attr column for Egenskab and Udvidelse.
	Column string
	// Rel is the relation kind for Relation, URN and AddressValue.
	Rel string
	// ObjektType, when set, selects only relation rows with that objekt_type
	// (OS2mo's filter in mora/mapping.py), and the writer writes it.
	ObjektType string
	// Tag is the objekt_type the writer puts on the rows of a field that is
	// read without a filter (a class's facet: "Facet"); OS2mo writes it.
	Tag string
	// RequiresRel, when set, reads the field only at instants where the
	// object has a relation row of that kind (an association's
	// tilknyttedefunktioner is its job function only when an IT user is
	// bound in tilknyttedeitsystemer; otherwise it is a substitute).
	RequiresRel string
	// Legacy, when set, is where stores written before OS2mo's layout
	// (mocdc's own earlier writer) keep the field; it is read only when
	// the field itself yields nothing. OS2mo-written data never has it.
	Legacy *Field
	// Facet, when set, selects relation rows whose objekt_type is empty by
	// the user_key of the facet their target class belongs to (OS2mo keeps
	// a manager's level and responsibilities both in opgaver and tells them
	// apart by objekt_type; stores written without it need the facet).
	Facet string
	// Prefix is stripped from rel_maal_urn for URN fields.
	Prefix string
	// OrganisationIsNull makes a relation to the root organisation read as
	// nil (a top unit's parent is the organisation in LoRa, null in MO).
	OrganisationIsNull bool
}

// Spec describes how one MO type is stored in LoRa.
type Spec struct {
	Type Type
	// Class is the LoRa class name (lora.Class.Name).
	Class string
	// Funktionsnavn tells organisationfunktion objects apart; empty for
	// the types with a class of their own.
	Funktionsnavn string
	// OrgRelation is the relation kind that points every object of the
	// type at the root organisation ("" for none). The writer fills it;
	// it is not an MO field.
	OrgRelation string
	// OrgObjektType is the objekt_type of the OrgRelation row
	// ("Organisation" for classes and facets, as OS2mo writes it).
	OrgObjektType string
	// Fields are the MO fields, user_key first.
	Fields []Field
}

// Field returns the field called name, or nil.
func (s *Spec) Field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// AddressPrefixes maps an address scope (adresser.objekt_type) to the URN
// prefix OS2mo stores the value under.
var AddressPrefixes = map[string]string{
	"EMAIL":           "urn:mailto:",
	"PHONE":           "urn:magenta.dk:telefon:",
	"EAN":             "urn:magenta.dk:ean:",
	"PNUMBER":         "urn:dk:cvr:produktionsenhed:",
	"DAR":             "urn:dar:",
	"WWW":             "urn:magenta.dk:www:",
	"TEXT":            "urn:text:",
	"MULTIFIELD_TEXT": "urn:multifield_text:",
}

// CPRPrefix is the URN prefix of a person's CPR number.
const CPRPrefix = "urn:dk:cpr:person:"

func userKey() Field {
	return Field{Name: "user_key", Kind: Text, Source: Egenskab, Column: "brugervendtnoegle"}
}
func rel(name, kind string) Field {
	return Field{Name: name, Kind: UUID, Source: Relation, Rel: kind}
}
func rels(name, kind string) Field {
	return Field{Name: name, Kind: UUIDs, Source: Relation, Rel: kind}
}
func funktion(name, objektType string) Field {
	return Field{Name: name, Kind: UUID, Source: Relation, Rel: "tilknyttedefunktioner", ObjektType: objektType}
}
func udv(name, column string) Field {
	return Field{Name: name, Kind: Text, Source: Udvidelse, Column: column}
}

var (
	person  = rel("person", "tilknyttedebrugere")
	orgUnit = rel("org_unit", "tilknyttedeenheder")
	primary = rel("primary", "primær")
	fnType  = func(name string) Field { return rel(name, "organisatoriskfunktionstype") }
	jobFunc = rel("job_function", "opgaver")
	// legacyITLink is where mocdc's earlier writer kept an association's
	// IT user.
	legacyITLink = funktion("it_user", "it")
	specList     = []*Spec{
		{Type: Person, Class: "bruger", OrgRelation: "tilhoerer", Fields: []Field{
			userKey(),
			udv("given_name", "fornavn"), udv("surname", "efternavn"),
			udv("nickname_given_name", "kaldenavn_fornavn"), udv("nickname_surname", "kaldenavn_efternavn"),
			udv("seniority", "seniority"),
			{Name: "cpr_number", Kind: Text, Source: URN, Rel: "tilknyttedepersoner", Prefix: CPRPrefix},
		}},
		{Type: OrgUnit, Class: "organisationenhed", OrgRelation: "tilhoerer", Fields: []Field{
			userKey(),
			{Name: "name", Kind: Text, Source: Egenskab, Column: "enhedsnavn"},
			{Name: "parent", Kind: UUID, Source: Relation, Rel: "overordnet", OrganisationIsNull: true},
			rel("unit_type", "enhedstype"), rel("org_unit_level", "niveau"),
			rel("org_unit_hierarchy", "opmærkning"),
			{Name: "time_planning", Kind: UUID, Source: Relation, Rel: "opgaver", ObjektType: "tidsregistrering", Facet: "time_planning"},
		}},
		{Type: Engagement, Class: "organisationfunktion", Funktionsnavn: "Engagement", OrgRelation: "tilknyttedeorganisationer", Fields: append([]Field{
			userKey(), person, orgUnit, fnType("engagement_type"), jobFunc, primary,
			{Name: "fraction", Kind: Int, Source: Udvidelse, Column: "fraktion"},
		}, extensions()...)},
		{Type: Association, Class: "organisationfunktion", Funktionsnavn: "Tilknytning", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), person, orgUnit, fnType("association_type"),
			// OS2mo: the job function in tilknyttedefunktioner, read as such
			// only when an IT user is bound (else it is a substitute).
			{Name: "job_function", Kind: UUID, Source: Relation, Rel: "tilknyttedefunktioner", RequiresRel: "tilknyttedeitsystemer", Legacy: &jobFunc},
			primary,
			rels("dynamic_classes", "tilknyttedeklasser"),
			{Name: "it_user", Kind: UUID, Source: Relation, Rel: "tilknyttedeitsystemer", Legacy: &legacyITLink},
		}},
		{Type: ITUser, Class: "organisationfunktion", Funktionsnavn: "IT-system", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), udv("external_id", "udvidelse_1"), udv("binding_type", "udvidelse_2"),
			rel("itsystem", "tilknyttedeitsystemer"), person, orgUnit, primary,
			{Name: "engagements", Kind: UUIDs, Source: Relation, Rel: "tilknyttedefunktioner", ObjektType: "engagement"},
		}},
		{Type: Address, Class: "organisationfunktion", Funktionsnavn: "Adresse", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(),
			{Name: "value", Kind: Text, Source: AddressValue, Rel: "adresser"},
			fnType("address_type"),
			{Name: "visibility", Kind: UUID, Source: Relation, Rel: "opgaver", ObjektType: "synlighed", Facet: "visibility"},
			person, orgUnit,
			funktion("engagement", "engagement"), funktion("ituser", "it"),
		}},
		{Type: Manager, Class: "organisationfunktion", Funktionsnavn: "Leder", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), person, orgUnit, fnType("manager_type"),
			{Name: "manager_level", Kind: UUID, Source: Relation, Rel: "opgaver", ObjektType: "lederniveau", Facet: "manager_level"},
			{Name: "responsibilities", Kind: UUIDs, Source: Relation, Rel: "opgaver", ObjektType: "lederansvar", Facet: "responsibility"},
			funktion("engagement", "engagement"),
		}},
		{Type: Leave, Class: "organisationfunktion", Funktionsnavn: "Orlov", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), person, fnType("leave_type"), funktion("engagement", "engagement"),
		}},
		{Type: KLE, Class: "organisationfunktion", Funktionsnavn: "KLE", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), orgUnit, fnType("kle_number"), rels("kle_aspects", "opgaver"),
		}},
		{Type: RelatedUnit, Class: "organisationfunktion", Funktionsnavn: "Relateret Enhed", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), rels("org_units", "tilknyttedeenheder"),
		}},
		{Type: RoleBinding, Class: "organisationfunktion", Funktionsnavn: "Rollebinding", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), fnType("role"), funktion("ituser", "it"), orgUnit,
		}},
		{Type: Owner, Class: "organisationfunktion", Funktionsnavn: "owner", OrgRelation: "tilknyttedeorganisationer", Fields: []Field{
			userKey(), rel("owner", "tilknyttedepersoner"), person, orgUnit,
			udv("inference_priority", "udvidelse_1"),
		}},
		{Type: Class, Class: "klasse", OrgRelation: "ansvarlig", OrgObjektType: "Organisation", Fields: []Field{
			userKey(),
			{Name: "name", Kind: Text, Source: Egenskab, Column: "titel"},
			{Name: "scope", Kind: Text, Source: Egenskab, Column: "omfang"},
			{Name: "facet", Kind: UUID, Source: Relation, Rel: "facet", Tag: "Facet"},
			{Name: "parent", Kind: UUID, Source: Relation, Rel: "overordnetklasse", Tag: "Klasse"},
			{Name: "published", Kind: Text, Source: State},
		}},
		// The facet's organisation is ansvarlig; facettilhoerer is the
		// parent facet.
		{Type: Facet, Class: "facet", OrgRelation: "ansvarlig", OrgObjektType: "Organisation", Fields: []Field{
			userKey(),
			{Name: "description", Kind: Text, Source: Egenskab, Column: "beskrivelse"},
			{Name: "published", Kind: Text, Source: State},
		}},
		{Type: ITSystem, Class: "itsystem", OrgRelation: "tilhoerer", Fields: []Field{
			userKey(),
			{Name: "name", Kind: Text, Source: Egenskab, Column: "itsystemnavn"},
			{Name: "system_type", Kind: Text, Source: Egenskab, Column: "itsystemtype"},
		}},
		{Type: Organisation, Class: "organisation", Fields: []Field{
			userKey(),
			{Name: "name", Kind: Text, Source: Egenskab, Column: "organisationsnavn"},
		}},
	}
)

func extensions() []Field {
	out := make([]Field, 10)
	for i := range out {
		n := strconv.Itoa(i + 1)
		out[i] = udv("extension_"+n, "udvidelse_"+n)
	}
	return out
}

var specByType = func() map[Type]*Spec {
	m := make(map[Type]*Spec, len(specList))
	for _, s := range specList {
		m[s.Type] = s
	}
	return m
}()

var specByFunktionsnavn = func() map[string]*Spec {
	m := map[string]*Spec{}
	for _, s := range specList {
		if s.Funktionsnavn != "" {
			m[s.Funktionsnavn] = s
		}
	}
	return m
}()

// SpecOf returns how type t is stored, or nil for an unknown type.
func SpecOf(t Type) *Spec { return specByType[t] }

// SpecOfFunktionsnavn returns the organisationfunktion type with that
// funktionsnavn, or nil (an unknown funktionsnavn is dead-lettered).
func SpecOfFunktionsnavn(name string) *Spec { return specByFunktionsnavn[name] }

// SpecOfClass returns the type of a LoRa class other than
// organisationfunktion (bruger → person, ...), or nil.
func SpecOfClass(class string) *Spec {
	for _, s := range specList {
		if s.Class == class && s.Funktionsnavn == "" {
			return s
		}
	}
	return nil
}
