package policy

import (
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// BenchmarkApply: the policy step on one engagement with two versions and
// every extension set, as capture runs it on each engagement it builds.
func BenchmarkApply(b *testing.B) {
	p := newPolicy(&testing.T{})
	p.Learn(object(mo.ITUser, "it-1", map[string]any{"itsystem": adSystem, "person": person}))
	base := func() *mo.Object {
		f := map[string]any{"user_key": "E1", "person": person, "job_function": teacher, "primary": primary, "fraction": int64(1)}
		for i, x := range []string{"Lærer, Rådhusskolen", "AD-titel", "x", "LK 20", "a", "b", "c", "d", "e", "f"} {
			f["extension_"+string(rune('1'+i))] = x
		}
		o := object(mo.Engagement, "e1", f)
		g := map[string]any{}
		for k, v := range f {
			g[k] = v
		}
		g["job_function"] = flex
		to := mo.Date("2030-01-01")
		o.Validities = append(o.Validities, mo.Version{Validity: mo.Validity{From: &to}, Period: mo.Validity{From: &to}.Period(), Fields: g})
		o.Validities[0].Validity.To = &to
		return o
	}
	o := base()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Restore what the last round withheld, so every round redacts.
		o.Validities[1].Fields["job_function"] = flex
		o.Validities[1].Fields["extension_1"] = "Lærer, Rådhusskolen"
		p.Apply(o)
	}
}
