package demo

// Actors of every demo store: the integrations and users that OS2mo records
// as brugerref of each registration and as actor of each read. Their uuids
// are fixed so that churn, tests and ledger queries can name them.
const (
	ActorOS2moInit  = "e553594d-3f43-5a04-b6b0-201b352ff149" // os2mo-init: imports the classification
	ActorSQLExport  = "09232854-e8e6-5385-86a6-ebb024e875fd" // SQLExport: nightly export, reads everything
	ActorOS2Sync    = "a9b1d96b-c2ee-50c9-9405-78171a51cff6" // OS2Sync: FK Organisation sync, reads
	ActorLDAP       = "522a0059-c111-50b5-857d-8558596a3acf" // LDAP: AD integration, writes IT users and emails
	ActorOPUS       = "a8b960ba-accf-5e03-9ea5-d2bb59a46cea" // Lønsystem (OPUS): writes persons and engagements
	ActorAnne       = "ca9b7a2a-61e5-5357-96ab-59311c64c38a" // MO UI: Anne Hansen (HR)
	ActorMorten     = "b7d1225a-98be-5232-a264-30ade1651096" // MO UI: Morten Kjærgaard (organisation)
	ActorBirgitte   = "df15df23-b99b-54e9-bf34-b601465becc9" // MO UI: Birgitte Sønderby (IT)
	ActorOrgViewer  = "cddf4402-ff70-548e-9914-956231bbc504" // OrgViewer: reads
	ActorPlan2Learn = "c9b8f0ef-9a09-5618-893b-b42236672111" // Plan2Learn: reads
)

// Actor is a row of the store's actor table.
type Actor struct {
	UUID string
	Name string
}

// Actors lists every demo actor with the name the actor table holds.
var Actors = []Actor{
	{ActorOS2moInit, "os2mo-init"},
	{ActorSQLExport, "SQLExport"},
	{ActorOS2Sync, "OS2Sync"},
	{ActorLDAP, "LDAP"},
	{ActorOPUS, "Lønsystem (OPUS)"},
	{ActorAnne, "MO UI: Anne Hansen"},
	{ActorMorten, "MO UI: Morten Kjærgaard"},
	{ActorBirgitte, "MO UI: Birgitte Sønderby"},
	{ActorOrgViewer, "OrgViewer"},
	{ActorPlan2Learn, "Plan2Learn"},
}
