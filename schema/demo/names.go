package demo

// Word lists the generator draws from. They are data, so they are spelt the
// Danish way, æøå included; the generator relies on their order only through
// the seeded random source.

var femaleNames = []string{
	"Anne", "Kirsten", "Mette", "Hanne", "Anna", "Helle", "Susanne", "Lene",
	"Maria", "Marianne", "Lone", "Camilla", "Pia", "Louise", "Charlotte",
	"Inge", "Bente", "Tina", "Gitte", "Karen", "Sofie", "Ida", "Freja", "Emma",
	"Åse", "Birgitte", "Bodil", "Ellen", "Jytte", "Signe", "Mathilde", "Frida",
	"Astrid", "Sørine", "Dorthe", "Trine", "Jønne", "Line", "Malene", "Rikke",
	"Anne Marie", "Karen Margrethe", "Søs", "Kærsti", "Ulla", "Grethe",
}

var maleNames = []string{
	"Peter", "Jens", "Lars", "Michael", "Henrik", "Thomas", "Søren", "Jan",
	"Niels", "Christian", "Martin", "Rasmus", "Jesper", "Anders", "Morten",
	"Mads", "Kasper", "Frederik", "Bjørn", "Jørgen", "Børge", "Torben", "Poul",
	"Ole", "Kåre", "Ebbe", "Mikkel", "Emil", "Oliver", "Malthe", "Magnus",
	"Aksel", "Øjvind", "Jørn", "Bent", "Knud", "Steen", "Claus", "Flemming",
	"Hans Jørgen", "Jens Peter", "Ørnulf", "Åge", "Bo", "Erik", "Carsten",
}

var surnames = []string{
	"Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen",
	"Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Petersen", "Madsen",
	"Kristensen", "Olsen", "Thomsen", "Christiansen", "Poulsen", "Johansen",
	"Møller", "Mortensen", "Knudsen", "Jakobsen", "Mikkelsen", "Frederiksen",
	"Søndergaard", "Kjær", "Lund", "Holm", "Schmidt", "Østergaard", "Dahl",
	"Lauridsen", "Bach", "Kjærgaard", "Skov", "Nørgaard", "Brøndum",
	"Højgaard", "Ågård", "Bøgh", "Friis", "Vestergaard", "Sønderby",
	"Damgård", "Mølgaard", "Kærsgaard", "Ærbøl", "Grønbæk", "Lykke",
}

// nicknames are what a person may prefer to be called instead of the given
// name on the CPR register.
var nicknames = []string{
	"Bo", "Lotte", "Mette-Marie", "Kalle", "Sus", "Gitte", "Bjørn", "Søs",
	"Mikke", "Lasse", "Tut", "Ønne", "Kaj", "Bente", "Lulu", "Åse",
}

// places give institutions their names: "Sønderbro Skole".
var places = []string{
	"Sønderbro", "Nørreskov", "Østervang", "Vestergård", "Åbyhøj", "Kærholm",
	"Bøgelund", "Skovbo", "Møllevang", "Strandgården", "Lærkehøj", "Højvang",
	"Fjordbakken", "Rønnebær", "Egebjerg", "Ølsted", "Æblehaven",
	"Søndermarken", "Grønløkke", "Kildebjerg", "Solgården", "Birkely",
	"Tårnhøj", "Engbakken", "Kløvermarken", "Hørning", "Bækkelund",
	"Nørrevang", "Rosenhøj", "Ådalen", "Fælledgården", "Lindegården",
}

// municipalityNames name the demo municipality ("Sønderå Kommune").
var municipalityNames = []string{
	"Sønderå", "Nørreby", "Østerlund", "Kærbæk", "Åmose", "Fjordholm", "Bøgeskov",
}

// category is a branch of the municipality (a forvaltning) with the names
// its departments, institutions and teams have, and the job functions
// most of its staff hold.
type category struct {
	Name         string
	Departments  []string
	Institutions []string // a type; "%" is replaced by a place name
	Teams        []string
	Subteams     []string
	JobFunctions []string // user_keys of engagement_job_function classes
	ITSystem     string   // user_key of an IT system mostly used here, "" for none
}

