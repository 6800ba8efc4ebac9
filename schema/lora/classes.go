package lora

// Column is one class-specific column of an attribute table.
type Column struct {
	Name string
	Type string // SQL type: text, boolean, int, text[]
}

// Class describes one LoRa object class: the names of its tables and their
// class-specific columns, its state (tils) and its relation kinds. The DDL,
// the writer and the decoder all read table layouts from here.
type Class struct {
	// Name is the LoRa class name and the prefix of every table: bruger,
	// organisationenhed, organisationfunktion, klasse, facet, itsystem,
	// klassifikation, organisation.
	Name string
	// Egenskaber are the columns of C_attr_egenskaber after
	// brugervendtnoegle, in table order.
	Egenskaber []Column
	// Udvidelser are the columns of C_attr_udvidelser (bruger and
	// organisationfunktion only), in table order.
	Udvidelser []Column
	// Tils is the state kind: "gyldighed" (values Aktiv, Inaktiv) or
	// "publiceret" (Publiceret, IkkePubliceret).
	Tils string
	// ZeroToOne and ZeroToMany are the relation kinds (RelationKode). A
	// 0..1 kind has at most one target at any instant of validity time.
	ZeroToOne  []string
	ZeroToMany []string
	// ActiveTils says whether the attr and relation tables carry the 2026
	// active_tils column with its triggers.
	ActiveTils bool
}

// Table names of the class.
func (c *Class) Table() string             { return c.Name }
func (c *Class) RegistreringTable() string { return c.Name + "_registrering" }
func (c *Class) EgenskaberTable() string   { return c.Name + "_attr_egenskaber" }
func (c *Class) UdvidelserTable() string   { return c.Name + "_attr_udvidelser" }
func (c *Class) TilsTable() string         { return c.Name + "_tils_" + c.Tils }
func (c *Class) RelationTable() string     { return c.Name + "_relation" }

// RegistreringFK is the name of the column that points from attr, tils and
// relation rows to their registration.
func (c *Class) RegistreringFK() string { return c.Name + "_registrering_id" }

// ObjectFK is the name of the registration's column that holds the object uuid.
func (c *Class) ObjectFK() string { return c.Name + "_id" }

// ActiveValue is the state value that makes the object valid: Aktiv or Publiceret.
func (c *Class) ActiveValue() string {
	if c.Tils == "publiceret" {
		return "Publiceret"
	}
	return "Aktiv"
}

// TilsValues are the values of the class's state enum.
func (c *Class) TilsValues() []string {
	if c.Tils == "publiceret" {
		return []string{"Publiceret", "IkkePubliceret", ""}
	}
	return []string{"Aktiv", "Inaktiv", ""}
}

// IsZeroToMany reports whether relation kind rel may have several targets.
func (c *Class) IsZeroToMany(rel string) bool {
	for _, k := range c.ZeroToMany {
		if k == rel {
			return true
		}
	}
	return false
}

// RelationKinds returns every relation kind, 0..1 kinds first.
func (c *Class) RelationKinds() []string {
	return append(append([]string{}, c.ZeroToOne...), c.ZeroToMany...)
}

func text(names ...string) []Column {
	cols := make([]Column, len(names))
	for i, n := range names {
		cols[i] = Column{Name: n, Type: "text"}
	}
	return cols
}

// tilknyttede are the 0..n "tilknyttede*" kinds most classes share.
var tilknyttede = []string{
	"tilknyttedebrugere", "tilknyttedeenheder", "tilknyttedefunktioner",
	"tilknyttedeinteressefaellesskaber", "tilknyttedeorganisationer",
	"tilknyttedepersoner", "tilknyttedeitsystemer",
}

