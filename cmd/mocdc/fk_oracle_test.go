package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The FK oracle: what FK Organisation must hold after the fk sink caught
// up, computed from the MO store with plain SQL (mo-store.md's
// current-state rule) and integrations.md §2's rules written out again
// here — independently of capture, the view and the sink's code.

// fkRules is the part of the sink's configuration the oracle applies.
type fkRules struct {
	top      string
	excluded map[string]bool
	labels   map[string]bool // org_unit_hierarchy class names
	levels   map[string]bool // ignored org_unit_level user_keys
}

type oUnit struct{ name, parent, label, level, typ string }
type oITUser struct {
	uuid, system, userKey, external, person, unit string
	engagements                                   []string
}
type oAddress struct{ uuid, typ, value, visibility, ituser, unit string }
type oEngagement struct{ person, unit, job, ext3, start string }

// fkWant is an expected FK object, in the fields the test compares.
type fkWant struct {
	unitName, parent string            // units
	userID, name     string            // users
	email, phone     string            // both (units: Email, PhoneNumber)
	positions        map[string]bool   // "title|unit|start"
	extra            map[string]string // more unit fields: Post, Ean, PNR, Url
}

func fkAt(class, table, col, reg, at string) string {
	return fmt.Sprintf(`(SELECT a.%s::text FROM actual_state.%s_%s a WHERE a.%s_registrering_id = %s AND (a.virkning).timeperiod @> %s LIMIT 1)`,
		col, class, table, class, reg, at)
}

func fkRelAt(kind, reg, objektType, at string) string {
	filter := ""
	if objektType != "" {
		filter = fmt.Sprintf(" AND x.objekt_type = '%s'", objektType)
	}
	return fmt.Sprintf(`(SELECT coalesce(x.rel_maal_uuid::text, x.rel_maal_urn) FROM actual_state.organisationfunktion_relation x WHERE x.organisationfunktion_registrering_id = %s
		AND x.rel_type = '%s' AND (x.virkning).timeperiod @> %s%s ORDER BY 1 LIMIT 1)`, reg, kind, at, filter)
}

