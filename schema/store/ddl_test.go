package store

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/lora"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestDDLGolden pins the generated DDL: a change to lora.Classes or to the
// generator shows up as a diff of testdata/ddl.golden.sql in review.
func TestDDLGolden(t *testing.T) {
	got := DDL()
	path := filepath.Join("testdata", "ddl.golden.sql")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDDLGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("DDL differs from %s; run go test ./schema/store -run TestDDLGolden -update and review the diff", path)
	}
}

// TestDDLCoversClasses checks the generated DDL against lora.Classes: every
// table, every relation kind (also the non-ASCII ones), the active_tils
// column exactly on the classes that have it.
func TestDDLCoversClasses(t *testing.T) {
	ddl := DDL()
	for _, c := range lora.Classes {
		tables := []string{c.Table(), c.RegistreringTable(), c.EgenskaberTable(), c.TilsTable(), c.RelationTable()}
		if len(c.Udvidelser) > 0 {
			tables = append(tables, c.UdvidelserTable())
		}
		for _, tb := range tables {
			if !strings.Contains(ddl, "CREATE TABLE IF NOT EXISTS "+qual(tb)+" (") {
				t.Errorf("no table %s", tb)
			}
		}
		for _, k := range c.RelationKinds() {
			if !strings.Contains(ddl, literal(k)) {
				t.Errorf("%s: relation kind %q missing", c.Name, k)
			}
		}
		hasTrigger := strings.Contains(ddl, "create trigger touch_period_rows on "+qual(c.TilsTable()))
		if hasTrigger != c.ActiveTils {
			t.Errorf("%s: touch trigger present = %v, want %v", c.Name, hasTrigger, c.ActiveTils)
		}
	}
	for _, n := range []string{"primær", "opmærkning"} {
		if !strings.Contains(ddl, n) {
			t.Errorf("%q missing", n)
		}
	}
}

func TestPgName(t *testing.T) {
	long := pgName("organisationfunktion_attr_udvidelser", "idx", "organisationfunktion_registrering_id")
	if len(long) > 63 {
		t.Errorf("pgName gave %d bytes", len(long))
	}
	if long == pgName("organisationfunktion_attr_udvidelser", "idx", "organisationfunktion_registrering_iX") {
		t.Error("two long names collide")
	}
	if got := pgName("bruger", "pkey"); got != "bruger_pkey" {
		t.Errorf("short name changed: %s", got)
	}
}
