package decode

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/os2mo-cdc/mocdc/capture/assemble"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// decodeAll reads every column of row twice: with the getter its type
// calls for, and generically with Value. It returns the generic values.
func decodeAll(row *Row) ([]any, error) {
	vals := make([]any, row.NumColumns())
	for i, c := range row.Relation().Columns {
		var err error
		switch c.TypeName {
		case "uuid":
			_, _, err = row.UUID(c.Name)
		case "int2", "int4", "int8":
			_, _, err = row.Int(c.Name)
		case "bool":
			_, _, err = row.Bool(c.Name)
		case "timestamptz", "timestamp":
			_, _, err = row.Timestamp(c.Name)
		case "tstzrange":
			_, _, err = row.Period(c.Name)
		case "tstzmultirange":
			_, _, err = row.Periods(c.Name)
		case "registreringbase":
			_, _, err = row.Registrering(c.Name)
		case "virkning":
			_, _, err = row.Virkning(c.Name)
		case "text[]", "varchar[]":
			_, _, err = row.TextArray(c.Name)
		case "json", "jsonb":
			_, _, err = row.JSON(c.Name)
		default:
			_, _, err = row.Text(c.Name)
		}
		if err != nil {
			return nil, err
		}
		if vals[i], err = row.Value(i); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

// render formats a decoded value for golden files.
func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case mo.Period:
		return renderPeriod(v)
	case []mo.Period:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = renderPeriod(p)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case lora.Registrering:
		return fmt.Sprintf("(%s %s %s %q)", renderPeriod(v.Period), v.Lifecycle, v.Actor, v.Note)
	case lora.Virkning:
		return fmt.Sprintf("(%s %q %q %q)", renderPeriod(v.Period), v.Actor, v.ActorType, v.Note)
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}

func renderTime(t time.Time) string {
	switch {
	case mo.IsNegInf(t):
		return "-inf"
	case mo.IsPosInf(t):
		return "inf"
	}
	return t.In(mo.Location).Format("2006-01-02T15:04:05.999999Z07:00")
}

func renderPeriod(p mo.Period) string {
	if p == (mo.Period{}) {
		return "empty"
	}
	return "[" + renderTime(p.From) + "," + renderTime(p.To) + ")"
}

func TestV1Corpus(t *testing.T) {
	for _, budget := range []int64{0, 4 << 10} {
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) {
			testV1Corpus(t, budget)
		})
	}
}

