package fk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
)

// The synthetic municipality: uuids by role.
const (
	unitTop      = "00000000-0000-4000-8000-000000000001"
	unitA        = "00000000-0000-4000-8000-00000000000a" // linje, under top
	unitB        = "00000000-0000-4000-8000-00000000000b" // selvejet: not sent
	unitC        = "00000000-0000-4000-8000-00000000000c" // linje, under B: not sent (parent not sent)
	unitD        = "00000000-0000-4000-8000-00000000000d" // NA label but an FK IT user: sent under its FK uuid
	unitE        = "00000000-0000-4000-8000-00000000000e" // linje under A, ignored level: not sent
	unitExcluded = "00000000-0000-4000-8000-0000000000ff" // linje, excluded subtree
	fkUnitD      = "dddddddd-0000-4000-8000-000000000000"

	clsLinje    = "10000000-0000-4000-8000-000000000001"
	clsSelvejet = "10000000-0000-4000-8000-000000000002"
	clsNA       = "10000000-0000-4000-8000-000000000003"
	clsIgnored  = "10000000-0000-4000-8000-000000000004"
	clsLevel    = "10000000-0000-4000-8000-000000000005"
	clsEmail    = "10000000-0000-4000-8000-000000000006"
	clsPhone    = "10000000-0000-4000-8000-000000000007"
	clsPublic   = "10000000-0000-4000-8000-000000000008"
	clsSecret   = "10000000-0000-4000-8000-000000000009"
	clsLaerer   = "10000000-0000-4000-8000-00000000000a"
	clsUnitMail = "10000000-0000-4000-8000-00000000000b"
	sysAD       = "20000000-0000-4000-8000-000000000001"
	sysFK       = "20000000-0000-4000-8000-000000000002"

	person1 = "30000000-0000-4000-8000-000000000001" // AD account with an FK IT user, positions in A (and B: left out)
	person2 = "30000000-0000-4000-8000-000000000002" // only in C: no FK user
	person3 = "30000000-0000-4000-8000-000000000003" // in D
	guid1   = "40000000-0000-4000-8000-000000000001"
	guid2   = "40000000-0000-4000-8000-000000000002"
	guid3   = "40000000-0000-4000-8000-000000000003"
	fkUser1 = "50000000-0000-4000-8000-000000000001"
)

func class(uuid, userKey, name, scope string) *event.Envelope {
	f := map[string]any{"user_key": userKey, "name": name}
	if scope != "" {
		f["scope"] = scope
	}
	return obj(mo.Class, uuid, ver("", "", f))
}

func unit(uuid, parent, name, label, level string) *event.Envelope {
	f := map[string]any{"user_key": name, "name": name, "org_unit_hierarchy": label, "org_unit_level": level}
	if parent != "" {
		f["parent"] = parent
	}
	return always(mo.OrgUnit, uuid, f)
}

func person(uuid, given, surname string) *event.Envelope {
	return always(mo.Person, uuid, map[string]any{"user_key": uuid, "given_name": given, "surname": surname, "cpr_number": "0101701234"})
}

func engagement(uuid, person, unit string) *event.Envelope {
	return always(mo.Engagement, uuid, map[string]any{"user_key": uuid, "person": person, "org_unit": unit, "job_function": clsLaerer})
}

func ituser(uuid, system, userKey, external, person, unit string, engs ...string) *event.Envelope {
	f := map[string]any{"user_key": userKey, "itsystem": system, "external_id": external}
	if person != "" {
		f["person"] = person
	}
	if unit != "" {
		f["org_unit"] = unit
	}
	if len(engs) > 0 {
		f["engagements"] = engs
	}
	return always(mo.ITUser, uuid, f)
}

func address(uuid, typ, value, vis string, links map[string]any) *event.Envelope {
	f := map[string]any{"user_key": value, "value": value, "address_type": typ}
	if vis != "" {
		f["visibility"] = vis
	}
	for k, v := range links {
		f[k] = v
	}
	return always(mo.Address, uuid, f)
}

func u(n int) string {
	return strings.Replace("60000000-0000-4000-8000-0000000000xx", "xx", string(rune('a'+n/16))+string(rune('a'+n%16)), 1)
}