func queryRows(t *testing.T, pool *pgxpool.Pool, sql string, n int) [][]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, sql)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]*string, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := make([]string, n)
		for i, v := range vals {
			if v != nil {
				r[i] = *v
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func fnRel(kind, objektType string) string {
	return rel("organisationfunktion", kind, "f.reg", objektType)
}

// fkOracle computes the expected FK state: units and users by FK uuid.
func fkOracle(t *testing.T, pool *pgxpool.Pool, r fkRules) (units, users map[string]fkWant) {
	classes := map[string][3]string{} // uuid → user_key, titel, scope
	for _, row := range queryRows(t, pool, oracleCTE("klasse")+` SELECT k.uuid, `+attr("klasse", "attr_egenskaber", "brugervendtnoegle", "k.reg")+`, `+
		attr("klasse", "attr_egenskaber", "titel", "k.reg")+`, `+attr("klasse", "attr_egenskaber", "omfang", "k.reg")+` FROM cur_klasse k`, 4) {
		classes[row[0]] = [3]string{row[1], row[2], row[3]}
	}
	systems := map[string]string{}
	for _, row := range queryRows(t, pool, oracleCTE("itsystem")+` SELECT s.uuid, `+attr("itsystem", "attr_egenskaber", "brugervendtnoegle", "s.reg")+` FROM cur_itsystem s`, 2) {
		systems[row[0]] = row[1]
	}
	mu := map[string]oUnit{}
	for _, row := range queryRows(t, pool, oracleCTE("organisationenhed")+` SELECT e.uuid, `+attr("organisationenhed", "attr_egenskaber", "enhedsnavn", "e.reg")+`, `+
		rel("organisationenhed", "overordnet", "e.reg", "")+`, `+rel("organisationenhed", "opmærkning", "e.reg", "")+`, `+
		rel("organisationenhed", "niveau", "e.reg", "")+`, `+rel("organisationenhed", "enhedstype", "e.reg", "")+` FROM cur_organisationenhed e`, 6) {
		mu[row[0]] = oUnit{row[1], row[2], row[3], row[4], row[5]}
	}
	persons := map[string]string{}
	for _, row := range queryRows(t, pool, oracleCTE("bruger")+` SELECT b.uuid, `+attr("bruger", "attr_udvidelser", "fornavn", "b.reg")+`, `+
		attr("bruger", "attr_udvidelser", "efternavn", "b.reg")+` FROM cur_bruger b`, 3) {
		persons[row[0]] = strings.TrimSpace(row[1] + " " + row[2])
	}
	fn := func(name string) string {
		return attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "f.reg") + ` = '` + name + `'`
	}
	var its []oITUser
	for _, row := range queryRows(t, pool, oracleCTE("organisationfunktion")+` SELECT f.uuid, `+fnRel("tilknyttedeitsystemer", "")+`, `+
		attr("organisationfunktion", "attr_egenskaber", "brugervendtnoegle", "f.reg")+`, `+attr("organisationfunktion", "attr_udvidelser", "udvidelse_1", "f.reg")+`, `+
		fnRel("tilknyttedebrugere", "")+`, `+fnRel("tilknyttedeenheder", "")+`,
		(SELECT string_agg(x.rel_maal_uuid::text, ',' ORDER BY x.rel_maal_uuid) FROM actual_state.organisationfunktion_relation x
		 WHERE x.organisationfunktion_registrering_id = f.reg AND x.rel_type = 'tilknyttedefunktioner' AND x.objekt_type = 'engagement' AND (x.virkning).timeperiod @> now())
		FROM cur_organisationfunktion f WHERE `+fn("IT-system"), 7) {
		var engs []string
		if row[6] != "" {
			engs = strings.Split(row[6], ",")
		}
		its = append(its, oITUser{row[0], row[1], row[2], row[3], row[4], row[5], engs})
	}
	var addrs []oAddress
	for _, row := range queryRows(t, pool, oracleCTE("organisationfunktion")+` SELECT f.uuid, `+fnRel("organisatoriskfunktionstype", "")+`, `+
		fnRel("adresser", "")+`, `+fnRel("opgaver", "")+`, `+fnRel("tilknyttedefunktioner", "it")+`, `+fnRel("tilknyttedeenheder", "")+`
		FROM cur_organisationfunktion f WHERE `+fn("Adresse")+` ORDER BY f.uuid`, 6) {
		v := row[2]
		for _, p := range mo.AddressPrefixes {
			v = strings.TrimPrefix(v, p)
		}
		addrs = append(addrs, oAddress{row[0], row[1], v, row[3], row[4], row[5]})
	}
	// Engagements valid now or later: their state at the start of the
	// first active period that has not ended, and their earliest start.
	engs := map[string]oEngagement{}
	for _, row := range queryRows(t, pool, `WITH regs AS (
		SELECT r.id AS reg, r.organisationfunktion_id::text AS uuid FROM actual_state.organisationfunktion_registrering r
		WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet'
		  AND EXISTS (SELECT 1 FROM actual_state.organisationfunktion_attr_egenskaber a WHERE a.organisationfunktion_registrering_id = r.id AND a.funktionsnavn = 'Engagement')),
	  periods AS (SELECT g.uuid, g.reg, (t.virkning).timeperiod AS p FROM regs g JOIN actual_state.organisationfunktion_tils_gyldighed t
		ON t.organisationfunktion_registrering_id = g.reg WHERE t.gyldighed = 'Aktiv'),
	  eff AS (SELECT DISTINCT ON (uuid) uuid, reg, greatest(lower(p), now()) AS at FROM periods WHERE upper(p) > now() ORDER BY uuid, lower(p)),
	  first AS (SELECT uuid, min(lower(p)) AS start FROM periods GROUP BY uuid)
	SELECT eff.uuid, `+fkRelAt("tilknyttedebrugere", "eff.reg", "", "eff.at")+`, `+fkRelAt("tilknyttedeenheder", "eff.reg", "", "eff.at")+`, `+
		fkRelAt("opgaver", "eff.reg", "", "eff.at")+`, `+fkAt("organisationfunktion", "attr_udvidelser", "udvidelse_3", "eff.reg", "eff.at")+`,
		CASE WHEN first.start = '-infinity' THEN NULL ELSE to_char(first.start AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD') END
	FROM eff JOIN first USING (uuid)`, 6) {
		engs[row[0]] = oEngagement{row[1], row[2], row[3], row[4], row[5]}
	}

	fkSys := ""
	for u, k := range systems {
		if strings.EqualFold(k, "FK-ORG") {
			fkSys = u
		}
	}
	unitFK := map[string]string{}
	hasFK := map[string]bool{}
	for _, it := range its {
		if it.system == fkSys && it.unit != "" {
			hasFK[it.unit] = true
			if k := strings.ToLower(it.userKey); isUUIDish(k) && (unitFK[it.unit] == "" || it.uuid < unitFK[it.unit+"/it"]) {
				unitFK[it.unit], unitFK[it.unit+"/it"] = k, it.uuid
			}
		}
	}
	fk := func(u string) string {
		if f := unitFK[u]; f != "" {
			return f
		}
		return u
	}
	relevant := map[string]bool{}
	var isRel func(u string, depth int) bool
	isRel = func(u string, depth int) bool {
		if v, ok := relevant[u]; ok {
			return v
		}
		x, ok := mu[u]
		res := false
		switch {
		case !ok || depth > 64:
		case u == r.top:
			res = true
		case x.parent == "" || r.excluded[u] || !isRel(x.parent, depth+1):
		case hasFK[u]:
			res = true
		default:
			res = r.labels[classes[x.label][1]] && !r.levels[classes[x.level][0]]
		}
		relevant[u] = res
		return res
	}
	units = map[string]fkWant{}
	for u, x := range mu {
		if !isRel(u, 0) {
			continue
		}
		w := fkWant{unitName: x.name, extra: map[string]string{}}
		if u != r.top {
			w.parent = fk(x.parent)
		}
		for _, a := range addrs { // by uuid: the last one of a field wins
			if a.unit != u {
				continue
			}
			c := classes[a.typ]
			switch c[2] {
			case "EMAIL":
				w.email = a.value
			case "PHONE":
				w.phone = a.value
			case "DAR":
				if c[0] != "Contact" && c[0] != "Location" {
					w.extra["Post"] = a.value
				}
			case "EAN":
				w.extra["Ean"] = a.value
			case "PNUMBER":
				w.extra["PNR"] = a.value
			case "WWW":
				w.extra["Url"] = a.value
			}
		}
		units[fk(u)] = w
	}
	users = map[string]fkWant{}
	for _, it := range its {
		if !strings.EqualFold(systems[it.system], "AD") || it.person == "" || it.external == "" {
			continue
		}
		uuid := it.external
		var fkIDs []string
		for _, f := range its {
			if f.system == fkSys && f.person == it.person && f.userKey == it.external {
				fkIDs = append(fkIDs, f.external)
			}
		}
		if len(fkIDs) == 1 && fkIDs[0] != "" {
			uuid = fkIDs[0]
		}
		uuid = strings.ToLower(uuid)
		if dbg := os.Getenv("MOCDC_FK_DEBUG"); dbg != "" && (dbg == uuid || dbg == it.userKey) {
			for _, e := range it.engagements {
				en, ok := engs[e]
				t.Logf("debug %s: engagement %s found=%v %+v unit relevant=%v unit=%+v", uuid, e, ok, en, isRel(en.unit, 0), mu[en.unit])
				for u, d := en.unit, 0; u != "" && d < 10; d++ {
					x := mu[u]
					t.Logf("debug   %s %q label %q level %q relevant %v excluded %v fk %v top %v", u, x.name, classes[x.label][1], classes[x.level][0], relevant[u], r.excluded[u], hasFK[u], u == r.top)
					u = x.parent
				}
			}
			t.Logf("debug %s: it user %+v", uuid, it)
			os.Unsetenv("MOCDC_FK_DEBUG")
		}
		w := fkWant{userID: it.userKey, name: persons[it.person], positions: map[string]bool{}}
		for _, e := range it.engagements {
			en, ok := engs[e]
			if !ok || !isRel(en.unit, 0) {
				continue
			}
			title := en.ext3
			if title == "" {
				title = classes[en.job][1]
			}
			if title == "" {
				continue
			}
			w.positions[title+"|"+fk(en.unit)+"|"+en.start] = true
		}
		if len(w.positions) == 0 || w.name == "" {
			continue
		}
		var emails, phones []oAddress
		for _, a := range addrs {
			if a.ituser != it.uuid || (a.visibility != "" && classes[a.visibility][2] != "PUBLIC") {
				continue
			}
			switch classes[a.typ][2] {
			case "EMAIL":
				emails = append(emails, a)
			case "PHONE":
				phones = append(phones, a)
			}
		}
		if len(emails) > 0 {
			w.email = emails[0].value
		}
		if len(phones) > 0 {
			w.phone = phones[0].value
		}
		users[uuid] = w
	}
	return units, users
}

func isUUIDish(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
