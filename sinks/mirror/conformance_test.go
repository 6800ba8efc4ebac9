package mirror

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/runner/runnertest"
)

// The runner's conformance suite against the mirror, per dialect and mode:
// an object is a person whose given name carries the version.
func TestConformance(t *testing.T) {
	for _, mode := range []Mode{Actual, Historic} {
		t.Run(string(mode), func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, dialect string) {
				runnertest.Run(t, mirrorHarness(dialect, mode))
			})
		})
	}
}

func mirrorHarness(dialect string, mode Mode) runnertest.Harness {
	return func(t *testing.T, prefix string) *runnertest.Target {
		cfg := newTarget(t, dialect, mode)
		topics := event.Topics{Prefix: prefix + "mo"}
		m, db := openMirror(t, cfg, topics)
		person := func(k string, given string) []byte {
			return envelope(event.Update, obj(mo.Person, k, ver("2020-01-01", "", map[string]any{
				"user_key": "bvn-" + k[len(k)-4:], "given_name": given, "surname": "Æblegård-Søndergaard", "cpr_number": "0101701234",
			})))
		}
		d := m.d
		return &runnertest.Target{
			Sink:   m,
			Topics: m.Topics(),
			Topic:  topics.Object(mo.Person),
			Key:    func(i int) string { return id(1, i) },
			Put:    func(k string, v int) []byte { return person(k, "v"+strconv.Itoa(v)) },
			Delete: func(k string) [][]byte { return [][]byte{deleteEnvelope(mo.Person, k), nil} },
			// A given name longer than brugere.fornavn (varchar(250)).
			Poison: func(k string) []byte { return person(k, strings.Repeat("ø", 251)) },
			State: func(ctx context.Context) (map[string]int, error) {
				rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s FROM %s", d.Quote("uuid"), d.Quote("fornavn"), d.Quote(tBrugere)))
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				out := map[string]int{}
				for rows.Next() {
					var u, given string
					if err := rows.Scan(&u, &given); err != nil {
						return nil, err
					}
					if _, dup := out[u]; dup {
						return nil, fmt.Errorf("brugere holds %s twice", u)
					}
					n, err := strconv.Atoi(strings.TrimPrefix(given, "v"))
					if err != nil {
						return nil, fmt.Errorf("brugere.fornavn %q of %s", given, u)
					}
					out[u] = n
				}
				return out, rows.Err()
			},
			Dump: func(ctx context.Context) (string, error) {
				var sb strings.Builder
				for _, q := range []string{
					selectSQL(d, tBrugere, []string{"id", "uuid", "bvn", "fornavn", "efternavn", "cpr", "startdato", "slutdato"}, "uuid"),
					selectSQL(d, tObjects, []string{"type", "uuid", "json", "next_change"}, "uuid"),
					selectSQL(d, tRefs, []string{"ref", "type", "uuid"}, "ref", "uuid"),
					selectSQL(d, tOffsets, []string{"topic", "partition_no", "next_offset"}, "topic", "partition_no"),
					fmt.Sprintf("SELECT COUNT(*) FROM %s", d.Quote(tKvittering)),
				} {
					fmt.Fprintln(&sb, query(t, db, q))
				}
				return sb.String(), nil
			},
		}
	}
}
