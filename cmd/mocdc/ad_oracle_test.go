package main

import (
	"context"
	"math"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The AD oracle: what each person's AD account must hold, computed from
// the MO store's LoRa tables with plain SQL (current registration, values
// by their own virkning) and the rules of docs/ad.md written out again
// here — independently of capture, of sinks/view and of the sink's code.

// span is a value valid over [from, to) (Unix seconds, ±Inf open).
type span struct {
	from, to float64
	val      string
}

type spans []span

func (s spans) at(t float64) string {
	for _, x := range s {
		if x.from <= t && t < x.to {
			return x.val
		}
	}
	return ""
}

// loraObject is one object's current registration: its active periods and
// its attribute and relation values by name, each with its own virkning.
type loraObject struct {
	uuid   string
	active spans // gyldighed Aktiv
	vals   map[string]spans
}

func (o *loraObject) validAt(t float64) bool { return o.active.at(t) != "" }

// firstFuture is the start of the first active period after t, or NaN.
func (o *loraObject) firstFuture(t float64) float64 {
	best := math.NaN()
	for _, p := range o.active {
		if p.from > t && (math.IsNaN(best) || p.from < best) {
			best = p.from
		}
	}
	return best
}

// loadLora reads the current, not deleted registrations of class with the
// given attribute columns (table.column) and relation kinds
// (kind or kind/objekt_type).
func loadLora(t *testing.T, pool *pgxpool.Pool, class string, attrs map[string]string, rels []string) map[string]*loraObject {
	t.Helper()
	ctx := context.Background()
	out := map[string]*loraObject{}
	byReg := map[int64]*loraObject{}
	rows, err := pool.Query(ctx, `SELECT r.id, r.`+class+`_id::text FROM actual_state.`+class+`_registrering r
		WHERE upper((r.registrering).timeperiod) = 'infinity' AND (r.registrering).livscykluskode <> 'Slettet'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		o := &loraObject{vals: map[string]spans{}}
		if err := rows.Scan(&id, &o.uuid); err != nil {
			t.Fatal(err)
		}
		out[o.uuid], byReg[id] = o, o
	}
	rows.Close()
	scan := func(q string, name func(a, b string) string) {
		rows, err := pool.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			var reg int64
			var a, b, v *string
			var from, to float64
			if err := rows.Scan(&reg, &a, &b, &v, &from, &to); err != nil {
				t.Fatal(err)
			}
			o := byReg[reg]
			if o == nil || v == nil {
				continue
			}
			n := name(deref(a), deref(b))
			if n == "" {
				continue
			}
			o.vals[n] = append(o.vals[n], span{from, to, *v})
		}
	}
	tils, active := "gyldighed", "Aktiv"
	if class == "klasse" || class == "facet" {
		tils, active = "publiceret", "Publiceret"
	}
	rows2, err := pool.Query(ctx, `SELECT `+class+`_registrering_id, extract(epoch from lower((virkning).timeperiod))::float8,
		extract(epoch from upper((virkning).timeperiod))::float8 FROM actual_state.`+class+`_tils_`+tils+` WHERE `+tils+` = '`+active+`'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows2.Next() {
		var reg int64
		var from, to float64
		_ = rows2.Scan(&reg, &from, &to)
		if o := byReg[reg]; o != nil {
			o.active = append(o.active, span{from, to, "x"})
		}
	}
	rows2.Close()
	for name, col := range attrs {
		table, column := tableOf(col)
		scan(`SELECT `+class+`_registrering_id, NULL::text, NULL::text, `+column+`::text, extract(epoch from lower((virkning).timeperiod))::float8,
			extract(epoch from upper((virkning).timeperiod))::float8 FROM actual_state.`+class+`_`+table,
			func(string, string) string { return name })
	}
	if len(rels) > 0 {
		want := map[string]bool{}
		for _, r := range rels {
			want[r] = true
		}
		scan(`SELECT `+class+`_registrering_id, rel_type::text, objekt_type, coalesce(rel_maal_uuid::text, rel_maal_urn),
			extract(epoch from lower((virkning).timeperiod))::float8, extract(epoch from upper((virkning).timeperiod))::float8
			FROM actual_state.`+class+`_relation`, func(kind, ot string) string {
			switch {
			case want[kind+"/"+ot]:
				return kind + "/" + ot
			case want[kind]:
				return kind
			}
			return ""
		})
	}
	return out
}

// tableOf splits "attr_udvidelser.fornavn" into table and column.
func tableOf(col string) (string, string) {
	for i := 0; i < len(col); i++ {
		if col[i] == '.' {
			return col[:i], col[i+1:]
		}
	}
	return col, col
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// adWant is what one person's account must hold.
type adWant struct {
	given, surname, cpr string
	// titles and departments the account may show: exactly one each when
	// the first deciding engagement is unambiguous.
	titles, departments map[string]bool
	enabled             bool
	// checkAttrs is false when the deciding engagements all start later
	// (their values as of their start are not compared).
	checkAttrs bool
	// wanted is false for a person that need not have an account (no
	// current or future deciding engagement).
	wanted bool
}

// adOracle computes the wanted account of every person with a CPR.
func adOracle(t *testing.T, pool *pgxpool.Pool, adSystem string) map[string]*adWant {
	t.Helper()
	now := float64(time.Now().Unix())
	persons := loadLora(t, pool, "bruger", map[string]string{"given": "attr_udvidelser.fornavn", "surname": "attr_udvidelser.efternavn"}, []string{"tilknyttedepersoner"})
	funcs := loadLora(t, pool, "organisationfunktion", map[string]string{"fn": "attr_egenskaber.funktionsnavn"},
		[]string{"tilknyttedebrugere", "tilknyttedeenheder", "opgaver", "primær", "tilknyttedeitsystemer", "tilknyttedefunktioner/engagement"})
	units := loadLora(t, pool, "organisationenhed", map[string]string{"name": "attr_egenskaber.enhedsnavn"}, nil)
	classes := loadLora(t, pool, "klasse", map[string]string{"titel": "attr_egenskaber.titel", "omfang": "attr_egenskaber.omfang"}, nil)
	first := func(o *loraObject, name string, at float64) string { return o.vals[name].at(at) }
	cls := func(uuid, field string) string {
		if c := classes[uuid]; c != nil {
			for _, s := range c.vals[field] {
				return s.val
			}
		}
		return ""
	}
	// An object's values at now if valid now, else at the start of its
	// first future period; ok false when it is neither.
	when := func(o *loraObject) (float64, bool) {
		if o.validAt(now) {
			return now, true
		}
		if f := o.firstFuture(now); !math.IsNaN(f) {
			return f, true
		}
		return 0, false
	}
	engsOf := map[string][]*loraObject{}
	itsOf := map[string][]*loraObject{}
	for _, f := range funcs {
		at, ok := when(f)
		fn := ""
		for _, s := range f.vals["fn"] {
			fn = s.val
		}
		switch fn {
		case "Engagement":
			// Ever: an engagement counts for the fallback even if it ended.
			for _, s := range f.vals["tilknyttedebrugere"] {
				engsOf[s.val] = appendOnce(engsOf[s.val], f)
			}
		case "IT-system":
			if ok && first(f, "tilknyttedeitsystemer", at) == adSystem {
				if p := first(f, "tilknyttedebrugere", at); p != "" {
					itsOf[p] = append(itsOf[p], f)
				}
			}
		}
	}
	out := map[string]*adWant{}
	for uuid, p := range persons {
		cpr := first(p, "tilknyttedepersoner", now)
		if cpr == "" {
			continue
		}
		w := &adWant{given: first(p, "given", now), surname: first(p, "surname", now), titles: map[string]bool{}, departments: map[string]bool{}}
		if len(cpr) > len("urn:dk:cpr:person:") {
			w.cpr = cpr[len("urn:dk:cpr:person:"):]
		}
		// The deciding engagements: the first AD IT user's links (by uuid),
		// else the person's engagements.
		its := itsOf[uuid]
		sort.Slice(its, func(i, j int) bool { return its[i].uuid < its[j].uuid })
		var cands []*loraObject
		if len(its) > 0 {
			it := its[0]
			at, _ := when(it)
			for _, s := range it.vals["tilknyttedefunktioner/engagement"] {
				if s.from <= at && at < s.to && funcs[s.val] != nil {
					cands = append(cands, funcs[s.val])
				}
			}
		}
		if len(cands) == 0 {
			cands = engsOf[uuid]
		}
		var nowEngs, later []*loraObject
		for _, e := range cands {
			switch {
			case e.validAt(now):
				nowEngs = append(nowEngs, e)
			case !math.IsNaN(e.firstFuture(now)):
				later = append(later, e)
			}
		}
		w.enabled = len(nowEngs) > 0
		w.wanted = len(nowEngs)+len(later) > 0
		w.checkAttrs = w.enabled
		primary := func(e *loraObject) bool {
			n, err := strconv.Atoi(cls(first(e, "primær", now), "omfang"))
			return err == nil && n >= 3000
		}
		var prim []*loraObject
		for _, e := range nowEngs {
			if primary(e) {
				prim = append(prim, e)
			}
		}
		pick := nowEngs
		if len(prim) > 0 {
			pick = prim
		}
		for _, e := range pick {
			w.titles[cls(first(e, "opgaver", now), "titel")] = true
			if u := units[first(e, "tilknyttedeenheder", now)]; u != nil {
				w.departments[first(u, "name", now)] = true
			}
		}
		out[uuid] = w
	}
	return out
}

func appendOnce(xs []*loraObject, o *loraObject) []*loraObject {
	for _, x := range xs {
		if x == o {
			return xs
		}
	}
	return append(xs, o)
}
