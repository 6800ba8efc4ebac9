package demo

import (
	"math/rand/v2"
	"sort"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// --- reads (access log)

var readers = []string{ActorOS2Sync, ActorLDAP, ActorOrgViewer, ActorPlan2Learn, ActorAnne, ActorMorten, ActorBirgitte}

func planRead(operation string) func(*churner, *rand.Rand) *plan {
	return func(c *churner, r *rand.Rand) *plan {
		n := 1
		if r.IntN(10) >= 6 {
			n = 2 + r.IntN(19)
		}
		var uuids []string
		var typ mo.Type
		model := "OrganisationFunktion"
		switch operation {
		case "employees":
			typ, model, uuids = mo.Person, "Bruger", c.persons.sample(r, n)
		case "org_units":
			typ, model, uuids = mo.OrgUnit, "OrganisationEnhed", c.units.sample(r, n)
		case "engagements":
			typ, uuids = mo.Engagement, c.engs.sample(r, n)
		case "itusers":
			typ, uuids = mo.ITUser, c.itusers.sample(r, n)
		case "addresses":
			typ, uuids = mo.Address, c.addresses.sample(r, n)
		case "managers":
			typ, uuids = mo.Manager, c.managers.sample(r, n)
		}
		if len(uuids) == 0 {
			return nil
		}
		args := map[string]any{"filter": map[string]any{"uuids": uuids}}
		if len(uuids) > 5 {
			args = map[string]any{"filter": map[string]any{"from_date": string(c.day)}, "limit": len(uuids)}
		}
		return &plan{steps: []step{c.read(typ, model, operation, pickActor(r, readers...), args, uuids)}}
	}
}

func planReadClasses(c *churner, r *rand.Rand) *plan {
	keys := make([]string, 0, len(c.classes))
	for f := range c.classes {
		keys = append(keys, f)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	f := keys[r.IntN(len(keys))]
	var uuids []string
	for _, k := range c.classes[f] {
		uuids = append(uuids, k.UUID)
	}
	args := map[string]any{"filter": map[string]any{"facet_user_keys": []string{f}}}
	return &plan{steps: []step{c.read(mo.Class, "Klasse", "classes", pickActor(r, readers...), args, uuids)}}
}

// planReadExport is the SQL export's bulk read of many persons.
func planReadExport(c *churner, r *rand.Rand) *plan {
	uuids := c.persons.sample(r, 200+r.IntN(801))
	if len(uuids) == 0 {
		return nil
	}
	args := map[string]any{"limit": len(uuids), "offset": r.IntN(10) * 1000}
	return &plan{steps: []step{c.read(mo.Person, "Bruger", "employees", ActorSQLExport, args, uuids)}}
}
