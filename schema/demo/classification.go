package demo

// The classification (facets, classes, IT systems, the root organisation)
// is the same for every seed: its uuids are derived from the facet and class
// user_keys only, so configuration that names a class (sensitive job
// functions, labels) works on any demo store.

// Organisation is the uuid of the root organisation of every demo store.
const Organisation = "f6082cc2-3b52-554f-9fc9-d9b7d87ca5fe"

// Job-function classes whose names reveal private facts about the person
// (mo-store.md §9: sensitive job titles). A later policy marks them sensitive.
const (
	JobFunctionFleksjob    = "9f9934cd-0c45-5e65-bc6d-b2c6f5b39f10" // "Fleksjob"
	JobFunctionSkaanejob   = "5e4e7502-e352-5e9a-9e63-c7973cece19f" // "Skånejob"
	JobFunctionLoentilskud = "2168ccc0-bd50-5341-bf71-abba6824c646" // "Løntilskud"
)

// SensitiveJobFunctions lists the sensitive job-function classes.
var SensitiveJobFunctions = []string{JobFunctionFleksjob, JobFunctionSkaanejob, JobFunctionLoentilskud}

// IT systems of every demo store.
const (
	ITSystemAD         = "4850fef4-a842-5af4-84fb-7e09f9a16492" // "Active Directory", user_key AD
	ITSystemOPUS       = "f08fa642-a0fc-5d01-a2ea-f5c533cbc1ae" // "OPUS Løn"
	ITSystemFKOrg      = "c57a2af9-b60c-5de0-8f13-01dbce600894" // "FK Organisation"
	ITSystemPlan2Learn = "bdbde70c-15e4-54fb-a55d-32adb18bc048" // "Plan2Learn"
	ITSystemAula       = "e18ee9ca-cccc-5666-b537-f0fae63c3971" // "Aula"
	ITSystemNexus      = "8ef379b5-b343-5317-9287-f4272e15373d" // "Nexus"
)

// Facet user_keys as OS2mo names them.
const (
	FacetEngagementType      = "engagement_type"
	FacetJobFunction         = "engagement_job_function"
	FacetOrgUnitType         = "org_unit_type"
	FacetOrgUnitLevel        = "org_unit_level"
	FacetOrgUnitHierarchy    = "org_unit_hierarchy"
	FacetEmployeeAddressType = "employee_address_type"
	FacetOrgUnitAddressType  = "org_unit_address_type"
	FacetVisibility          = "visibility"
	FacetManagerType         = "manager_type"
	FacetManagerLevel        = "manager_level"
	FacetResponsibility      = "responsibility"
	FacetPrimaryType         = "primary_type"
	FacetLeaveType           = "leave_type"
	FacetKLENumber           = "kle_number"
	FacetKLEAspect           = "kle_aspect"
	FacetAssociationType     = "association_type"
	FacetRole                = "role"
	FacetTimePlanning        = "time_planning"
)

type classDef struct {
	UserKey string
	Name    string
	Scope   string // omfang; "" for none
}

type facetDef struct {
	UserKey     string
	Description string
	Classes     []classDef
}

func plain(pairs ...string) []classDef {
	out := make([]classDef, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, classDef{UserKey: pairs[i], Name: pairs[i+1]})
	}
	return out
}

func scoped(triples ...string) []classDef {
	out := make([]classDef, 0, len(triples)/3)
	for i := 0; i+2 < len(triples); i += 3 {
		out = append(out, classDef{UserKey: triples[i], Name: triples[i+1], Scope: triples[i+2]})
	}
	return out
}

