package view

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// synthetic returns the events of a municipality of n persons shaped like
// the demo's: per person 1-2 engagements, an AD IT user, 3 addresses; a
// unit per 20 persons; 200 classes.
func synthetic(n int) []*event.Envelope {
	var out []*event.Envelope
	id := func(kind string, i int) string {
		return fmt.Sprintf("%08x-0000-4000-8000-%012d", len(kind)*1000003+i, i)
	}
	for i := 0; i < 200; i++ {
		out = append(out, always(mo.Class, id("class", i), map[string]any{"user_key": fmt.Sprintf("k%d", i), "name": fmt.Sprintf("Klasse %d", i), "scope": "TEXT", "facet": id("facet", i%20)}))
	}
	units := n/20 + 1
	for i := 0; i < units; i++ {
		f := map[string]any{"user_key": fmt.Sprintf("U%d", i), "name": fmt.Sprintf("Enhed %d", i), "unit_type": id("class", 1), "org_unit_level": id("class", 2)}
		if i > 0 {
			f["parent"] = id("unit", i/5)
		}
		out = append(out, always(mo.OrgUnit, id("unit", i), f))
	}
	for i := 0; i < n; i++ {
		p := id("person", i)
		out = append(out, always(mo.Person, p, map[string]any{"user_key": p, "given_name": "Anna Marie", "surname": fmt.Sprintf("Jensen%d", i%500), "cpr_number": fmt.Sprintf("%010d", i)}))
		engs := []string{id("eng", 2*i)}
		if i%3 == 0 {
			engs = append(engs, id("eng", 2*i+1))
		}
		for j, e := range engs {
			out = append(out, obj(mo.Engagement, e,
				ver("2019-01-01", "2025-12-31", map[string]any{"user_key": fmt.Sprint(i), "person": p, "org_unit": id("unit", (i+j)%units), "job_function": id("class", 10+i%150), "engagement_type": id("class", 3), "primary": id("class", 4+j), "fraction": int64(1000), "extension_3": "Pædagog"}),
				ver("2026-01-01", "", map[string]any{"user_key": fmt.Sprint(i), "person": p, "org_unit": id("unit", (i+j+1)%units), "job_function": id("class", 10+i%150), "engagement_type": id("class", 3), "primary": id("class", 4+j), "fraction": int64(1000), "extension_3": "Pædagog"})))
		}
		it := id("ituser", i)
		out = append(out, always(mo.ITUser, it, map[string]any{"user_key": fmt.Sprintf("user%d", i), "external_id": id("guid", i), "itsystem": id("class", 7), "person": p, "engagements": engs}))
		out = append(out,
			always(mo.Address, id("adr", 3*i), map[string]any{"user_key": "x", "value": fmt.Sprintf("user%d@kommune.dk", i), "address_type": id("class", 8), "visibility": id("class", 9), "person": p, "ituser": it}),
			always(mo.Address, id("adr", 3*i+1), map[string]any{"user_key": "x", "value": fmt.Sprintf("+45 %08d", i), "address_type": id("class", 8), "person": p, "engagement": engs[0]}),
			always(mo.Address, id("adr", 3*i+2), map[string]any{"user_key": "x", "value": id("dar", i), "address_type": id("class", 8), "person": p}))
	}
	return out
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild: applying a 10,000-person municipality to an empty view;
// reports the view's heap per object and the apply rate. The restart cost
// over Kafka is measured by the follower (mocdc_view_catchup_seconds).
func BenchmarkBuild(b *testing.B) {
	events := synthetic(10000)
	b.ResetTimer()
	var bytes float64
	for i := 0; i < b.N; i++ {
		before := heap()
		v := New()
		for _, e := range events {
			v.Apply(e, 0)
		}
		bytes = float64(heap()-before) / float64(len(events))
		runtime.KeepAlive(v)
	}
	b.ReportMetric(bytes, "bytes/object")
	b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkLookup: the lookups one AD account render makes.
func BenchmarkLookup(b *testing.B) {
	events := synthetic(10000)
	v := New()
	for _, e := range events {
		v.Apply(e, 0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := events[200+i%100].UUID
		for _, it := range v.PersonITUsers(p, today) {
			for _, e := range v.ITUserEngagements(it.UUID, today) {
				if ver := e.At(today); ver != nil {
					v.UnitPath(ver.Str("org_unit"), today)
					v.UnitManagers(ver.Str("org_unit"), today)
				}
			}
			v.ITUserAddresses(it.UUID, today)
		}
	}
}