func testV1Corpus(t *testing.T, budget int64) {
	txns := assembleCorpus(t, "pgoutput-v1.jsonl", assemble.Config{MemoryBudget: budget, SpillDir: t.TempDir()})
	ops := readOps(t)
	if len(txns) != 346 || len(ops) != 346 {
		t.Fatalf("%d transactions, %d ops; want 346 each", len(txns), len(ops))
	}
	d := New()
	ops2 := map[Op]int{}
	regUpdates := 0
	type tableStats struct {
		ins, upd int
		rel      *Relation
		first    []any
	}
	tables := map[string]*tableStats{}
	var regs bytes.Buffer
	fmt.Fprintln(&regs, "# xid op table id object [registration period) lifecycle actor note")
	for i, txn := range txns {
		o := ops[i]
		if txn.Xid != o.Xid {
			t.Fatalf("transaction %d: xid %d, ops.jsonl says %d", i, txn.Xid, o.Xid)
		}
		var opened, closed *lora.Registrering
		for msg, err := range txn.Messages() {
			if err != nil {
				t.Fatal(err)
			}
			row, err := d.Decode(msg, txn.Streamed)
			if err != nil {
				t.Fatalf("xid %d: %v", txn.Xid, err)
			}
			if row == nil {
				continue
			}
			ops2[row.Op()]++
			vals, err := decodeAll(row)
			if err != nil {
				t.Fatalf("xid %d: %v", txn.Xid, err)
			}
			ts := tables[row.Table()]
			if ts == nil {
				ts = &tableStats{rel: row.Relation(), first: vals}
				tables[row.Table()] = ts
			}
			if row.Op() == OpInsert {
				ts.ins++
			} else {
				ts.upd++
			}
			if !strings.HasSuffix(row.Table(), "_registrering") {
				continue
			}
			class := strings.TrimSuffix(row.Table(), "_registrering")
			reg, null, err := row.Registrering("registrering")
			if err != nil || null {
				t.Fatalf("xid %d: registrering %v null=%v", txn.Xid, err, null)
			}
			obj, _, err := row.UUID(class + "_id")
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := row.Int("id")
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&regs, "%d %s %s %d %s %s %s %s %q\n", txn.Xid, row.Op(), row.Table(), id, obj,
				renderPeriod(reg.Period), reg.Lifecycle, reg.Actor, reg.Note)
			switch row.Op() {
			case OpInsert:
				if obj.String() != o.UUID {
					t.Errorf("xid %d: registration of %s, op says %s", txn.Xid, obj, o.UUID)
				}
				opened = &reg
			case OpUpdate:
				regUpdates++
				closed = &reg
			}
		}
		// The registration the op wrote: lifecycle, actor and note as the
		// driver called OS2mo's procedure.
		if opened == nil {
			t.Errorf("xid %d (%s %s): no new registration", txn.Xid, o.Kind, o.MOType)
			continue
		}
		want := map[string]lora.Lifecycle{"create": lora.Opstaaet, "update": lora.Rettet, "terminate": lora.Rettet, "delete": lora.Slettet}[o.Kind]
		if opened.Lifecycle != want || opened.Actor != o.Actor || opened.Note != o.Note || !opened.Open() {
			t.Errorf("xid %d (%s): registration %+v, want %s by %s with note %q, open", txn.Xid, o.Kind, *opened, want, o.Actor, o.Note)
		}
		if o.Kind == "create" {
			if closed != nil {
				t.Errorf("xid %d: create closes a registration", txn.Xid)
			}
			continue
		}
		// Every change closes the previous registration at exactly the
		// instant the new one starts.
		if closed == nil || !closed.Period.To.Equal(opened.Period.From) || closed.Open() {
			t.Errorf("xid %d (%s): closed %+v, opened %+v", txn.Xid, o.Kind, closed, *opened)
		}
	}
	for _, txn := range txns {
		if err := txn.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if ops2[OpInsert] != 2923 || ops2[OpUpdate] != 866 || ops2[OpDelete] != 0 {
		t.Errorf("rows: %v, want 2923 inserts and 866 updates", ops2)
	}
	if regUpdates != 42 {
		t.Errorf("%d *_registrering updates, want 42", regUpdates)
	}
	if budget != 0 {
		return // the golden files are the same for both paths
	}
	golden(t, "v1-registrations.golden", regs.Bytes())
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	var tb bytes.Buffer
	for _, n := range names {
		ts := tables[n]
		fmt.Fprintf(&tb, "%s.%s: %d insert, %d update\n", ts.rel.Namespace, n, ts.ins, ts.upd)
		for i, c := range ts.rel.Columns {
			key := ""
			if c.Key {
				key = " key"
			}
			fmt.Fprintf(&tb, "  %-48s %s\n", c.Name+" "+c.TypeName+key, render(ts.first[i]))
		}
	}
	golden(t, "v1-tables.golden", tb.Bytes())
}

func TestV2Streaming(t *testing.T) {
	for _, budget := range []int64{0, 4 << 10} {
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) {
			txns := assembleCorpus(t, "pgoutput-v2-streaming.jsonl", assemble.Config{MemoryBudget: budget, SpillDir: t.TempDir()})
			if len(txns) != 1 || txns[0].Xid != 2390 || !txns[0].Streamed {
				t.Fatalf("got %d transactions, want the streamed xid 2390", len(txns))
			}
			txn := txns[0]
			defer txn.Close()
			d := New()
			counts := map[Op]int{}
			people := map[string]string{} // bruger uuid → surname
			regOf := map[int64]string{}   // registration id → bruger uuid
			for msg, err := range txn.Messages() {
				if err != nil {
					t.Fatal(err)
				}
				row, err := d.Decode(msg, true)
				if err != nil {
					t.Fatal(err)
				}
				if row == nil {
					continue
				}
				if row.Xid() != 2390 {
					t.Errorf("row xid %d, want 2390", row.Xid())
				}
				counts[row.Op()]++
				if _, err := decodeAll(row); err != nil {
					t.Fatal(err)
				}
				switch row.Table() {
				case "bruger_registrering":
					id, _, _ := row.Int("id")
					u, _, _ := row.UUID("bruger_id")
					regOf[id] = u.String()
				case "bruger_attr_udvidelser":
					if row.Op() != OpInsert {
						continue
					}
					reg, _, _ := row.Int("bruger_registrering_id")
					given, _, _ := row.Text("fornavn")
					surname, _, _ := row.Text("efternavn")
					if given != "Stream" {
						t.Errorf("fornavn %q", given)
					}
					people[regOf[reg]] = surname
				}
			}
			if counts[OpInsert] != 2100 || counts[OpUpdate] != 600 {
				t.Errorf("rows %v, want 2100 inserts and 600 updates", counts)
			}
			for i := 1; i <= 300; i++ {
				sum := md5.Sum([]byte(fmt.Sprintf("mocdc-stream-person-%d", i)))
				u := uuid.UUID(sum).String()
				if got, want := people[u], fmt.Sprintf("Person %d", i); got != want {
					t.Errorf("person %s: efternavn %q, want %q", u, got, want)
				}
			}
		})
	}
}
