package mirror

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// workload is a municipality that keeps changing (renames, moves, new
// managers, engagements moving and ending, classes renamed) with its own
// plain model of what the mirror's tables must then hold. The model is
// written independently of the mirror's code: maps walked by hand.
type workload struct {
	rnd         *rand.Rand
	units       map[string]*wUnit
	persons     map[string]*wPerson
	engagements map[string]*wEngagement
	managers    map[string]*wManager
	jobs        map[string]string // job class → name
	primaries   map[string]int    // primary class → scope
	n           int
}

type wUnit struct{ name, parent string }
type wPerson struct{ given, surname string }
type wEngagement struct{ person, unit, job, primary string }
type wManager struct{ unit, person string }

const wFrom = "2020-01-01"

func newWorkload(seed uint64) *workload {
	return &workload{rnd: rand.New(rand.NewPCG(seed, 7)), units: map[string]*wUnit{}, persons: map[string]*wPerson{},
		engagements: map[string]*wEngagement{}, managers: map[string]*wManager{}, jobs: map[string]string{}, primaries: map[string]int{}}
}

func (w *workload) next(kind int) string { w.n++; return id(kind, w.n) }

func (w *workload) classMsg(uuid, name, scope, userKey string) msg {
	f := map[string]any{"user_key": userKey, "name": name}
	if scope != "" {
		f["scope"] = scope
	}
	return put(event.Snapshot, obj(mo.Class, uuid, ver("", "", f)))
}

func (w *workload) unitMsg(u string) msg {
	x := w.units[u]
	f := map[string]any{"user_key": "bvn-" + u[len(u)-3:], "name": x.name}
	if x.parent != "" {
		f["parent"] = x.parent
	}
	return put(event.Update, obj(mo.OrgUnit, u, ver(wFrom, "", f)))
}

func (w *workload) personMsg(p string) msg {
	x := w.persons[p]
	return put(event.Update, obj(mo.Person, p, ver(wFrom, "", map[string]any{"user_key": p[len(p)-4:], "given_name": x.given, "surname": x.surname})))
}

func (w *workload) engagementMsg(e string) msg {
	x := w.engagements[e]
	f := map[string]any{"user_key": e[len(e)-4:], "person": x.person, "org_unit": x.unit, "job_function": x.job}
	if x.primary != "" {
		f["primary"] = x.primary
	}
	return put(event.Update, obj(mo.Engagement, e, ver(wFrom, "", f)))
}

func (w *workload) managerMsg(m string) msg {
	x := w.managers[m]
	f := map[string]any{"user_key": m[len(m)-4:], "org_unit": x.unit}
	if x.person != "" {
		f["person"] = x.person
	}
	return put(event.Update, obj(mo.Manager, m, ver(wFrom, "", f)))
}

var danishNames = []string{"Åse", "Ærø", "Søren", "Bjørn", "Øjvind", "Mette", "Jens", "Hanne", "Kåre", "Læsø", "Birthe", "Æbelø"}

func (w *workload) name() string {
	return danishNames[w.rnd.IntN(len(danishNames))] + " " + danishNames[w.rnd.IntN(len(danishNames))]
}

func pick[T any](w *workload, m map[string]T) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[w.rnd.IntN(len(keys))]
}

