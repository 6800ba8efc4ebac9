package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// namespace is the uuid v5 namespace of every demo uuid.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/os2mo-cdc/mocdc/schema/demo"))

// fixedUUID derives a uuid that does not depend on the seed.
func fixedUUID(name string) string { return uuid.NewSHA1(namespace, []byte(name)).String() }

// ids derives the uuids of one seed: "seed/kind/i" hashed with uuid v5, so
// the same seed always gives the same uuids.
type ids struct {
	prefix string
	buf    []byte
}

func newIDs(scope string) *ids { return &ids{prefix: scope + "/"} }

func (g *ids) uuid(kind string, i int) string {
	g.buf = append(g.buf[:0], g.prefix...)
	g.buf = append(g.buf, kind...)
	g.buf = append(g.buf, '/')
	g.buf = strconv.AppendInt(g.buf, int64(i), 10)
	return uuid.NewSHA1(namespace, g.buf).String()
}

// randUUID draws a uuid v4-shaped value from r (objectGUIDs, DAR ids).
func randUUID(r *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

// cpr returns a valid-looking CPR number for birth date d: DDMMYY and a
// four-digit serial whose first digit encodes the century (0-3 for 1900-1999,
// 4 or 9 up to 2036, 5-8 from 2000) and whose last digit is odd for men.
func cpr(d time.Time, serial int, male bool) string {
	var century int
	switch y := d.Year(); {
	case y < 2000:
		century = serial % 4 // 0-3
	default:
		century = 4 + 5*(serial%2) // 4 or 9
	}
	rest := (serial / 4) % 1000
	last := rest % 10
	if (last%2 == 1) != male {
		last = (last + 1) % 10
	}
	rest = rest - rest%10 + last
	return fmt.Sprintf("%02d%02d%02d%d%03d", d.Day(), int(d.Month()), d.Year()%100, century, rest)
}

// asciiFold turns a Danish name into account-name letters: æ→ae, ø→oe, å→aa.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'æ':
			b.WriteString("ae")
		case 'ø':
			b.WriteString("oe")
		case 'å':
			b.WriteString("aa")
		case ' ', '-', '.':
		default:
			if r >= 'a' && r <= 'z' {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// date returns the MO date of t.
func date(t time.Time) *mo.Date {
	d := mo.DateOf(t)
	return &d
}

// day returns local midnight of t's day in mo.Location.
func day(t time.Time) time.Time {
	t = t.In(mo.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, mo.Location)
}

// addDays adds n days to a local midnight (DST-safe).
func addDays(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// between returns a day uniformly drawn from [a, b] (both local midnights).
func between(r *rand.Rand, a, b time.Time) time.Time {
	n := int(b.Sub(a).Hours()/24 + 0.5)
	if n <= 0 {
		return a
	}
	return addDays(a, r.IntN(n+1))
}