func kinds(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// The eight classes of the MO store.
var (
	Bruger = &Class{
		Name:       "bruger",
		Egenskaber: text("brugernavn", "brugertype"),
		Udvidelser: text("fornavn", "efternavn", "kaldenavn_fornavn", "kaldenavn_efternavn", "seniority"),
		Tils:       "gyldighed",
		ZeroToOne:  []string{"tilhoerer"},
		ZeroToMany: kinds([]string{"adresser", "brugertyper", "opgaver"}, tilknyttede),
		ActiveTils: true,
	}
	Organisationenhed = &Class{
		Name:       "organisationenhed",
		Egenskaber: text("enhedsnavn"),
		Tils:       "gyldighed",
		ZeroToOne:  []string{"branche", "enhedstype", "overordnet", "produktionsenhed", "skatteenhed", "tilhoerer", "niveau", "opmærkning"},
		ZeroToMany: kinds([]string{"adresser", "ansatte", "opgaver"}, tilknyttede),
		ActiveTils: true,
	}
	Organisationfunktion = &Class{
		Name:       "organisationfunktion",
		Egenskaber: text("funktionsnavn"),
		Udvidelser: append([]Column{{"primær", "boolean"}, {"fraktion", "int"}},
			text("udvidelse_1", "udvidelse_2", "udvidelse_3", "udvidelse_4", "udvidelse_5",
				"udvidelse_6", "udvidelse_7", "udvidelse_8", "udvidelse_9", "udvidelse_10")...),
		Tils:       "gyldighed",
		ZeroToOne:  []string{"organisatoriskfunktionstype", "primær"},
		ZeroToMany: kinds([]string{"adresser", "opgaver"}, tilknyttede, []string{"tilknyttedeklasser"}),
		ActiveTils: true,
	}
	Klasse = &Class{
		Name:       "klasse",
		Egenskaber: text("beskrivelse", "eksempel", "omfang", "titel", "retskilde", "aendringsnotat"),
		Tils:       "publiceret",
		ZeroToOne:  []string{"ejer", "ansvarlig", "overordnetklasse", "facet"},
		ZeroToMany: []string{"redaktoerer", "sideordnede", "mapninger", "tilfoejelser", "erstatter", "lovligekombinationer"},
		ActiveTils: true,
	}
	Facet = &Class{
		Name:       "facet",
		Egenskaber: text("beskrivelse", "opbygning", "ophavsret", "plan", "supplement", "retskilde"),
		Tils:       "publiceret",
		ZeroToOne:  []string{"ansvarlig", "ejer", "facettilhoerer"},
		ZeroToMany: []string{"redaktoerer"},
		ActiveTils: true,
	}
	Itsystem = &Class{
		Name: "itsystem",
		Egenskaber: append(text("itsystemnavn", "itsystemtype"),
			Column{Name: "konfigurationreference", Type: "text[]"}),
		Tils:       "gyldighed",
		ZeroToOne:  []string{"tilhoerer"},
		ZeroToMany: kinds([]string{"adresser", "opgaver", "systemtyper"}, tilknyttede),
		ActiveTils: true,
	}
	Klassifikation = &Class{
		Name:       "klassifikation",
		Egenskaber: text("beskrivelse", "kaldenavn", "ophavsret"),
		Tils:       "publiceret",
		ZeroToOne:  []string{"ansvarlig", "ejer"},
	}
	Organisation = &Class{
		Name:       "organisation",
		Egenskaber: text("organisationsnavn"),
		Tils:       "gyldighed",
		ZeroToOne:  []string{"branche", "myndighed", "myndighedstype", "overordnet", "produktionsenhed", "skatteenhed", "tilhoerer", "virksomhed", "virksomhedstype"},
		ZeroToMany: kinds([]string{"adresser", "ansatte", "opgaver"}, tilknyttede),
	}
)

// Classes lists the eight classes in dependency order (a class's relations
// may point at the classes before it).
var Classes = []*Class{Organisation, Klassifikation, Facet, Klasse, Itsystem, Bruger, Organisationenhed, Organisationfunktion}

// ClassByName returns the class called name, or nil.
func ClassByName(name string) *Class {
	for _, c := range Classes {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Access-log tables of OS2mo (reads; off by default in OS2mo) and the actor table.
const (
	ActorTable              = "actor"
	AccessLogOperationTable = "access_log_operation"
	AccessLogReadTable      = "access_log_read"
)

// Schema is the PostgreSQL schema of every MO store table.
const Schema = "actual_state"