func seed(e *env) {
	e.publish(
		always(mo.ITSystem, sysAD, map[string]any{"user_key": "AD", "name": "Active Directory"}),
		always(mo.ITSystem, sysFK, map[string]any{"user_key": "FK-ORG", "name": "FK Organisation"}),
		class(clsLinje, "linjeorg", "Linjeorganisation", ""), class(clsSelvejet, "selvejet", "Selvejet institution", ""),
		class(clsNA, "NA", "Ikke i linjen", ""), class(clsIgnored, "ignored-level", "Ignoreret niveau", ""), class(clsLevel, "N2", "Niveau 2", ""),
		class(clsEmail, "EmailEmployee", "Email", "EMAIL"), class(clsPhone, "PhoneEmployee", "Telefon", "PHONE"),
		class(clsPublic, "Public", "Må vises eksternt", "PUBLIC"), class(clsSecret, "Secret", "Hemmelig", "SECRET"),
		class(clsLaerer, "laerer", "Lærer", ""), class(clsUnitMail, "EmailUnit", "Email", "EMAIL"),
		unit(unitTop, "", "Kommune", clsLinje, clsLevel),
		unit(unitA, unitTop, "Skole", clsLinje, clsLevel),
		unit(unitB, unitTop, "Selvejet", clsSelvejet, clsLevel),
		unit(unitC, unitB, "Under selvejet", clsLinje, clsLevel),
		unit(unitD, unitTop, "Med FK-konto", clsNA, clsLevel),
		unit(unitE, unitA, "Ignoreret", clsLinje, clsIgnored),
		unit(unitExcluded, unitTop, "Udeladt", clsLinje, clsLevel),
		ituser(u(1), sysFK, fkUnitD, "", "", unitD),
		address(u(2), clsUnitMail, "skole@kommune.dk", "", map[string]any{"org_unit": unitA}),
		person(person1, "Anne", "Hansen"), person(person2, "Bo", "Jensen"), person(person3, "Carl", "Nielsen"),
		engagement(u(10), person1, unitA), engagement(u(11), person1, unitB),
		engagement(u(12), person2, unitC), engagement(u(13), person3, unitD),
		// A withheld job function: the policy nulled it and wrote the export title.
		always(mo.Engagement, u(14), map[string]any{"user_key": "e14", "person": person3, "org_unit": unitD,
			"extension_3": "Pædagogisk medarbejder", "withheld": []string{"job_function"}}),
		ituser(u(20), sysAD, "annhan", guid1, person1, "", u(10), u(11)),
		ituser(u(21), sysFK, guid1, fkUser1, person1, "", u(10)),
		ituser(u(22), sysAD, "bojen", guid2, person2, "", u(12)),
		ituser(u(23), sysAD, "carnie", guid3, person3, "", u(13), u(14)),
		address(u(30), clsEmail, "anne@kommune.dk", clsPublic, map[string]any{"person": person1, "ituser": u(20)}),
		address(u(31), clsPhone, "12345678", clsSecret, map[string]any{"person": person1, "ituser": u(20)}),
		address(u(32), clsEmail, "carl@kommune.dk", "", map[string]any{"person": person3, "ituser": u(23)}),
	)
}

