package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
	allDSN := testenv.NewPostgresDB(t, "mirror_all")
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
  - name: all
    dialect: postgres
    dsn: `+allDSN+`
    mode: historic
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
	e.spawn("sink", "mirror", "--config", e.config, "--target", "all")
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
	// The unscoped mirror, historic (every period of every object), holds
	// every person: no sensitive class in any row either.
	allPool, err := pgxpool.New(ctx, allDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer allPool.Close()
	waitMirror(t, e, allPool)
	n, tables := mirrorLeaks(t, allPool, "historic")
	t.Logf("historic unscoped mirror: %d rows of %d tables searched", n, tables)
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

// waitMirror waits until the mirror holds a row for every engagement
// registration capture has published of the cases (its kvittering shows the
// last MO change), at most 90 s.
func waitMirror(t *testing.T, e *e2e, pool *pgxpool.Pool) {
	t.Helper()
	var want string
	if err := e.pool.QueryRow(context.Background(), `SELECT to_char(max(lower((registrering).timeperiod)) AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD HH24:MI:SS')
		FROM actual_state.organisationfunktion_registrering`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		var got *string
		_ = pool.QueryRow(context.Background(), `SELECT to_char(max(query_tid), 'YYYY-MM-DD HH24:MI:SS') FROM kvittering`).Scan(&got)
		if got != nil && *got >= want {
			return
		}
	}
	t.Errorf("the mirror did not reach the store's last change (%s) within 90 s", want)
}

func createAD(t *testing.T, w *writer.Writer, c *titleCase, v mo.Validity, meta writer.Meta) {
	t.Helper()
	if err := w.Create(context.Background(), mo.ITUser, "a0ffee00"+c.person[8:], v, writer.Fields{"user_key": "ad-" + c.person[:8],
		"itsystem": demo.ITSystemAD, "person": c.person}, meta); err != nil {
		t.Fatal(err)
	}
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