// seed creates the classes, a three-level unit tree, persons, engagements
// and managers.
func (w *workload) seed(persons, engagements int) []msg {
	var out []msg
	for i, name := range []string{"Lærer", "Pædagog", "Sygeplejerske", "Chef"} {
		c := id(20, i+1)
		w.jobs[c] = name
		out = append(out, w.classMsg(c, name, "", "job"+fmt.Sprint(i)))
	}
	for i, scope := range []int{0, 1000, 3000} {
		c := id(21, i+1)
		w.primaries[c] = scope
		out = append(out, w.classMsg(c, fmt.Sprintf("Primær %d", scope), fmt.Sprint(scope), fmt.Sprintf("p%d", scope)))
	}
	root := w.next(3)
	w.units[root] = &wUnit{name: "Kommune"}
	var level1 []string
	for i := 0; i < 4; i++ {
		u := w.next(3)
		w.units[u] = &wUnit{name: w.name(), parent: root}
		level1 = append(level1, u)
	}
	for i := 0; i < 12; i++ {
		u := w.next(3)
		w.units[u] = &wUnit{name: w.name(), parent: level1[i%4]}
	}
	for u := range w.units {
		out = append(out, w.unitMsg(u))
	}
	for i := 0; i < persons; i++ {
		p := w.next(4)
		w.persons[p] = &wPerson{given: danishNames[i%len(danishNames)], surname: w.name()}
		out = append(out, w.personMsg(p))
	}
	for i := 0; i < engagements; i++ {
		e := w.next(5)
		w.engagements[e] = &wEngagement{person: pick(w, w.persons), unit: pick(w, w.units), job: pick(w, w.jobs), primary: pick(w, w.primaries)}
		out = append(out, w.engagementMsg(e))
	}
	for i := 0; i < 6; i++ {
		m := w.next(6)
		w.managers[m] = &wManager{unit: pick(w, w.units), person: pick(w, w.persons)}
		out = append(out, w.managerMsg(m))
	}
	return out
}

// change makes one random change and returns its events.
func (w *workload) change() []msg {
	switch n := w.rnd.IntN(100); {
	case n < 30:
		p := pick(w, w.persons)
		w.persons[p].surname = w.name()
		return []msg{w.personMsg(p)}
	case n < 55:
		e := pick(w, w.engagements)
		x := w.engagements[e]
		switch w.rnd.IntN(3) {
		case 0:
			x.primary = pick(w, w.primaries)
		case 1:
			x.unit = pick(w, w.units)
		default:
			x.person = pick(w, w.persons)
		}
		return []msg{w.engagementMsg(e)}
	case n < 62:
		e := w.next(5)
		w.engagements[e] = &wEngagement{person: pick(w, w.persons), unit: pick(w, w.units), job: pick(w, w.jobs), primary: pick(w, w.primaries)}
		return []msg{w.engagementMsg(e)}
	case n < 68:
		e := pick(w, w.engagements)
		delete(w.engagements, e)
		return del(mo.Engagement, e)
	case n < 76:
		u := pick(w, w.units)
		w.units[u].name = w.name()
		return []msg{w.unitMsg(u)}
	case n < 82: // move a leaf unit under another first-level unit
		u := pick(w, w.units)
		x := w.units[u]
		if x.parent == "" || w.units[x.parent].parent == "" {
			return nil
		}
		var targets []string
		for v, y := range w.units {
			if y.parent != "" && w.units[y.parent].parent == "" {
				targets = append(targets, v)
			}
		}
		sort.Strings(targets)
		x.parent = targets[w.rnd.IntN(len(targets))]
		return []msg{w.unitMsg(u)}
	case n < 90:
		m := pick(w, w.managers)
		w.managers[m].unit = pick(w, w.units)
		if w.rnd.IntN(3) == 0 {
			w.managers[m].person = "" // vacant
		}
		return []msg{w.managerMsg(m)}
	case n < 93:
		m := w.next(6)
		w.managers[m] = &wManager{unit: pick(w, w.units), person: pick(w, w.persons)}
		return []msg{w.managerMsg(m)}
	case n < 95:
		if len(w.managers) < 3 {
			return nil
		}
		m := pick(w, w.managers)
		delete(w.managers, m)
		return del(mo.Manager, m)
	default:
		c := pick(w, w.jobs)
		w.jobs[c] = w.name()
		return []msg{w.classMsg(c, w.jobs[c], "", "job")}
	}
}

// --- what the tables must hold, computed from the model by hand ---