func name(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestSinkContract: after seed and changes (a label change, a unit move,
// an engagement end), FK holds exactly the relevant units and the users
// with positions, with §2's fields; a restart and a replay send nothing;
// --resync sends everything once.
func TestSinkContract(t *testing.T) {
	e := newEnv(t)
	seed(e)
	cfg := e.config()
	r := e.start(cfg, false)
	e.settle(r)

	st := e.double.State(testCVR)
	wantUnits := map[string]string{unitTop: "<nil>", unitA: unitTop, fkUnitD: unitTop}
	if len(st.OrgUnits) != len(wantUnits) {
		t.Fatalf("FK units %v, want %v", keys(st.OrgUnits), wantUnits)
	}
	for uuid, parent := range wantUnits {
		if got := name(st.OrgUnits[uuid].ParentOrgUnitUuid); got != parent {
			t.Errorf("unit %s parent %s, want %s", uuid, got, parent)
		}
	}
	if got := name(st.OrgUnits[unitA].Email); got != "skole@kommune.dk" {
		t.Errorf("unit A Email %s", got)
	}
	u1, ok := st.Users[fkUser1]
	if !ok || len(st.Users) != 2 {
		t.Fatalf("FK users %v, want %s (FK uuid from the FK IT user) and %s", keys(st.Users), fkUser1, guid3)
	}
	if name(u1.UserId) != "annhan" || name(u1.Person.Name) != "Anne Hansen" || u1.Person.Cpr != nil {
		t.Errorf("user 1: %s %s cpr %s", name(u1.UserId), name(u1.Person.Name), name(u1.Person.Cpr))
	}
	if len(u1.Positions) != 1 || name(u1.Positions[0].OrgUnitUuid) != unitA || name(u1.Positions[0].Name) != "Lærer" || name(u1.Positions[0].StartDate) != "2020-01-01" {
		t.Errorf("user 1 positions %s", mustJSON(u1.Positions))
	}
	if name(u1.Email) != "anne@kommune.dk" || u1.PhoneNumber != nil {
		t.Errorf("user 1 Email %s Phone %s: want the public email only", name(u1.Email), name(u1.PhoneNumber))
	}
	if u3 := st.Users[guid3]; len(u3.Positions) != 2 || name(u3.Positions[0].OrgUnitUuid) != fkUnitD || name(u3.Email) != "carl@kommune.dk" ||
		name(u3.Positions[0].Name)+","+name(u3.Positions[1].Name) != "Lærer,Pædagogisk medarbejder" {
		t.Errorf("user 3 (positions Lærer and the export title of the withheld one): %s", mustJSON(u3))
	}
	sent := e.double.Stats()

	// A restart reads the digests and sends nothing.
	r.stop(t)
	r = e.start(cfg, false)
	e.settle(r)
	if n := e.double.Stats().Total() - sent.Total(); n != 0 {
		t.Fatalf("restart sent %d requests, want 0: %v", n, e.double.Stats().Requests)
	}
	// The same events again (a replay) send nothing either.
	seed(e)
	e.caughtUp(r)
	e.settle(r)
	if n := e.double.Stats().Total() - sent.Total(); n != 0 {
		t.Fatalf("replayed events sent %d requests, want 0: %v", n, e.double.Stats().Requests)
	}

	// A relabelled A leaves FK (and so does user 1's only position, so
	// user 1); D moved under B leaves with user 3; D's FK IT user gone
	// would not bring it back.
	e.publish(unit(unitA, unitTop, "Skole", clsSelvejet, clsLevel), unit(unitD, unitB, "Med FK-konto", clsNA, clsLevel))
	waitFor(t, func() bool {
		e.settle(r)
		s := e.double.State(testCVR)
		return len(s.OrgUnits) == 1 && len(s.Users) == 0
	})
	// The top unit ended in MO: everything below leaves FK, the top stays.
	e.publish(obj(mo.OrgUnit, unitTop, ver("2020-01-01", "2021-01-01", map[string]any{"user_key": "Kommune", "name": "Kommune", "org_unit_hierarchy": clsLinje})))
	e.settle(r)
	if _, ok := e.double.State(testCVR).OrgUnits[unitTop]; !ok {
		t.Fatal("the top unit was deleted")
	}
	e.publish(unit(unitTop, "", "Kommune", clsLinje, clsLevel))
	// Back in the line organisation: A and user 1 return.
	e.publish(unit(unitA, unitTop, "Skole", clsLinje, clsLevel))
	waitFor(t, func() bool {
		e.settle(r)
		s := e.double.State(testCVR)
		return len(s.OrgUnits) == 2 && len(s.Users) == 1
	})
	if f := e.double.Failures(); len(f) != 0 {
		t.Errorf("the double's queue refused writes: %+v", f)
	}
	r.stop(t)

	// --resync sends every object once, whatever the digests say.
	before := e.double.Stats()
	r = e.start(cfg, true)
	e.settle(r)
	after := e.double.Stats()
	if got := after.Requests["POST /api/orgUnit/{$}"] - before.Requests["POST /api/orgUnit/{$}"]; got != 2 {
		t.Errorf("resync sent %d unit upserts, want 2", got)
	}
	if got := after.Requests["POST /api/user"] - before.Requests["POST /api/user"]; got != 1 {
		t.Errorf("resync sent %d user upserts, want 1", got)
	}
}

// TestSinkDeadLetters: a 400 from OS2sync puts the write in the
// dead-letter topic with the server's message and the body, the rest goes
// on, and the rejected payload is not sent again.
func TestSinkDeadLetters(t *testing.T) {
	e := newEnv(t)
	rejects := 0
	inner := e.double.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/api/user" {
			b, _ := io.ReadAll(r.Body)
			var u fkdouble.User
			_ = json.Unmarshal(b, &u)
			if u.Uuid == guid3 {
				rejects++
				http.Error(w, "UserId carnie is not allowed in this tenant", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	seed(e)
	cfg := e.config()
	cfg.OS2sync.URL = srv.URL + "/api"
	r := e.start(cfg, false)
	e.settle(r)
	if _, ok := e.double.State(testCVR).Users[fkUser1]; !ok {
		t.Fatal("the other user was not sent")
	}
	dl := readDeadLetters(t, e)
	if len(dl) != 1 || !strings.Contains(dl[0].Reason, "400 UserId carnie is not allowed in this tenant") || !strings.Contains(string(dl[0].Payload), `"UserId":"carnie"`) {
		t.Fatalf("dead letters %+v", dl)
	}
	r.stop(t)
	r = e.start(cfg, false)
	e.settle(r)
	if rejects != 1 {
		t.Fatalf("the rejected payload was sent %d times, want once", rejects)
	}
}

func readDeadLetters(t *testing.T, e *env) []event.DeadLetter {
	t.Helper()
	cl, err := kgo.NewClient(append(e.opts, kgo.ConsumeTopics(e.topics.DeadLetter()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []event.DeadLetter
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var d event.DeadLetter
			if json.Unmarshal(r.Value, &d) == nil {
				out = append(out, d)
			}
		})
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }

// TestSinkScope: the shared scope rule (sinks/scope: labels by user_key,
// exclude) filters units as hierarchy_labels does; an FK IT user still
// makes a unit pass its labels, not its exclude. A relabel moves a subtree
// and the positions in it: B relabelled to the line organisation brings B,
// C below it and the users with positions there into FK; relabelled back,
// they are deleted again.
func TestSinkScope(t *testing.T) {
	e := newEnv(t)
	seed(e)
	cfg := e.config()
	cfg.HierarchyLabels = nil
	cfg.Scope.Labels = []string{"linjeorg"}
	cfg.Scope.Exclude = []string{unitA}
	r := e.start(cfg, false)
	e.settle(r)
	check := func(when string, units, users []string) {
		t.Helper()
		st := e.double.State(testCVR)
		if got := keys(st.OrgUnits); fmt.Sprint(got) != fmt.Sprint(units) {
			t.Errorf("%s: FK units %v, want %v", when, got, units)
		}
		if got := keys(st.Users); fmt.Sprint(got) != fmt.Sprint(users) {
			t.Errorf("%s: FK users %v, want %v", when, got, users)
		}
	}
	// The top and D (FK IT user; A excluded, B and C not line
	// organisation); only user 3 (user 1's unit A is excluded).
	check("start", []string{unitTop, fkUnitD}, []string{guid3})

	e.publish(unit(unitB, unitTop, "Selvejet", clsLinje, clsLevel))
	e.settle(r)
	check("B relabelled linjeorg", []string{unitTop, unitB, unitC, fkUnitD}, []string{guid2, guid3, fkUser1})
	st := e.double.State(testCVR)
	if u, ok := st.Users[fkUser1]; !ok || len(u.Positions) != 1 || name(u.Positions[0].OrgUnitUuid) != unitB {
		t.Errorf("user 1 after B came in: %+v, want one position in B", u)
	}

	e.publish(unit(unitB, unitTop, "Selvejet", clsSelvejet, clsLevel))
	e.settle(r)
	check("B relabelled back", []string{unitTop, fkUnitD}, []string{guid3})
}