var categories = []category{
	{
		Name:         "Børn og Unge",
		Departments:  []string{"Skoleafdelingen", "Dagtilbudsafdelingen", "Familieafdelingen", "PPR og Sundhed"},
		Institutions: []string{"% Skole", "Børnehuset %", "Vuggestuen %", "% Fritidsklub", "Dagplejen %"},
		Teams:        []string{"Indskolingen", "Mellemtrinnet", "Udskolingen", "SFO", "Køkkenet", "Administrationen", "Stuen Bøgen", "Stuen Egen", "Specialklasserne"},
		Subteams:     []string{"Team 0.-2. klasse", "Team 3.-4. klasse", "Gruppe Mælkebøtten", "Gruppe Solsikken", "Årgang 7", "Team Lærkerne"},
		JobFunctions: []string{"laerer", "paedagog", "paedagogmedhjaelper", "skolesekretaer", "dagplejer", "psykolog", "socialraadgiver"},
		ITSystem:     "Aula",
	},
	{
		Name:         "Social, Sundhed og Ældre",
		Departments:  []string{"Ældreafdelingen", "Sundhedsafdelingen", "Socialafdelingen", "Handicap og Psykiatri"},
		Institutions: []string{"Plejecentret %", "Hjemmeplejen %", "Sundhedshuset %", "Bostedet %", "% Aktivitetscenter"},
		Teams:        []string{"Dagvagt", "Aftenvagt", "Nattevagt", "Træningsenheden", "Køkkenet", "Sygeplejen", "Demensteamet"},
		Subteams:     []string{"Gruppe Nord", "Gruppe Syd", "Team Øst", "Team Vest", "Rute 1", "Rute 2"},
		JobFunctions: []string{"sosu_assistent", "sosu_hjaelper", "sygeplejerske", "ergoterapeut", "fysioterapeut", "socialraadgiver", "koekkenleder"},
		ITSystem:     "Nexus",
	},
	{
		Name:         "Teknik og Miljø",
		Departments:  []string{"Vej og Park", "Plan og Byggeri", "Natur og Miljø", "Kommunale Ejendomme"},
		Institutions: []string{"Materielgården %", "Genbrugspladsen %", "Driftscenter %", "Byggesagsteam %"},
		Teams:        []string{"Grønne områder", "Vejdrift", "Vintertjeneste", "Værkstedet", "Byggesager", "Miljøtilsyn"},
		Subteams:     []string{"Hold A", "Hold B", "Sjak Øst", "Sjak Vest"},
		JobFunctions: []string{"vejarbejder", "ingenioer", "chauffoer", "specialkonsulent", "fuldmaegtig"},
	},
	{
		Name:         "Kultur og Fritid",
		Departments:  []string{"Bibliotekerne", "Idræt og Fritid", "Musik og Kulturhuse"},
		Institutions: []string{"% Bibliotek", "% Svømmehal", "Musikskolen %", "Kulturhuset %"},
		Teams:        []string{"Udlån", "Børnebiblioteket", "Drift", "Undervisning", "Arrangementer"},
		Subteams:     []string{"Hold 1", "Hold 2", "Weekendholdet"},
		JobFunctions: []string{"bibliotekar", "musikunderviser", "servicemedarbejder", "fuldmaegtig"},
	},
	{
		Name:         "Økonomi og Personale",
		Departments:  []string{"Økonomi", "HR og Løn", "Digitalisering og IT", "Borgerservice"},
		Institutions: []string{"Lønkontoret", "IT-supporten", "Borgerservice %", "Indkøb og Udbud"},
		Teams:        []string{"Team Løn", "Team Rekruttering", "Servicedesk", "Drift og Infrastruktur", "Pas og Kørekort"},
		Subteams:     []string{"1. level support", "2. level support", "Skranken"},
		JobFunctions: []string{"fuldmaegtig", "specialkonsulent", "it_medarbejder", "overassistent", "jurist"},
	},
	{
		Name:         "Beskæftigelse og Integration",
		Departments:  []string{"Jobcentret", "Ydelseskontoret", "Integration"},
		Institutions: []string{"Jobcenter %", "Ungeenheden %", "Virksomhedsservice"},
		Teams:        []string{"Team Sygedagpenge", "Team Kontanthjælp", "Team Unge", "Team Fleks"},
		Subteams:     []string{"Gruppe 1", "Gruppe 2", "Gruppe 3"},
		JobFunctions: []string{"socialraadgiver", "jobkonsulent", "fuldmaegtig", "overassistent"},
	},
}
