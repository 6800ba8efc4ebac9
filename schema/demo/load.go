package demo

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// LoadCatalog reads the catalog of the MO store pool points at, as of day
// today (zero: now): every object whose open registration is not deleted
// and that is valid on some day. Where an object's fields change over
// validity time it takes the values valid today, or else the latest ones.
// It only reads; it works on any store that Init created, seeded or not.
func LoadCatalog(ctx context.Context, pool *pgxpool.Pool, todayAt time.Time) (*Catalog, error) {
	l := &loader{db: pool, at: today(todayAt)}
	cat, err := l.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: load catalog: %w", err)
	}
	return cat, nil
}

type loader struct {
	db *pgxpool.Pool
	at time.Time
}

// relv is one relation row's target.
type relv struct{ uuid, objektType string }

// loaded is one object as the loader sees it: its active span (epoch
// seconds, ±Inf for open) and the attribute and relation values chosen.
type loaded struct {
	uuid     string
	from, to float64
	active   bool
	attrs    map[string]scored
	rels     map[string]scoredRels
}

type scored struct {
	score float64
	v     string
}

type scoredRels struct {
	score float64
	vs    []relv
}

func (o *loaded) attr(k string) string { return o.attrs[k].v }

func (o *loaded) rel(kind string) string {
	if vs := o.rels[kind].vs; len(vs) > 0 {
		return vs[0].uuid
	}
	return ""
}

func (o *loaded) relsOf(kind, objektType string) []string {
	var out []string
	for _, v := range o.rels[kind].vs {
		if objektType == "" || v.objektType == objektType {
			out = append(out, v.uuid)
		}
	}
	sort.Strings(out)
	return out
}

func (o *loaded) span() Span {
	s := Span{UUID: o.uuid}
	if !math.IsInf(o.from, -1) {
		d := mo.DateOf(epoch(o.from))
		s.From = &d
	}
	if !math.IsInf(o.to, 1) {
		d := mo.DateOf(epoch(o.to).Add(-time.Nanosecond))
		s.To = &d
	}
	return s
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).In(mo.Location)
}

const epochOf = "extract(epoch from lower((x.virkning).timeperiod))::float8"

