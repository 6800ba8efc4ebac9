package ad

import (
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// TestScope: an AD sink scoped to the line organisation (and not the
// subtree of X) lets only engagements in units that pass decide an
// account: a person engaged outside keeps its account disabled and gets
// none created. Relabelling B to the line organisation enables B's
// account and creates the missing one; moving A below X disables the
// accounts of the persons in A1 below it, moving it back enables them.
func TestScope(t *testing.T) {
	w := newWorld(t)
	const (
		line, self   = "00000000-0000-4000-8000-0000000000e1", "00000000-0000-4000-8000-0000000000e2"
		uA1, uX, uRt = "00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000b2", "00000000-0000-4000-8000-0000000000b3"
	)
	w.produce(mo.Organisation, uOrg, "", "", map[string]any{"user_key": "kommune", "name": "Testkommune"})
	w.produce(mo.Class, line, "", "", map[string]any{"user_key": "linjeorg", "name": "Linjeorganisation"})
	w.produce(mo.Class, self, "", "", map[string]any{"user_key": "selvejet", "name": "Selvejet"})
	w.produce(mo.Class, cJF1, "", "", map[string]any{"user_key": "paedagog", "name": "Pædagog"})
	w.produce(mo.ITSystem, sAD, "", "", map[string]any{"user_key": "Active Directory", "name": "Active Directory"})
	unit := func(uuid, key, parent, label string, changed ...string) {
		f := map[string]any{"user_key": key, "name": "Enhed " + key, "org_unit_hierarchy": label}
		if parent != "" {
			f["parent"] = parent
		}
		w.produceChanged(mo.OrgUnit, uuid, [][3]any{{"2000-01-01", "", f}}, changed)
	}
	unit(uRt, "R", "", line)
	unit(uA, "A", uRt, line, "parent")
	unit(uA1, "A1", uA, line)
	unit(uB, "B", uRt, self)
	unit(uX, "X", uRt, line)
	ppl := []struct{ given, sur, cpr, unit string }{{"Alma", "Ager", "1101901111", uA1}, {"Bent", "Bro", "1202802222", uB},
		{"Cille", "Dam", "1303803333", uB}, {"Dan", "Eng", "1404804444", uA1}}
	for i, p := range ppl {
		w.produce(mo.Person, person(i+1), "1980-01-01", "", map[string]any{"given_name": p.given, "surname": p.sur, "cpr_number": p.cpr})
		w.produce(mo.Engagement, eng(i+1), "2020-01-01", "", map[string]any{"user_key": "E", "person": person(i + 1), "org_unit": p.unit, "job_function": cJF1})
	}
	w.addAccount("Alma Ager", "alag", map[string]string{"employeeID": "1101901111"})
	w.addAccount("Bent Bro", "bebr", map[string]string{"employeeID": "1202802222", "department": "Gammel"})

	cfg := w.config(func(c *Config) {
		c.Create = &Create{OU: w.ou}
		c.Scope = scope.Config{Labels: []string{"linjeorg"}, Exclude: []string{uX}}
	})
	r := w.start(cfg)
	w.idle(r)
	uac := func(when string, want map[string]string) {
		t.Helper()
		as := w.accounts("")
		for sam, v := range want {
			got := "<none>"
			if a := as[sam]; a != nil {
				got = a["userAccountControl"]
			}
			if got != v {
				t.Errorf("%s: %s userAccountControl %s, want %s", when, sam, got, v)
			}
		}
		if len(as) != len(want) {
			t.Errorf("%s: %d accounts, want %d: %v", when, len(as), len(want), keysOf(as))
		}
	}
	// Bent is engaged in B (self-owned) only: disabled, his department
	// (from an engagement outside) cleared; Cille gets no account.
	uac("start", map[string]string{"alag": "512", "bebr": "514", "daen1": "512"})
	w.want("alag", map[string]string{"department": "Enhed A1"})
	w.want("bebr", map[string]string{"department": ""})

	unit(uB, "B", uRt, line, "org_unit_hierarchy")
	w.idle(r)
	uac("B relabelled linjeorg", map[string]string{"alag": "512", "bebr": "512", "daen1": "512", "cida1": "512"})
	w.want("bebr", map[string]string{"department": "Enhed B"})

	unit(uA, "A", uX, line, "parent")
	w.idle(r)
	uac("A moved below the excluded X", map[string]string{"alag": "514", "bebr": "512", "daen1": "514", "cida1": "512"})

	unit(uA, "A", uRt, line, "parent")
	w.idle(r)
	uac("A moved back", map[string]string{"alag": "512", "bebr": "512", "daen1": "512", "cida1": "512"})
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
