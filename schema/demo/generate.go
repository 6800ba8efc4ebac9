package demo

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// item is one object the generator wants created.
type item struct {
	typ      mo.Type
	uuid     string
	validity mo.Validity
	fields   writer.Fields
	meta     store.Meta
	scope    string // the address type's scope, addresses only
}

// generator builds the demo municipality deterministically from a seed and
// hands each object to emit, in an order where every object comes after
// the objects it refers to.
type generator struct {
	seed   int64
	today  time.Time
	ids    *ids
	emit   func(item)
	cat    *Catalog
	counts map[mo.Type]int
	class  map[string]map[string]string // facet → class user_key → uuid
	muni   string
	domain string

	units []*unitGen
	// staffable units, repeated by weight, for placing engagements
	staffable []int
	persons   []*personGen
}

type unitGen struct {
	uuid, name, userKey string
	parent              int // -1 for the top unit
	level, cat          int
	from                time.Time
	to                  *time.Time // last day, nil open
	label               string
	staff               []staffRef // a few live engagements, for managers
}

type staffRef struct {
	person int
	eng    string
	from   time.Time
}

type personGen struct {
	uuid              string
	given, surname    string
	birth             time.Time
	engs              []engGen
	ad                string // uuid of the AD IT user, "" for none
	adFrom            time.Time
	unit              int // unit of the primary engagement
	alive             bool
	firstDay, lastDay time.Time // span of the engagements; lastDay zero = open
}

type engGen struct {
	uuid     string
	unit     int
	from     time.Time
	to       *time.Time
	employee string
}

func newGenerator(seed int64, today time.Time, emit func(item)) *generator {
	g := &generator{
		seed:   seed,
		today:  today,
		ids:    newIDs(fmt.Sprintf("seed/%d", seed)),
		emit:   nil,
		counts: map[mo.Type]int{},
		class:  map[string]map[string]string{},
		cat: &Catalog{
			Organisation: Organisation,
			Actors:       append([]Actor(nil), Actors...),
			Facets:       map[string]string{},
			Classes:      map[string][]Class{},
			ITSystems:    map[string]string{},
		},
	}
	g.emit = func(it item) {
		g.counts[it.typ]++
		emit(it)
	}
	r := g.rng("municipality")
	g.muni = municipalityNames[r.IntN(len(municipalityNames))]
	g.domain = asciiFold(g.muni) + ".dk"
	return g
}

// rng returns the random source of one phase, so that a change to one phase
// does not shift the values of the others.
func (g *generator) rng(phase string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(phase))
	return rand.New(rand.NewPCG(uint64(g.seed), h.Sum64()))
}

func (g *generator) cls(facet, userKey string) string {
	u, ok := g.class[facet][userKey]
	if !ok {
		panic(fmt.Sprintf("demo: no class %s/%s", facet, userKey))
	}
	return u
}

func (g *generator) pick(r *rand.Rand, facet string) string {
	ks := g.cat.Classes[facet]
	return ks[r.IntN(len(ks))].UUID
}

func meta(actor string) store.Meta {
	return store.Meta{Actor: actor, Note: writer.NoteCreate, Lifecycle: lora.Opstaaet}
}

func from(t time.Time) mo.Validity { return mo.Validity{From: date(t)} }

func fromTo(a time.Time, b *time.Time) mo.Validity {
	v := mo.Validity{From: date(a)}
	if b != nil {
		v.To = date(*b)
	}
	return v
}

func span(uuid string, v mo.Validity) Span { return Span{UUID: uuid, From: v.From, To: v.To} }

// run generates everything for n persons.
func (g *generator) run(n int) {
	g.classification()
	g.orgUnits(n)
	g.people(n)
	g.unitAddresses()
	g.managers()
	g.associations()
	g.kle()
	g.relatedUnits()
	g.owners()
}

func (g *generator) classification() {
	imp := store.Meta{Actor: ActorOS2moInit, Note: "Importeret", Lifecycle: lora.Importeret}
	g.emit(item{typ: mo.Organisation, uuid: Organisation, meta: imp, fields: writer.Fields{
		"user_key": asciiFold(g.muni) + "-kommune", "name": g.muni + " Kommune"}})
	for _, f := range facets {
		fu := FacetUUID(f.UserKey)
		g.cat.Facets[f.UserKey] = fu
		g.class[f.UserKey] = map[string]string{}
		g.emit(item{typ: mo.Facet, uuid: fu, meta: imp, fields: writer.Fields{
			"user_key": f.UserKey, "description": f.Description}})
		for _, c := range f.Classes {
			cu := ClassUUID(f.UserKey, c.UserKey)
			g.class[f.UserKey][c.UserKey] = cu
			g.cat.Classes[f.UserKey] = append(g.cat.Classes[f.UserKey], Class{UUID: cu, UserKey: c.UserKey, Name: c.Name, Scope: c.Scope})
			fs := writer.Fields{"user_key": c.UserKey, "name": c.Name, "facet": fu}
			if c.Scope != "" {
				fs["scope"] = c.Scope
			}
			g.emit(item{typ: mo.Class, uuid: cu, meta: imp, fields: fs})
		}
	}
	for _, s := range itsystems {
		u := ITSystemUUID(s.UserKey)
		g.cat.ITSystems[s.UserKey] = u
		g.emit(item{typ: mo.ITSystem, uuid: u, meta: imp, fields: writer.Fields{
			"user_key": s.UserKey, "name": s.Name, "system_type": s.Type}})
	}
}

