package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// testCtx is a context that ends with the test (and after 5 minutes).
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// freshStore returns the DSN of a new, empty database and a connection to it
// on which Init has run.
func freshStore(t testing.TB) (string, *pgx.Conn) {
	t.Helper()
	dsn := testenv.NewPostgresDB(t, "store")
	conn := connect(t, dsn)
	if err := Init(testCtx(t), conn); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return dsn, conn
}

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func newUUID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func day(s string) time.Time { return mo.Date(s).Day() }

func openFrom(from time.Time) mo.Period { return mo.Period{From: from, To: mo.PosInf} }

// sampleValue is a value of column col; n varies it.
func sampleValue(col lora.Column, n int) any {
	switch col.Type {
	case "boolean":
		return n%2 == 1
	case "int":
		return int64(n)
	case "text[]":
		return []string{fmt.Sprintf("ref-%d", n), `with "quote" and \ and ,`, "ø"}
	}
	return fmt.Sprintf("%s værdi %d", col.Name, n)
}

// sampleState is a state of class c valid from from: one egenskaber row with
// every column set, one udvidelser row (if the class has them), Aktiv from
// from, one target of the first 0..1 kind and two of the first 0..n kind
// (one a URN).
func sampleState(t testing.TB, c *lora.Class, from time.Time, n int) State {
	p := openFrom(from)
	eg := map[string]any{"brugervendtnoegle": fmt.Sprintf("bvn-%s-%d", c.Name, n)}
	for _, col := range c.Egenskaber {
		eg[col.Name] = sampleValue(col, n)
	}
	s := State{
		Egenskaber: []AttrRow{{Period: p, Values: eg}},
		Tils:       []TilsRow{{Period: p, Value: c.ActiveValue()}},
		Relations:  []RelationRow{{Period: p, Kind: c.ZeroToOne[0], UUID: newUUID(t)}},
	}
	if len(c.Udvidelser) > 0 {
		udv := map[string]any{}
		for _, col := range c.Udvidelser {
			udv[col.Name] = sampleValue(col, n)
		}
		s.Udvidelser = []AttrRow{{Period: p, Values: udv}}
	}
	if len(c.ZeroToMany) > 0 {
		k := c.ZeroToMany[0]
		s.Relations = append(s.Relations,
			RelationRow{Period: p, Kind: k, UUID: newUUID(t), ObjektType: "engagement"},
			RelationRow{Period: p, Kind: k, URN: fmt.Sprintf("urn:magenta.dk:test:%d", n)})
	}
	return s
}

// changedState is s changed from cut on as an MO edit plus termination
// would: the egenskaber row split with new values from cut, the 0..1
// target replaced from cut, and Aktiv only before cut (Inaktiv after).
func changedState(t testing.TB, c *lora.Class, s State, cut time.Time) State {
	from := s.Tils[0].Period.From
	before, after := mo.Period{From: from, To: cut}, openFrom(cut)
	out := State{Udvidelser: s.Udvidelser}
	old := s.Egenskaber[0]
	newer := map[string]any{}
	for k, v := range old.Values {
		newer[k] = v
	}
	newer["brugervendtnoegle"] = "changed"
	out.Egenskaber = []AttrRow{{Period: after, Values: newer}, {Period: before, Values: old.Values}}
	out.Tils = []TilsRow{{Period: after, Value: c.TilsValues()[1]}, {Period: before, Value: c.ActiveValue()}}
	rel := s.Relations[0]
	out.Relations = []RelationRow{
		{Period: after, Kind: rel.Kind, UUID: newUUID(t)},
		{Period: before, Kind: rel.Kind, UUID: rel.UUID},
	}
	out.Relations = append(out.Relations, s.Relations[1:]...)
	return out
}