// facets is the classification of the demo municipality. Scopes are text,
// as OS2mo stores them (primary_type scopes are numbers written as text).
var facets = []facetDef{
	{FacetEngagementType, "Engagementstype", plain(
		"ansat", "Ansat", "timeloennet", "Timelønnet", "vikar", "Vikar", "elev", "Elev",
		"praktikant", "Praktikant", "tjenestemand", "Tjenestemand")},
	{FacetJobFunction, "Stillingsbetegnelse", plain(
		"laerer", "Lærer", "paedagog", "Pædagog", "paedagogmedhjaelper", "Pædagogmedhjælper",
		"skolesekretaer", "Skolesekretær", "dagplejer", "Dagplejer", "psykolog", "Psykolog",
		"socialraadgiver", "Socialrådgiver", "sosu_assistent", "Social- og sundhedsassistent",
		"sosu_hjaelper", "Social- og sundhedshjælper", "sygeplejerske", "Sygeplejerske",
		"ergoterapeut", "Ergoterapeut", "fysioterapeut", "Fysioterapeut", "koekkenleder", "Køkkenleder",
		"vejarbejder", "Vej- og parkarbejder", "ingenioer", "Ingeniør", "chauffoer", "Chauffør",
		"specialkonsulent", "Specialkonsulent", "fuldmaegtig", "Fuldmægtig", "bibliotekar", "Bibliotekar",
		"musikunderviser", "Musikunderviser", "servicemedarbejder", "Servicemedarbejder",
		"it_medarbejder", "IT-medarbejder", "overassistent", "Overassistent", "jurist", "Jurist",
		"jobkonsulent", "Jobkonsulent", "rengoering", "Rengøringsassistent", "elev", "Elev",
		"leder", "Leder", "afdelingsleder", "Afdelingsleder", "skoleleder", "Skoleleder",
		"direktoer", "Direktør",
		"fleksjob", "Fleksjob", "skaanejob", "Skånejob", "loentilskud", "Løntilskud")},
	{FacetOrgUnitType, "Enhedstype", plain(
		"kommune", "Kommune", "forvaltning", "Forvaltning", "afdeling", "Afdeling",
		"institution", "Institution", "team", "Team", "sektion", "Sektion")},
	{FacetOrgUnitLevel, "Enhedsniveau", plain(
		"N1", "Niveau 1", "N2", "Niveau 2", "N3", "Niveau 3", "N4", "Niveau 4", "N5", "Niveau 5", "N6", "Niveau 6")},
	{FacetOrgUnitHierarchy, "Opmærkning", plain(
		"linjeorg", "Linjeorganisation", "selvejet", "Selvejet institution", "skjult", "Skjult")},
	{FacetEmployeeAddressType, "Adressetype (medarbejder)", scoped(
		"EmailEmployee", "Email", "EMAIL",
		"PhoneEmployee", "Telefon", "PHONE",
		"MobilePhoneEmployee", "Mobiltelefon", "PHONE",
		"AdressePostEmployee", "Bopælsadresse", "DAR",
		"LocationEmployee", "Lokation", "TEXT")},
	{FacetOrgUnitAddressType, "Adressetype (enhed)", scoped(
		"AddressMailUnit", "Postadresse", "DAR",
		"AdresseHenvendelsessted", "Henvendelsessted", "DAR",
		"PhoneUnit", "Telefon", "PHONE",
		"EmailUnit", "Email", "EMAIL",
		"EAN", "EAN-nummer", "EAN",
		"p-nummer", "P-nummer", "PNUMBER",
		"WebUnit", "Webadresse", "WWW",
		"OpeningHours", "Åbningstider", "TEXT")},
	{FacetVisibility, "Synlighed", scoped(
		"Public", "Må vises eksternt", "PUBLIC",
		"Internal", "Må vises internt", "INTERNAL",
		"Secret", "Hemmelig", "SECRET")},
	{FacetManagerType, "Ledertype", plain(
		"direktoer", "Direktør", "chef", "Chef", "leder", "Leder", "souschef", "Souschef", "teamleder", "Teamleder")},
	{FacetManagerLevel, "Lederniveau", plain(
		"niveau1", "Niveau 1", "niveau2", "Niveau 2", "niveau3", "Niveau 3", "niveau4", "Niveau 4")},
	{FacetResponsibility, "Lederansvar", plain(
		"personale", "Personale: ansættelse/afskedigelse",
		"personale_admin", "Personale: øvrige administrative opgaver",
		"budget", "Budgetansvar", "arbejdsmiljoe", "Arbejdsmiljø",
		"med", "MED-ansvar", "bygninger", "Bygninger og arealer")},
	{FacetPrimaryType, "Primærtype", scoped(
		"primary", "Primær", "3000",
		"non-primary", "Ikke-primær", "0",
		"explicitly-primary", "Manuelt primær", "5000")},
	{FacetLeaveType, "Orlovstype", plain(
		"barsel", "Barselsorlov", "foraeldreorlov", "Forældreorlov", "uddannelse", "Uddannelsesorlov",
		"tjenestefri", "Tjenestefrihed uden løn", "orlov", "Orlov")},
	{FacetKLENumber, "KLE-numre", plain(
		"00.01", "Kommunens styrelse", "00.05", "Besøg, repræsentation mv.",
		"00.22", "Kommunalt samarbejde", "02.00", "Byggeri", "05.00", "Veje og trafik",
		"06.00", "Vandløb", "09.00", "Miljøbeskyttelse", "13.00", "Forsyning",
		"15.00", "Redningsberedskab", "17.00", "Undervisning og uddannelse",
		"17.02", "Folkeskolen", "18.00", "Kultur og fritid", "20.00", "Biblioteker",
		"27.00", "Social service", "27.24", "Dagtilbud til børn og unge",
		"27.36", "Hjemmehjælp", "28.00", "Børn og unge med særlige behov",
		"29.00", "Sundhed", "81.00", "Personale", "82.00", "Økonomi", "85.00", "IT og digitalisering")},
	{FacetKLEAspect, "KLE-aspekt", scoped(
		"Ansvarlig", "Ansvarlig", "ANSVARLIG",
		"Udfoerende", "Udførende", "UDFOERENDE",
		"Indsigt", "Indsigt", "INDSIGT")},
	{FacetAssociationType, "Tilknytningstype", plain(
		"medlem", "Medlem", "formand", "Formand", "naestformand", "Næstformand",
		"tr", "Tillidsrepræsentant", "amr", "Arbejdsmiljørepræsentant",
		"konsulent", "Ekstern konsulent", "praktikvejleder", "Praktikvejleder")},
	{FacetRole, "Rolle", plain(
		"admin", "Lokal administrator", "laeser", "Læseadgang", "redaktoer", "Redaktør",
		"godkender", "Godkender", "sagsbehandler", "Sagsbehandler")},
	{FacetTimePlanning, "Tidsregistrering", plain(
		"arbejdstidsplaner", "Arbejdstidsplaner", "dannes_ikke", "Dannes ikke", "tjenestetid", "Tjenestetid")},
}

type itsystemDef struct {
	UserKey string
	Name    string
	Type    string
}

var itsystems = []itsystemDef{
	{"AD", "Active Directory", "Katalog"},
	{"OPUS", "OPUS Løn", "Lønsystem"},
	{"FK-ORG", "FK Organisation", "Fællesoffentlig"},
	{"Plan2Learn", "Plan2Learn", "Kompetencestyring"},
	{"Aula", "Aula", "Kommunikation"},
	{"Nexus", "Nexus", "Omsorgssystem"},
}

// ClassUUID returns the uuid of the demo class with that user_key in that
// facet (the same in every demo store).
func ClassUUID(facet, userKey string) string { return fixedUUID("class/" + facet + "/" + userKey) }

// FacetUUID returns the uuid of the demo facet with that user_key.
func FacetUUID(facet string) string { return fixedUUID("facet/" + facet) }

// ITSystemUUID returns the uuid of the demo IT system with that user_key.
func ITSystemUUID(userKey string) string { return fixedUUID("itsystem/" + userKey) }