// class reads the current state of every object of class c: the attribute
// columns cols of each attribute table and the relation kinds rels.
func (l *loader) class(ctx context.Context, c *lora.Class, attrs map[string][]string, rels []string) (map[string]*loaded, error) {
	s := lora.Schema + "."
	cur := fmt.Sprintf(`WITH cur AS (
    SELECT r.id, r.%s AS obj FROM %s%s r
     WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet')
`, c.ObjectFK(), s, c.RegistreringTable())
	objs := map[string]*loaded{}
	get := func(u string) *loaded {
		o := objs[u]
		if o == nil {
			o = &loaded{uuid: u, from: math.Inf(1), to: math.Inf(-1), attrs: map[string]scored{}, rels: map[string]scoredRels{}}
			objs[u] = o
		}
		return o
	}
	q := cur + fmt.Sprintf(`SELECT r.obj::text,
       min(extract(epoch from lower((x.virkning).timeperiod)))::float8,
       max(extract(epoch from upper((x.virkning).timeperiod)))::float8
  FROM cur r JOIN %s%s x ON x.%s = r.id
 WHERE x.%s = '%s' GROUP BY r.obj`, s, c.TilsTable(), c.RegistreringFK(), quoteIdent(c.Tils), c.ActiveValue())
	var u string
	var lo, hi float64
	if err := l.each(ctx, q, nil, []any{&u, &lo, &hi}, func() {
		o := get(u)
		o.from, o.to, o.active = lo, hi, true
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", c.TilsTable(), err)
	}

	for table, cols := range attrs {
		sel := make([]string, len(cols))
		vals := make([]*string, len(cols))
		dest := []any{&u, &lo, new(bool)}
		for i, col := range cols {
			sel[i] = fmt.Sprintf("x.%s::text", quoteIdent(col))
			vals[i] = new(string)
			dest = append(dest, &vals[i])
		}
		covers := dest[2].(*bool)
		q := cur + fmt.Sprintf(`SELECT r.obj::text, %s, (x.virkning).timeperiod @> $1::timestamptz, %s
  FROM cur r JOIN %s%s x ON x.%s = r.id`, epochOf, strings.Join(sel, ", "), s, table, c.RegistreringFK())
		if err := l.each(ctx, q, []any{l.at}, dest, func() {
			o := get(u)
			score := score(lo, *covers)
			for i, col := range cols {
				if cur, ok := o.attrs[col]; ok && cur.score > score {
					continue
				}
				v := ""
				if vals[i] != nil {
					v = *vals[i]
				}
				o.attrs[col] = scored{score: score, v: v}
			}
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
	}

	if len(rels) > 0 {
		var kind, target, ot string
		var covers bool
		q := cur + fmt.Sprintf(`SELECT r.obj::text, %s, (x.virkning).timeperiod @> $1::timestamptz,
       x.rel_type::text, coalesce(x.rel_maal_uuid::text, ''), coalesce(x.objekt_type, '')
  FROM cur r JOIN %s%s x ON x.%s = r.id
 WHERE x.rel_type::text = ANY($2)`, epochOf, s, c.RelationTable(), c.RegistreringFK())
		if err := l.each(ctx, q, []any{l.at, rels}, []any{&u, &lo, &covers, &kind, &target, &ot}, func() {
			o := get(u)
			sc := score(lo, covers)
			cur, ok := o.rels[kind]
			switch {
			case !ok || sc > cur.score:
				o.rels[kind] = scoredRels{score: sc, vs: []relv{{target, ot}}}
			case sc == cur.score:
				cur.vs = append(cur.vs, relv{target, ot})
				o.rels[kind] = cur
			}
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", c.RelationTable(), err)
		}
	}
	for k, o := range objs {
		if !o.active {
			delete(objs, k)
		}
	}
	return objs, nil
}

// score ranks a row for "the value of today, else the latest".
func score(lower float64, covers bool) float64 {
	if covers {
		return math.Inf(1)
	}
	return lower
}

func (l *loader) each(ctx context.Context, q string, args []any, dest []any, fn func()) error {
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, func() error { fn(); return nil })
	return err
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

func sorted(m map[string]*loaded) []*loaded {
	out := make([]*loaded, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uuid < out[j].uuid })
	return out
}

func (l *loader) load(ctx context.Context) (*Catalog, error) {
	cat := &Catalog{Facets: map[string]string{}, Classes: map[string][]Class{}, ITSystems: map[string]string{}}
	var a Actor
	if err := l.each(ctx, "SELECT actor::text, name FROM "+lora.Schema+"."+lora.ActorTable+" ORDER BY name, actor", nil,
		[]any{&a.UUID, &a.Name}, func() { cat.Actors = append(cat.Actors, a) }); err != nil {
		return nil, fmt.Errorf("actors: %w", err)
	}
	var parts []string
	for _, c := range lora.Classes {
		parts = append(parts, fmt.Sprintf("(SELECT count(*) FROM %s.%s)", lora.Schema, c.RegistreringTable()))
	}
	if err := l.db.QueryRow(ctx, "SELECT "+strings.Join(parts, " + ")).Scan(&cat.Registrations); err != nil {
		return nil, fmt.Errorf("count registrations: %w", err)
	}

	orgs, err := l.class(ctx, lora.Organisation, map[string][]string{lora.Organisation.EgenskaberTable(): {"brugervendtnoegle"}}, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range sorted(orgs) {
		cat.Organisation = o.uuid
		break
	}
	fs, err := l.class(ctx, lora.Facet, map[string][]string{lora.Facet.EgenskaberTable(): {"brugervendtnoegle"}}, nil)
	if err != nil {
		return nil, err
	}
	facetKey := map[string]string{}
	for _, o := range sorted(fs) {
		cat.Facets[o.attr("brugervendtnoegle")] = o.uuid
		facetKey[o.uuid] = o.attr("brugervendtnoegle")
	}
	ks, err := l.class(ctx, lora.Klasse, map[string][]string{lora.Klasse.EgenskaberTable(): {"brugervendtnoegle", "titel", "omfang"}}, []string{"facet"})
	if err != nil {
		return nil, err
	}
	for _, o := range sorted(ks) {
		f := facetKey[o.rel("facet")]
		cat.Classes[f] = append(cat.Classes[f], Class{UUID: o.uuid, UserKey: o.attr("brugervendtnoegle"), Name: o.attr("titel"), Scope: o.attr("omfang")})
	}
	its, err := l.class(ctx, lora.Itsystem, map[string][]string{lora.Itsystem.EgenskaberTable(): {"brugervendtnoegle"}}, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range sorted(its) {
		cat.ITSystems[o.attr("brugervendtnoegle")] = o.uuid
	}
	ps, err := l.class(ctx, lora.Bruger, map[string][]string{lora.Bruger.UdvidelserTable(): {"fornavn", "efternavn"}}, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range sorted(ps) {
		cat.Persons = append(cat.Persons, Person{Span: o.span(), GivenName: o.attr("fornavn"), Surname: o.attr("efternavn")})
	}
	us, err := l.class(ctx, lora.Organisationenhed, map[string][]string{lora.Organisationenhed.EgenskaberTable(): {"brugervendtnoegle", "enhedsnavn"}}, []string{"overordnet"})
	if err != nil {
		return nil, err
	}
	for _, o := range sorted(us) {
		parent := o.rel("overordnet")
		if _, isUnit := us[parent]; !isUnit {
			parent = ""
		}
		cat.Units = append(cat.Units, Unit{Span: o.span(), UserKey: o.attr("brugervendtnoegle"), Name: o.attr("enhedsnavn"), Parent: parent})
	}
	setLevels(cat.Units)
	return cat, l.functions(ctx, cat)
}

// setLevels computes each unit's depth from its parents.
func setLevels(units []Unit) {
	parent := make(map[string]string, len(units))
	for _, u := range units {
		parent[u.UUID] = u.Parent
	}
	for i := range units {
		n := 0
		for p := units[i].Parent; p != "" && n <= len(units); p = parent[p] {
			n++
		}
		units[i].Level = n
	}
}

func (l *loader) functions(ctx context.Context, cat *Catalog) error {
	c := lora.Organisationfunktion
	fs, err := l.class(ctx, c, map[string][]string{c.EgenskaberTable(): {"brugervendtnoegle", "funktionsnavn"}},
		[]string{"tilknyttedebrugere", "tilknyttedeenheder", "tilknyttedeitsystemer", "tilknyttedefunktioner",
			"organisatoriskfunktionstype", "opgaver", "adresser"})
	if err != nil {
		return err
	}
	for _, o := range sorted(fs) {
		s := o.span()
		spec := mo.SpecOfFunktionsnavn(o.attr("funktionsnavn"))
		if spec == nil {
			continue
		}
		switch spec.Type {
		case mo.Engagement:
			cat.Engagements = append(cat.Engagements, Engagement{Span: s, Person: o.rel("tilknyttedebrugere"),
				Unit: o.rel("tilknyttedeenheder"), JobFunction: o.rel("opgaver")})
		case mo.ITUser:
			cat.ITUsers = append(cat.ITUsers, ITUser{Span: s, UserKey: o.attr("brugervendtnoegle"),
				ITSystem: o.rel("tilknyttedeitsystemer"), Person: o.rel("tilknyttedebrugere"),
				Engagements: o.relsOf("tilknyttedefunktioner", "engagement")})
		case mo.Manager:
			cat.Managers = append(cat.Managers, Manager{Span: s, Unit: o.rel("tilknyttedeenheder"), Person: o.rel("tilknyttedebrugere")})
		case mo.Address:
			a := Address{Span: s, AddressType: o.rel("organisatoriskfunktionstype"),
				Person: o.rel("tilknyttedebrugere"), Unit: o.rel("tilknyttedeenheder")}
			if vs := o.rels["adresser"].vs; len(vs) > 0 {
				a.Scope = vs[0].objektType
			}
			if e := o.relsOf("tilknyttedefunktioner", "engagement"); len(e) > 0 {
				a.Engagement = e[0]
			}
			if it := o.relsOf("tilknyttedefunktioner", "it"); len(it) > 0 {
				a.ITUser = it[0]
			}
			cat.Addresses = append(cat.Addresses, a)
		case mo.Association:
			cat.Associations = append(cat.Associations, s)
		case mo.Leave:
			cat.Leaves = append(cat.Leaves, s)
		case mo.KLE:
			cat.KLEs = append(cat.KLEs, s)
		case mo.RelatedUnit:
			cat.RelatedUnits = append(cat.RelatedUnits, s)
		case mo.RoleBinding:
			cat.RoleBindings = append(cat.RoleBindings, s)
		case mo.Owner:
			cat.Owners = append(cat.Owners, s)
		}
	}
	return nil
}
