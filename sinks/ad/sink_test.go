package ad

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// uuids of the test municipality.
const (
	uOrg, uR, uA, uB              = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-0000000000a0", "00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000a2"
	cJF1, cJF2, cPrim, cMail, cTl = "00000000-0000-4000-8000-0000000000c1", "00000000-0000-4000-8000-0000000000c2", "00000000-0000-4000-8000-0000000000c3", "00000000-0000-4000-8000-0000000000c4", "00000000-0000-4000-8000-0000000000c5"
	sAD                           = "00000000-0000-4000-8000-0000000000d1"
)

func person(n int) string {
	return "00000000-0000-4000-8000-1000000000" + string(rune('0'+n/10)) + string(rune('0'+n%10))
}
func eng(n int) string {
	return "00000000-0000-4000-8000-2000000000" + string(rune('0'+n/10)) + string(rune('0'+n%10))
}
func other(n int) string {
	return "00000000-0000-4000-8000-3000000000" + string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// seed produces the test municipality and pre-creates the AD accounts
// some persons already have; it returns Anna's account GUID.
func (w *world) seed() {
	w.produce(mo.Organisation, uOrg, "", "", map[string]any{"user_key": "kommune", "name": "Testkommune"})
	w.produce(mo.Class, cJF1, "", "", map[string]any{"user_key": "paedagog", "name": "Pædagog"})
	w.produce(mo.Class, cJF2, "", "", map[string]any{"user_key": "laerer", "name": "Lærer"})
	w.produce(mo.Class, cPrim, "", "", map[string]any{"user_key": "primary", "name": "Primær", "scope": "3000"})
	w.produce(mo.Class, cMail, "", "", map[string]any{"user_key": "EmailEmployee", "name": "Email", "scope": "EMAIL"})
	w.produce(mo.Class, cTl, "", "", map[string]any{"user_key": "PhoneEmployee", "name": "Telefon", "scope": "PHONE"})
	w.produce(mo.ITSystem, sAD, "", "", map[string]any{"user_key": "Active Directory", "name": "Active Directory"})
	w.produce(mo.OrgUnit, uR, "2000-01-01", "", map[string]any{"user_key": "R", "name": "Kommune"})
	w.produce(mo.OrgUnit, uA, "2000-01-01", "", map[string]any{"user_key": "A", "name": "Skoler", "parent": uR})
	w.produce(mo.OrgUnit, uB, "2000-01-01", "", map[string]any{"user_key": "B", "name": "Børn", "parent": uR})

	annaGUID := w.addAccount("Anna B", "anbe", map[string]string{"givenName": "Old"})
	w.addAccount("Bo Holm", "boho", map[string]string{"employeeID": "0202802222", "title": "Chef"})
	w.addAccount("Dorte Eg", "doeg", map[string]string{"employeeID": "0404804444"})
	w.addAccount("Finn Gul", "figu", map[string]string{"employeeID": "0606806666"})
	w.addAccount("Finn Gul 2", "figu2", map[string]string{"employeeID": "0606806666"})

	ppl := []struct{ given, sur, cpr string }{{"Anna", "Berg", "0101901111"}, {"Bo", "Holm", "0202802222"}, {"Carl", "Dahl", "0303803333"},
		{"Dorte", "Eg", "0404804444"}, {"Erik", "Fisk", "0505805555"}, {"Finn", "Gul", "0606806666"}}
	for i, p := range ppl {
		w.produce(mo.Person, person(i+1), "1980-01-01", "", map[string]any{"given_name": p.given, "surname": p.sur, "cpr_number": p.cpr})
	}
	e := func(n int, unit, jf, from, to string) {
		w.produce(mo.Engagement, eng(n), from, to, map[string]any{"user_key": "E" + string(rune('0'+n)), "person": person(n), "org_unit": unit, "job_function": jf, "primary": cPrim})
	}
	e(1, uA, cJF1, "2020-01-01", "")
	e(2, uR, cJF2, "2019-01-01", "")
	e(3, uB, cJF1, "2021-01-01", "")
	e(4, uB, cJF2, "2021-01-01", "2026-06-16") // ends tomorrow
	e(5, uB, cJF1, "2026-06-22", "")           // starts next week
	e(6, uB, cJF1, "2021-01-01", "")
	w.produce(mo.ITUser, other(1), "2020-01-01", "", map[string]any{"user_key": "anbe", "external_id": annaGUID, "itsystem": sAD, "person": person(1), "engagements": []string{eng(1)}})
	w.produce(mo.Address, other(2), "2020-01-01", "", map[string]any{"value": "anna@testkommune.dk", "address_type": cMail, "person": person(1), "ituser": other(1)})
	w.produce(mo.Address, other(3), "2020-01-01", "", map[string]any{"value": "+4511111111", "address_type": cTl, "person": person(1)})
	w.produce(mo.Manager, other(4), "2020-01-01", "", map[string]any{"person": person(2), "org_unit": uA})
}

// want checks attributes of the account with sAMAccountName sam ("" for
// an attribute that must be absent).
func (w *world) want(sam string, attrs map[string]string) {
	w.t.Helper()
	a := w.accounts("(sAMAccountName=" + w.sam(sam) + ")")[sam]
	if a == nil {
		w.t.Errorf("%s: no such account", sam)
		return
	}
	for k, v := range attrs {
		if !strings.EqualFold(a[k], v) {
			w.t.Errorf("%s: %s = %q, want %q", sam, k, a[k], v)
		}
	}
}

func (w *world) dn(sam string) string {
	return w.accounts("(sAMAccountName=" + w.sam(sam) + ")")[sam]["dn"]
}

// TestSink: the sink finds accounts by GUID and by CPR, renders the default
// mapping, renames, creates what is missing (disabled until the start
// date), leaves ambiguous persons alone with a dead letter; a restart
// (a replay of the whole history) writes nothing; changes and the passing
// of midnight reach AD.
func TestSink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	cfg := w.config(func(c *Config) { c.Create = &Create{OU: w.ou} })
	r := w.start(cfg)
	w.idle(r)

	bo := w.dn("boho")
	w.want("anbe", map[string]string{"cn": "Anna Berg", "givenName": "Anna", "sn": "Berg", "displayName": "Anna Berg",
		"mail": "anna@testkommune.dk", "telephoneNumber": "+4511111111", "title": "Pædagog", "department": "Skoler",
		"company": "Testkommune", "manager": bo, "userAccountControl": "512"})
	w.want("boho", map[string]string{"title": "Lærer", "department": "Kommune", "manager": "", "userAccountControl": "512"})
	w.want("cada1", map[string]string{"cn": "Carl Dahl", "givenName": "Carl", "department": "Børn", "userAccountControl": "512"})
	w.want("doeg", map[string]string{"department": "Børn", "userAccountControl": "512"})
	w.want("erfi1", map[string]string{"cn": "Erik Fisk", "department": "Børn", "userAccountControl": "514"})
	w.want("figu", map[string]string{"title": "", "department": ""})
	var ambiguous bool
	for _, d := range w.deadLetters() {
		if strings.Contains(d.Reason, "ambiguous") && strings.Contains(string(d.Payload), person(6)) {
			ambiguous = true
		}
	}
	if !ambiguous {
		t.Errorf("no dead letter says Finn Gul's accounts are ambiguous: %v", w.deadLetters())
	}
	if n := counter(r, "mocdc_sink_ad_writes_total", "kind", "create"); n != 2 {
		t.Errorf("%v creates, want 2 (Carl, Erik)", n)
	}

	// A restart reads the whole history again: nothing is written.
	before := w.accounts("")
	r.stop()
	r2 := w.start(cfg)
	w.idle(r2)
	after := w.accounts("")
	for sam, a := range before {
		if after[sam]["uSNChanged"] != a["uSNChanged"] {
			t.Errorf("replay changed %s: uSNChanged %s → %s", sam, a["uSNChanged"], after[sam]["uSNChanged"])
		}
	}
	if len(after) != len(before) {
		t.Errorf("replay: %d accounts, want %d", len(after), len(before))
	}
	if n := counter(r2, "mocdc_sink_ad_writes_total"); n != 0 {
		t.Errorf("replay made %v writes", n)
	}

	// Changes: a move, a new job function, a unit rename.
	w.produce(mo.Engagement, eng(1), "2020-01-01", "", map[string]any{"user_key": "E1", "person": person(1), "org_unit": uB, "job_function": cJF1, "primary": cPrim})
	w.produce(mo.Engagement, eng(2), "2019-01-01", "", map[string]any{"user_key": "E2", "person": person(2), "org_unit": uR, "job_function": cJF1, "primary": cPrim})
	w.produce(mo.OrgUnit, uB, "2000-01-01", "", map[string]any{"user_key": "B", "name": "Børn og Unge", "parent": uR})
	w.idle(r2)
	w.want("anbe", map[string]string{"department": "Børn og Unge", "manager": ""})
	w.want("boho", map[string]string{"title": "Pædagog"})
	w.want("cada1", map[string]string{"department": "Børn og Unge"})

	// Midnight passes twice: Dorte's last day (06-16) ends.
	w.clock.set(time.Date(2026, 6, 16, 23, 59, 0, 0, mo.Location))
	w.idle(r2)
	w.want("doeg", map[string]string{"userAccountControl": "512"})
	resyncs := counter(r2, "mocdc_sink_ad_resyncs_total")
	w.clock.set(time.Date(2026, 6, 17, 0, 0, 30, 0, mo.Location))
	deadline := time.Now().Add(30 * time.Second)
	for counter(r2, "mocdc_sink_ad_resyncs_total") == resyncs { // the sink looks at the clock every second
		if time.Now().After(deadline) {
			t.Fatal("no resync after midnight")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.idle(r2)
	w.want("doeg", map[string]string{"userAccountControl": "514"})
	w.want("erfi1", map[string]string{"userAccountControl": "514"})
}

// TestRenamedUnderfoot: the account is renamed by someone else (the other
// instance while partitions moved between them, or an administrator)
// between a reconcile's read and its write. AD answers "no such object"
// for the old DN; the reconcile runs again, finds the account by
// objectGUID where it is now and gives it MO's name: no dead letter.
func TestRenamedUnderfoot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seed()
	var armed, renamed atomic.Bool
	var dn atomic.Value
	r := w.startHooked(w.config(), func(p string) {
		if p != "write" || !armed.Load() || renamed.Swap(true) {
			return
		}
		if err := w.conn.ModifyDN(ldap.NewModifyDNRequest(dn.Load().(string), "CN=Anna Elsewhere", true, "")); err != nil {
			t.Errorf("rename underfoot: %v", err)
		}
	})
	w.idle(r)
	w.want("anbe", map[string]string{"cn": "Anna Berg"})
	dn.Store(w.dn("anbe"))
	armed.Store(true)
	w.produce(mo.Person, person(1), "1980-01-01", "", map[string]any{"given_name": "Anna", "surname": "Bjerg", "cpr_number": "0101901111"})
	w.idle(r)
	if !renamed.Load() {
		t.Fatal("the sink wrote nothing for Anna's new surname (the failpoint never ran)")
	}
	w.want("anbe", map[string]string{"cn": "Anna Bjerg", "sn": "Bjerg", "displayName": "Anna Bjerg"})
	for _, d := range w.deadLetters() {
		if strings.Contains(string(d.Payload), person(1)) {
			t.Errorf("dead letter for Anna: %s", d.Reason)
		}
	}
}