func (w *workload) path(u string) string {
	var names []string
	for u != "" {
		names = append([]string{w.units[u].name}, names...)
		u = w.units[u].parent
	}
	return strings.Join(names, `\`)
}

func (w *workload) leder(u string) string {
	best := ""
	for m, x := range w.managers {
		if x.unit == u && (best == "" || m < best) {
			best = m
		}
	}
	return best
}

func (w *workload) fungerende(u string) string {
	for u != "" {
		if m := w.leder(u); m != "" {
			return m
		}
		u = w.units[u].parent
	}
	return ""
}

func orNull(s string) string {
	if s == "" {
		return N
	}
	return s
}

func (w *workload) expected() map[string][]string {
	out := map[string][]string{}
	for p, x := range w.persons {
		out[tBrugere] = append(out[tBrugere], r(p, x.given, x.surname))
	}
	for u, x := range w.units {
		out[tEnheder] = append(out[tEnheder], r(u, x.name, orNull(x.parent), w.path(u), orNull(w.leder(u)), orNull(w.fungerende(u))))
	}
	for e, x := range w.engagements {
		// OS2mo's is_primary: the engagement's own primary class has
		// scope >= 3000.
		flag := "0"
		if w.primaries[x.primary] >= 3000 {
			flag = "1"
		}
		out[tEngagementer] = append(out[tEngagementer], r(e, x.person, x.unit, w.jobs[x.job], flag))
	}
	for m, x := range w.managers {
		out[tLedere] = append(out[tLedere], r(m, orNull(x.person), x.unit))
	}
	for _, rows := range out {
		sort.Strings(rows)
	}
	return out
}

var workloadViews = map[string][]string{
	tBrugere:      {"uuid", "fornavn", "efternavn"},
	tEnheder:      {"uuid", "navn", "forældreenhed_uuid", "organisatorisk_sti", "leder_uuid", "fungerende_leder_uuid"},
	tEngagementer: {"uuid", "bruger_uuid", "enhed_uuid", "stillingsbetegnelse_titel", "primær_boolean"},
	tLedere:       {"uuid", "bruger_uuid", "enhed_uuid"},
}

// compareWorkload returns how the target differs from the model, or "".
func compareWorkload(t *testing.T, db *sql.DB, d Dialect, want map[string][]string) string {
	var diffs []string
	for table, cols := range workloadViews {
		got := query(t, db, selectSQL(d, table, cols, cols[0]))
		sort.Strings(got)
		if !reflect.DeepEqual(got, want[table]) {
			diffs = append(diffs, describeDiff(table, got, want[table]))
		}
		// No object twice, ever.
		if dup := query(t, db, fmt.Sprintf("SELECT %s FROM %s GROUP BY %s HAVING COUNT(*) > 1", d.Quote("uuid"), d.Quote(table), d.Quote("uuid"))); len(dup) > 0 {
			diffs = append(diffs, fmt.Sprintf("table %s has duplicate rows for %v", table, dup))
		}
	}
	return strings.Join(diffs, "\n")
}

func describeDiff(table string, got, want []string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, x := range got {
		g[x] = true
	}
	for _, x := range want {
		w[x] = true
	}
	var missing, extra []string
	for _, x := range want {
		if !g[x] {
			missing = append(missing, x)
		}
	}
	for _, x := range got {
		if !w[x] {
			extra = append(extra, x)
		}
	}
	const show = 5
	if len(missing) > show {
		missing = append(missing[:show], "…")
	}
	if len(extra) > show {
		extra = append(extra[:show], "…")
	}
	return fmt.Sprintf("table %s: %d rows, want %d\n missing: %s\n unexpected: %s", table, len(got), len(want),
		strings.Join(missing, "\n          "), strings.Join(extra, "\n             "))
}

func waitWorkload(t *testing.T, db *sql.DB, d Dialect, w *workload, within time.Duration) {
	t.Helper()
	want := w.expected()
	deadline := time.Now().Add(within)
	for {
		diff := compareWorkload(t, db, d, want)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirror tables differ from the model:\n%s", diff)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
