package mirror

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The example queries in docs/mirror.md run against a mirror of the test
// municipality and return what a BI user expects to see.
func TestDocsExampleQueries(t *testing.T) {
	doc, err := os.ReadFile("../../docs/mirror.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(-- [^\n]*)\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("docs/mirror.md has %d tagged SQL examples, want at least 4", len(blocks))
	}
	for _, dialect := range localDialects() {
		t.Run(dialect, func(t *testing.T) {
			k := newKafkaEnv(t)
			cfg := newTarget(t, dialect, Actual)
			runMirror(t, cfg, k, fixedClock)
			db, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d, _ := dialectFor(cfg)
			k.send(t, municipality()...)
			k.waitCaughtUp(t, db, d, time.Minute)
			tag := map[string]string{"postgres": "postgres", "mysql": "mariadb"}[dialect]
			ran := 0
			for _, b := range blocks {
				if !strings.Contains(b[1], tag) {
					continue
				}
				rows := query(t, db, b[2])
				if len(rows) == 0 {
					t.Errorf("example returned nothing:\n%s", b[2])
				}
				ran++
				joined := strings.Join(rows, "\n")
				switch {
				case strings.Contains(b[2], "FROM engagementer"):
					want := r(`Kommune\Børn og Unge\Skoler\Østre Skole`, "Åse Ærø", "Lærer", "Ansat", "1", "2015-08-01", "9999-12-31")
					if !strings.Contains(joined, want) {
						t.Errorf("engagement example lacks %q:\n%s", want, joined)
					}
				case strings.Contains(b[2], "fungerende_leder_uuid"):
					want := r(`Kommune\Børn og Unge`, "Børn og Unge", m1, "Søren Kierkegård", "Leder")
					if !strings.Contains(joined, want) {
						t.Errorf("manager example lacks %q:\n%s", want, joined)
					}
				case strings.Contains(b[2], "kvittering"):
					if strings.Contains(joined, "∅") {
						t.Errorf("freshness example has NULLs: %s", joined)
					}
				}
			}
			if ran < 2 {
				t.Fatalf("only %d examples for %s", ran, tag)
			}
		})
	}
}