// orgUnits builds a tree at least six levels high (top unit, forvaltninger,
// afdelinger, institutions, teams, sub-teams): about one unit per 20
// persons, at least 12.
func (g *generator) orgUnits(persons int) {
	r := g.rng("units")
	total := max(12, (persons+10)/20)
	l1 := min(max(3, total/40), len(categories))
	l2 := max(l1, total/100)
	rest := total - 1 - l1 - l2
	l3 := max(1, rest*2/5)
	l4 := max(1, rest*2/5)
	l5 := max(1, rest-l3-l4)
	perLevel := []int{1, l1, l2, l3, l4, l5}
	unitTypes := []string{"kommune", "forvaltning", "afdeling", "institution", "team", "sektion"}
	start := time.Date(2010, 1, 1, 0, 0, 0, 0, mo.Location)

	depts := map[int]int{}
	var prev []int
	for level, count := range perLevel {
		var cur []int
		for i := 0; i < count; i++ {
			u := &unitGen{parent: -1, level: level, from: start, label: "linjeorg"}
			if level > 0 {
				// Every unit of the level above gets a child before any gets a
				// second, so the tree is as deep as the levels say.
				pi := prev[i%len(prev)]
				if i >= len(prev) {
					pi = prev[r.IntN(len(prev))]
				}
				p := g.units[pi]
				u.parent, u.cat = pi, p.cat
				if level == 1 {
					u.cat = i % len(categories)
				}
				u.label = p.label
				u.from = p.from
				if level >= 3 {
					// most units are old; a few were set up lately
					last := addDays(g.today, -400)
					if r.IntN(4) > 0 {
						last = p.from.Add(last.Sub(p.from) / 3)
					}
					u.from = between(r, p.from, day(last))
				}
			}
			c := categories[u.cat]
			switch level {
			case 0:
				u.name = g.muni + " Kommune"
			case 1:
				u.name = c.Name
			case 2:
				k := depts[u.cat]
				depts[u.cat]++
				u.name = c.Departments[k%len(c.Departments)]
				if k >= len(c.Departments) {
					u.name += " " + []string{"Nord", "Syd", "Øst", "Vest"}[(k/len(c.Departments)-1)%4]
				}
			case 3:
				pat := c.Institutions[r.IntN(len(c.Institutions))]
				u.name = replacePlace(pat, places[r.IntN(len(places))])
				switch x := r.IntN(100); {
				case x < 12:
					u.label = "selvejet"
				case x < 15:
					u.label = "skjult"
				case x < 22:
					u.label = "" // not labelled (NA)
				}
			case 4:
				u.name = c.Teams[r.IntN(len(c.Teams))]
			default:
				u.name = c.Subteams[r.IntN(len(c.Subteams))]
			}
			if level >= 4 && r.IntN(100) < 2 {
				// A unit that opens soon, or one that was closed down.
				if r.IntN(2) == 0 {
					u.from = between(r, addDays(g.today, 10), addDays(g.today, 90))
				} else {
					end := between(r, addDays(u.from, 200), addDays(g.today, -1))
					u.to = &end
				}
			}
			idx := len(g.units)
			u.uuid = g.ids.uuid("org_unit", idx)
			u.userKey = fmt.Sprintf("ENH-%04d", idx+1)
			g.units = append(g.units, u)
			cur = append(cur, idx)

			f := writer.Fields{
				"user_key": u.userKey, "name": u.name,
				"unit_type":      g.cls(FacetOrgUnitType, unitTypes[level]),
				"org_unit_level": g.cls(FacetOrgUnitLevel, fmt.Sprintf("N%d", level+1)),
			}
			if u.parent >= 0 {
				f["parent"] = g.units[u.parent].uuid
			}
			if u.label != "" {
				f["org_unit_hierarchy"] = g.cls(FacetOrgUnitHierarchy, u.label)
			}
			if level >= 3 && r.IntN(100) < 60 {
				f["time_planning"] = g.pick(r, FacetTimePlanning)
			}
			v := fromTo(u.from, u.to)
			g.emit(item{typ: mo.OrgUnit, uuid: u.uuid, validity: v, fields: f, meta: meta(ActorMorten)})
			parent := ""
			if u.parent >= 0 {
				parent = g.units[u.parent].uuid
			}
			g.cat.Units = append(g.cat.Units, Unit{Span: span(u.uuid, v), UserKey: u.userKey, Name: u.name, Parent: parent, Level: level})

			if u.to == nil && !u.from.After(g.today) {
				w := []int{1, 1, 2, 6, 8, 8}[level]
				for k := 0; k < w; k++ {
					g.staffable = append(g.staffable, idx)
				}
			}
		}
		prev = cur
	}
}

func replacePlace(pat, place string) string {
	out := make([]byte, 0, len(pat)+len(place))
	for i := 0; i < len(pat); i++ {
		if pat[i] == '%' {
			out = append(out, place...)
			continue
		}
		out = append(out, pat[i])
	}
	return string(out)
}
