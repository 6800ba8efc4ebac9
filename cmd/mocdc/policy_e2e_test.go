package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/demo"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/schema/store"
	"github.com/os2mo-cdc/mocdc/schema/writer"
)

// sensitiveClass is one sensitive job function and the strings that must
// never appear next to a person.
type sensitiveClass struct{ uuid, userKey, name string }

var sensitiveClasses = []sensitiveClass{
	{demo.JobFunctionFleksjob, "fleksjob", "Fleksjob"},
	{demo.JobFunctionSkaanejob, "skaanejob", "Skånejob"},
	{demo.JobFunctionLoentilskud, "loentilskud", "Løntilskud"},
}

// titleCase is one row of the export-title truth table, written as an
// engagement of its own person.
type titleCase struct {
	primary, ad, adTitle, sensitive bool
	late                            bool // the AD IT user is created after the snapshot
	person, engagement              string
}

func (c titleCase) want() string {
	if c.primary && c.ad && c.adTitle {
		return "AD-titel " + c.engagement[:8]
	}
	if c.sensitive {
		return " "
	}
	return "Lærer"
}

// TestPolicyEndToEnd: capture with sensitive job functions configured and
// a PostgreSQL mirror scoped to the line organisation (minus one subtree,
// persons only with an engagement inside) run while churn changes the
// store, relabels and moves units. Afterwards (1) no record of any topic,
// no mirror row and no ledger entry carries a sensitive class's uuid,
// name or user_key next to a person, engagement or association; (2) every
// engagement's export title is OS2mo's rule, computed in SQL from the
// store, and the 16 truth-table cases are right; (3) the mirror's tables
// equal the oracle restricted to the units that pass.
func TestPolicyEndToEnd(t *testing.T) {
	ctx := context.Background()
	scopedDSN := testenv.NewPostgresDB(t, "mirror_scope")
	e := newE2E(t, 50, `policy:
  sensitive_job_functions: [fleksjob, skaanejob, `+demo.JobFunctionLoentilskud+`]
  ad_itsystems: [AD]
mirrors:
  - name: scoped
    dialect: postgres
    dsn: `+scopedDSN+`
    mode: actual
    scope:
      labels: [linjeorg]
      exclude: [EXCLUDED]
      persons: true
`)
	// Exclude a small subtree (a unit with 2–6 units in its subtree).
	var excluded, caseUnit string
	if err := e.pool.QueryRow(ctx, oracleCTE("organisationenhed")+`,
		u AS (SELECT e.uuid, `+rel("organisationenhed", "overordnet", "e.reg", "")+` AS parent FROM cur_organisationenhed e),
		d(root, uuid, depth) AS (SELECT uuid, uuid, 0 FROM u UNION ALL SELECT d.root, u.uuid, d.depth + 1 FROM d JOIN u ON u.parent = d.uuid WHERE d.depth < 64)
		SELECT root FROM d GROUP BY root HAVING count(*) BETWEEN 2 AND 6 ORDER BY root LIMIT 1`).Scan(&excluded); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(e.config)
	if err := os.WriteFile(e.config, []byte(strings.Replace(string(raw), "EXCLUDED", excluded, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT r.organisationenhed_id::text FROM actual_state.organisationenhed_registrering r
		WHERE upper((r.registrering).timeperiod) = 'infinity' AND r.organisationenhed_id::text <> $1 ORDER BY 1 LIMIT 1`, excluded).Scan(&caseUnit); err != nil {
		t.Fatal(err)
	}

	w := writer.New(store.NewWriter(e.pool), writer.SQLScopes{DB: e.pool}, demo.Organisation)
	from := mo.Date("2024-01-01")
	always := mo.Validity{From: &from}
	meta := writer.Meta{Actor: demo.ActorMorten, Note: "policy test: Fleksjob-sag"} // a note naming a class
	var cases []*titleCase
	for i := 0; i < 16; i++ {
		c := &titleCase{primary: i&1 != 0, ad: i&2 != 0, adTitle: i&4 != 0, sensitive: i&8 != 0, late: i&1 != 0 && i&2 != 0 && i%3 == 0,
			person: fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", i), engagement: fmt.Sprintf("e0ffee00-0000-4000-8000-%012d", i)}
		cases = append(cases, c)
		if err := w.Create(ctx, mo.Person, c.person, always, writer.Fields{"user_key": fmt.Sprintf("case%d", i), "given_name": "Case", "surname": fmt.Sprint(i),
			"cpr_number": fmt.Sprintf("01019%05d", i)}, meta); err != nil {
			t.Fatal(err)
		}
		f := writer.Fields{"user_key": fmt.Sprintf("E%d", i), "person": c.person, "org_unit": caseUnit,
			"engagement_type": demo.ClassUUID(demo.FacetEngagementType, "ansat"),
			"job_function":    demo.ClassUUID(demo.FacetJobFunction, "laerer"),
			"primary":         demo.ClassUUID(demo.FacetPrimaryType, "non-primary"),
			// A stale export title naming the class: capture must replace it.
			"extension_3": "Fleksjob", "extension_1": "Skånejob hos kommunen"}
		if c.sensitive {
			f["job_function"] = sensitiveClasses[i%len(sensitiveClasses)].uuid
		}
		if c.primary {
			f["primary"] = demo.ClassUUID(demo.FacetPrimaryType, "primary")
		}
		if c.adTitle {
			f["extension_2"] = "AD-titel " + c.engagement[:8]
		}
		if err := w.Create(ctx, mo.Engagement, c.engagement, always, f, meta); err != nil {
			t.Fatal(err)
		}
		if c.ad && !c.late {
			createAD(t, w, c, always, meta)
		}
	}

	// An association with a sensitive job function (bound to an IT user,
	// as OS2mo requires for one) and one with a plain job function.
	assocs := map[string]string{"b0ffee00-0000-4000-8000-000000000001": demo.JobFunctionSkaanejob,
		"b0ffee00-0000-4000-8000-000000000002": demo.ClassUUID(demo.FacetJobFunction, "laerer")}
	for a, jf := range assocs {
		it := "d0ffee00" + a[8:]
		if err := w.Create(ctx, mo.ITUser, it, always, writer.Fields{"user_key": "opus-" + a[:4], "itsystem": demo.ITSystemOPUS, "person": cases[8].person}, meta); err != nil {
			t.Fatal(err)
		}
		if err := w.Create(ctx, mo.Association, a, always, writer.Fields{"user_key": "T" + a[len(a)-1:], "person": cases[8].person, "org_unit": caseUnit,
			"association_type": demo.ClassUUID(demo.FacetAssociationType, "medlem"), "job_function": jf, "it_user": it}, meta); err != nil {
			t.Fatal(err)
		}
	}

	e.spawn("capture", "--config", e.config)
	e.spawn("sink", "mirror", "--config", e.config, "--target", "scoped")
	e.spawn("sink", "ledger", "--config", e.config)
	e.waitSnapshot()
	for _, c := range cases {
		if c.ad && c.late {
			createAD(t, w, c, always, meta) // the engagement's title changes with it
		}
	}
	// An AD IT user that comes and goes again leaves the title as it was.
	gone := cases[5] // primary, AD title, no AD IT user
	goneIT := "a0ffee00-0000-4000-8000-000000000099"
	if err := w.Create(ctx, mo.ITUser, goneIT, always, writer.Fields{"user_key": "gone", "itsystem": demo.ITSystemAD, "person": gone.person}, meta); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, mo.ITUser, goneIT, meta); err != nil {
		t.Fatal(err)
	}
	// The truth table, before churn changes the cases' engagements.
	e.waitCaptured()
	first := readTopics(t, e, false)
	checkExportTitles(t, e, first, cases)
	checkAssociations(t, e, first, assocs)
	before := passingUnits(t, e, excluded)

	if _, err := demo.Churn(ctx, e.pool, demo.ChurnOptions{Seed: 21, Rate: 150, MaxChanges: 700, Workers: 2,
		// No class renames: an engagement's export_title is computed when
		// it changes (as OS2mo's configurator does); the mirror shows
		// renamed classes live, checked below.
		Weights: map[string]int{"unit_label": 40, "unit_move": 30, "eng_job_function": 80, "class_rename": 0}}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitCaptured()

	topics := readTopics(t, e, true)
	checkNoLeaks(t, e, topics)
	checkExportTitles(t, e, topics, nil)
	checkScopedMirror(t, e, scopedDSN, excluded)
	// Churn relabelled and moved units: some left the scope, some came in.
	after := passingUnits(t, e, excluded)
	left, came := 0, 0
	for u := range before {
		if !after[u] {
			left++
		}
	}
	for u := range after {
		if !before[u] {
			came++
		}
	}
	if left == 0 || came == 0 {
		t.Errorf("churn moved %d units out of the scope and %d in: the test did not exercise both", left, came)
	}
	t.Logf("%d units left the scope during churn, %d came in (new ones included)", left, came)
}

func createAD(t *testing.T, w *writer.Writer, c *titleCase, v mo.Validity, meta writer.Meta) {
	t.Helper()
	if err := w.Create(context.Background(), mo.ITUser, "a0ffee00"+c.person[8:], v, writer.Fields{"user_key": "ad-" + c.person[:8],
		"itsystem": demo.ITSystemAD, "person": c.person}, meta); err != nil {
		t.Fatal(err)
	}
}

// readTopics reads every record of every topic of the test's prefix;
// settle waits first for the sinks' topics to stop growing.
func readTopics(t *testing.T, e *e2e, settle bool) map[string][]*kgo.Record {
	t.Helper()
	ctx := context.Background()
	cl, err := kgo.NewClient(e.kafka()...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range listed.Names() {
		if strings.HasPrefix(n, e.prefix+".") {
			names = append(names, n)
		}
	}
	// The ledger builder lags a little: wait until it has caught up
	// (its topic stops growing) before reading.
	ends := func() kadm.ListedOffsets {
		o, err := adm.ListEndOffsets(ctx, names...)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	end := ends()
	for deadline := time.Now().Add(90 * time.Second); settle && time.Now().Before(deadline); {
		time.Sleep(3 * time.Second)
		next := ends()
		same := true
		next.Each(func(o kadm.ListedOffset) {
			if p, ok := end.Lookup(o.Topic, o.Partition); !ok || p.Offset != o.Offset {
				same = false
			}
		})
		end = next
		if same {
			break
		}
	}
	rd, err := kgo.NewClient(append(e.kafka(), kgo.ConsumeTopics(names...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := map[string][]*kgo.Record{}
	pending := map[string]map[int32]int64{}
	end.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if pending[o.Topic] == nil {
				pending[o.Topic] = map[int32]int64{}
			}
			pending[o.Topic][o.Partition] = o.Offset
		}
	})
	done := func() bool {
		for _, ps := range pending {
			if len(ps) > 0 {
				return false
			}
		}
		return true
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !done() {
		fs := rd.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("could not read every topic to its end: %v left", pending)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if !r.Attrs.IsControl() {
					out[r.Topic] = append(out[r.Topic], r)
				}
				if e, ok := pending[r.Topic][r.Partition]; ok && r.Offset >= e-1 {
					delete(pending[r.Topic], r.Partition)
				}
			}
		})
	}
	return out
}

// leak reports the sensitive strings s contains.
func leak(s string) []string {
	l := strings.ToLower(s)
	var out []string
	for _, c := range sensitiveClasses {
		for _, x := range []string{c.uuid, c.userKey, c.name} {
			if strings.Contains(l, strings.ToLower(x)) {
				out = append(out, x)
			}
		}
	}
	return out
}

func checkNoLeaks(t *testing.T, e *e2e, topics map[string][]*kgo.Record) {
	t.Helper()
	tp := event.Topics{Prefix: e.prefix}
	classUUID := map[string]bool{}
	for _, c := range sensitiveClasses {
		classUUID[c.uuid] = true
	}
	total, allowed := 0, 0
	for topic, recs := range topics {
		for _, r := range recs {
			total++
			found := leak(string(r.Key) + " " + string(r.Value))
			if len(found) == 0 {
				continue
			}
			// Where a sensitive class may be named: the class itself
			// (its own event, its ledger write entry, a read of classes),
			// and the snapshot's resume position among the classes.
			var head struct {
				Type  string `json:"type"`
				Model string `json:"model"`
				UUIDs []string
			}
			_ = json.Unmarshal(r.Value, &head)
			switch {
			case topic == tp.Object(mo.Class) && classUUID[string(r.Key)]:
			case topic == tp.Access() && head.Model == "Klasse":
			case topic == tp.Ledger() && (head.Type == "class" || head.Model == "Klasse"):
			case topic == tp.Checkpoint() && !strings.Contains(string(r.Value), "organisationfunktion"):
			default:
				t.Errorf("%s@%d/%d carries %v: %.400s", topic, r.Partition, r.Offset, found, r.Value)
				continue
			}
			allowed++
		}
	}
	if total < 1000 || len(topics[tp.Ledger()]) == 0 || len(topics[tp.Access()]) == 0 {
		t.Errorf("read only %d records (%d ledger, %d access): the test saw too little", total, len(topics[tp.Ledger()]), len(topics[tp.Access()]))
	}
	t.Logf("searched %d records of %d topics; %d name a sensitive class by itself", total, len(topics), allowed)
}

// exportTitleSQL is OS2mo's export-title rule in SQL over the store:
// per current engagement, the AD title when its primary class's scope is
// at least 3000, its person has a current IT user in the AD IT system and
// the AD title (udvidelse_2) is not empty; a blank when its job function
// is sensitive; else the job function's name.
var exportTitleSQL = oracleCTE("organisationfunktion", "klasse") + `,
	eng AS (SELECT f.uuid, ` + rel("organisationfunktion", "tilknyttedebrugere", "f.reg", "") + ` AS person, ` +
	rel("organisationfunktion", "opgaver", "f.reg", "") + ` AS job, ` + klasseTitel(rel("organisationfunktion", "opgaver", "f.reg", "")) + ` AS job_title, ` +
	attr("organisationfunktion", "attr_udvidelser", "udvidelse_2", "f.reg") + ` AS ad_title,
	coalesce((SELECT ` + attr("klasse", "attr_egenskaber", "omfang", "k.reg") + ` FROM cur_klasse k WHERE k.uuid = ` +
	rel("organisationfunktion", "primær", "f.reg", "") + `), '0') AS scope
	FROM cur_organisationfunktion f WHERE ` + attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "f.reg") + ` = 'Engagement'),
	ad AS (SELECT ` + rel("organisationfunktion", "tilknyttedebrugere", "i.reg", "") + ` AS person FROM cur_organisationfunktion i
	WHERE ` + attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "i.reg") + ` = 'IT-system'
	AND ` + rel("organisationfunktion", "tilknyttedeitsystemer", "i.reg", "") + ` = $1)
	SELECT uuid, CASE
	WHEN scope ~ '^[0-9]+$' AND scope::int >= 3000 AND person IN (SELECT person FROM ad) AND coalesce(ad_title, '') <> '' THEN ad_title
	WHEN job = ANY($2) THEN ' '
	ELSE coalesce(job_title, '') END FROM eng`

// checkAssociations: the latest event of each association says what
// the rule says: a sensitive job function withheld with a blank title, a
// plain one kept with its name.
func checkAssociations(t *testing.T, e *e2e, topics map[string][]*kgo.Record, assocs map[string]string) {
	t.Helper()
	latest := map[string]*event.Envelope{}
	for _, r := range topics[event.Topics{Prefix: e.prefix}.Object(mo.Association)] {
		if env, err := event.Decode(r.Value); err == nil && assocs[env.UUID] != "" {
			latest[env.UUID] = env
		}
	}
	for a, jf := range assocs {
		env := latest[a]
		if env == nil || env.Object == nil || len(env.Object.Validities) != 1 {
			t.Errorf("association %s: no event with one version (%v)", a, env)
			continue
		}
		f := env.Object.Validities[0].Fields
		sensitive := jf == demo.JobFunctionSkaanejob
		switch {
		case sensitive && (f["job_function"] != nil || f["export_title"] != " " || fmt.Sprint(f["withheld"]) != "[job_function]"):
			t.Errorf("association %s with a sensitive job function: %v", a, f)
		case !sensitive && (f["job_function"] != jf || f["export_title"] != "Lærer" || f["withheld"] != nil):
			t.Errorf("association %s with a plain job function: %v", a, f)
		}
	}
}

// expectedTitles runs exportTitleSQL: engagement uuid → export title.
func expectedTitles(t *testing.T, e *e2e) map[string]string {
	t.Helper()
	var sensitive []string
	for _, c := range sensitiveClasses {
		sensitive = append(sensitive, c.uuid)
	}
	rows, err := e.pool.Query(context.Background(), exportTitleSQL, demo.ITSystemAD, sensitive)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]string{}
	for rows.Next() {
		var u, title string
		if err := rows.Scan(&u, &title); err != nil {
			t.Fatal(err)
		}
		want[u] = title
	}
	return want
}

func checkExportTitles(t *testing.T, e *e2e, topics map[string][]*kgo.Record, cases []*titleCase) {
	t.Helper()
	want := expectedTitles(t, e)
	// The latest event of each engagement.
	latest := map[string]*event.Envelope{}
	for _, r := range topics[event.Topics{Prefix: e.prefix}.Object(mo.Engagement)] {
		if r.Value == nil {
			delete(latest, string(r.Key))
			continue
		}
		env, err := event.Decode(r.Value)
		if err != nil {
			t.Fatalf("engagement event: %v", err)
		}
		latest[env.UUID] = env
	}
	now := time.Now()
	wrong := 0
	for u, title := range want {
		env := latest[u]
		var v *mo.Version
		if env != nil && env.Object != nil {
			v = env.Object.At(mo.Period{From: now})
		}
		got, _ := func() (any, bool) {
			if v == nil {
				return nil, false
			}
			return v.Fields["export_title"], true
		}()
		if g, _ := got.(string); g != title || v.Fields["extension_3"] != v.Fields["export_title"] {
			wrong++
			if wrong <= 8 {
				var fields map[string]any
				if v != nil {
					fields = v.Fields
				}
				t.Errorf("engagement %s: export_title %q (extension_3 %v), want %q; event %v; its person's IT users: %s", u, got, field3(v), title, fields, itusersOf(topics, e, fields["person"]))
			}
		}
	}
	for _, c := range cases {
		if want[c.engagement] != c.want() {
			t.Errorf("truth table primary=%v ad=%v adtitle=%v sensitive=%v: SQL says %q, the rule %q", c.primary, c.ad, c.adTitle, c.sensitive, want[c.engagement], c.want())
		}
	}
	if len(want) < 50 {
		t.Errorf("only %d current engagements", len(want))
	}
	t.Logf("%d engagements' export titles checked, %d wrong", len(want), wrong)
}

// itusersOf describes the latest IT user events of person, for failures.
func itusersOf(topics map[string][]*kgo.Record, e *e2e, person any) string {
	p, _ := person.(string)
	var out []string
	for _, r := range topics[event.Topics{Prefix: e.prefix}.DeadLetter()] {
		out = append(out, fmt.Sprintf("dead letter: %.600s", r.Value))
	}
	for _, r := range topics[event.Topics{Prefix: e.prefix}.Object(mo.ITUser)] {
		if p != "" && (strings.Contains(string(r.Value), p) || strings.HasSuffix(string(r.Key), p[8:])) {
			out = append(out, fmt.Sprintf("%.600s", r.Value))
		}
	}
	return strings.Join(out, "\n")
}

func field3(v *mo.Version) any {
	if v == nil {
		return nil
	}
	return v.Fields["extension_3"]
}

// tiedOracle are the export tables of objects that hang on a unit or a
// person: uuid, bruger_uuid, enhed_uuid of the objects valid now.
var tiedOracle = map[string]string{
	"kle": "KLE", "tilknytninger": "Tilknytning", "it_forbindelser": "IT-system", "adresser": "Adresse",
}

func tiedRows(t *testing.T, pool *pgxpool.Pool, funktionsnavn string) map[string][]string {
	t.Helper()
	q := oracleCTE("organisationfunktion") + ` SELECT f.uuid, ` + rel("organisationfunktion", "tilknyttedebrugere", "f.reg", "") + `, ` +
		rel("organisationfunktion", "tilknyttedeenheder", "f.reg", "") + ` FROM cur_organisationfunktion f WHERE ` +
		attr("organisationfunktion", "attr_egenskaber", "funktionsnavn", "f.reg") + ` = '` + funktionsnavn + `'`
	rows, err := pgQuery(pool)(q)
	if err != nil {
		t.Fatalf("oracle %s: %v", funktionsnavn, err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[*r[0]] = texts(r[1:])
	}
	return out
}

// passingUnits lists the units that pass the test's scope, by SQL over the
// store: labelled linjeorg (today) and not below the excluded unit.
func passingUnits(t *testing.T, e *e2e, excluded string) map[string]bool {
	t.Helper()
	passing := map[string]bool{}
	rows, err := e.pool.Query(context.Background(), oracleCTE("organisationenhed", "klasse")+`,
		units AS (SELECT e.uuid, `+rel("organisationenhed", "overordnet", "e.reg", "")+` AS parent,
			(SELECT `+attr("klasse", "attr_egenskaber", "brugervendtnoegle", "k.reg")+` FROM cur_klasse k WHERE k.uuid = `+rel("organisationenhed", "opmærkning", "e.reg", "")+`) AS label
			FROM cur_organisationenhed e),
		anc(uuid, a, depth) AS (SELECT uuid, uuid, 0 FROM units
			UNION ALL SELECT anc.uuid, u.parent, anc.depth + 1 FROM anc JOIN units u ON u.uuid = anc.a WHERE u.parent IS NOT NULL AND anc.depth < 64)
		SELECT u.uuid FROM units u WHERE u.label = 'linjeorg' AND NOT EXISTS (SELECT 1 FROM anc WHERE anc.uuid = u.uuid AND anc.a = $1)`, excluded)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		passing[u] = true
	}
	return passing
}

// checkScopedMirror compares the scoped mirror with the oracle restricted to
// the units that pass (label linjeorg, outside the excluded subtree) and
// the persons with a current engagement in one, and searches every row of
// every table for sensitive classes.
func checkScopedMirror(t *testing.T, e *e2e, dsn, excluded string) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	passing := passingUnits(t, e, excluded)
	engs := oracle(t, e.pool, "engagementer")
	persons := map[string]bool{}
	for _, r := range engs {
		if passing[r[2]] { // enhed_uuid
			persons[r[1]] = true // bruger_uuid
		}
	}
	keep := func(table string, want map[string][]string) map[string][]string {
		out := map[string][]string{}
		for u, r := range want {
			ok := true
			switch table {
			case "enheder":
				ok = passing[u]
			case "engagementer":
				ok = passing[r[2]]
			case "ledere":
				ok = passing[r[1]]
			case "brugere":
				ok = persons[u]
			case "kle", "tilknytninger", "it_forbindelser", "adresser": // bruger_uuid, enhed_uuid
				if r[1] != "NULL" {
					ok = passing[r[1]]
				} else {
					ok = persons[r[0]]
				}
			}
			if ok {
				out[u] = r
			}
		}
		return out
	}
	tables := []string{"brugere", "klasser", "enheder", "engagementer", "ledere"}
	var stable bool
	for deadline := time.Now().Add(90 * time.Second); !stable && time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		stable = true
		for _, table := range tables {
			if len(mirrorRows(t, pgQuery(pool), false, table, oracleQueries[table].columns)) != len(keep(table, oracle(t, e.pool, table))) {
				stable = false
			}
		}
	}
	for _, table := range tables {
		q := oracleQueries[table]
		cols := q.columns
		want := keep(table, oracle(t, e.pool, table))
		if table == "engagementer" {
			// stillingsbetegnelse_uuid: NULL for a sensitive class;
			// stillingsbetegnelse_titel: the export title by OS2mo's rule.
			cols = []string{"uuid", "bvn", "bruger_uuid", "enhed_uuid", "stillingsbetegnelse_uuid", "stillingsbetegnelse_titel", "engagementstype_uuid"}
			titles := expectedTitles(t, e)
			for u, r := range want {
				job := r[3]
				for _, c := range sensitiveClasses {
					if job == c.uuid {
						job = "NULL"
					}
				}
				want[u] = []string{r[0], r[1], r[2], job, titles[u], r[5]}
			}
		}
		if len(want) == 0 {
			t.Errorf("scoped oracle %s is empty", table)
		}
		compare(t, "scoped", table, cols, want, mirrorRows(t, pgQuery(pool), false, table, cols))
	}
	tied := 0
	for table, fn := range tiedOracle {
		want := keep(table, tiedRows(t, e.pool, fn))
		cols := []string{"uuid", "bruger_uuid", "enhed_uuid"}
		if table == "kle" { // a unit's only
			cols = []string{"uuid", "enhed_uuid"}
			for u, r := range want {
				want[u] = r[1:]
			}
		}
		tied += len(want)
		var got map[string][]string
		if table == "kle" { // one row per KLE aspect
			rows, err := pgQuery(pool)("SELECT DISTINCT uuid, enhed_uuid FROM kle")
			if err != nil {
				t.Fatal(err)
			}
			got = map[string][]string{}
			for _, r := range rows {
				got[*r[0]] = texts(r[1:])
			}
		} else {
			got = mirrorRows(t, pgQuery(pool), false, table, cols)
		}
		compare(t, "scoped", table, cols, want, got)
	}
	if tied == 0 {
		t.Errorf("no KLE, association, IT user or address hangs on the units in scope")
	}
	if len(passing) == 0 || len(passing) == len(oracle(t, e.pool, "enheder")) {
		t.Errorf("%d of %d units pass: the scope filtered nothing or everything", len(passing), len(oracle(t, e.pool, "enheder")))
	}
	// Every row of every mirror table: no sensitive class next to anything
	// but the class itself.
	var names []string
	r2, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	for r2.Next() {
		var n string
		_ = r2.Scan(&n)
		names = append(names, n)
	}
	r2.Close()
	checked := 0
	for _, n := range names {
		rows, err := pgQuery(pool)(fmt.Sprintf(`SELECT t::text FROM %q t`, n))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			checked++
			found := leak(*r[0])
			if len(found) == 0 || n == "klasser" || (n == "mocdc_objects" && strings.Contains(*r[0], "(class,")) {
				continue
			}
			t.Errorf("mirror %s row carries %v: %.300s", n, found, *r[0])
		}
	}
	t.Logf("scoped mirror: %d of %d units pass; %d rows of %d tables searched", len(passing), len(oracle(t, e.pool, "enheder")), checked, len(names))
}
