package decode

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Encoders for hand-built messages and binary values.

type col struct {
	name string
	oid  uint32
}

func relationMsg(id uint32, table string, cols ...col) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'R'}, id)
	b = append(append(b, "actual_state"...), 0)
	b = append(append(b, table...), 0)
	b = append(b, 'd')
	b = binary.BigEndian.AppendUint16(b, uint16(len(cols)))
	for i, c := range cols {
		flag := byte(0)
		if i == 0 {
			flag = 1
		}
		b = append(b, flag)
		b = append(append(b, c.name...), 0)
		b = binary.BigEndian.AppendUint32(b, c.oid)
		b = binary.BigEndian.AppendUint32(b, math.MaxUint32) // typmod -1
	}
	return b
}

func typeMsg(oid uint32, name string) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'Y'}, oid)
	b = append(append(b, "actual_state"...), 0)
	return append(append(b, name...), 0)
}

// val is one tuple value: kind 'b', 't', 'n' or 'u' and its bytes.
type val struct {
	kind byte
	b    []byte
}

func bin(b []byte) val { return val{'b', b} }
func txt(s string) val { return val{'t', []byte(s)} }
func null() val        { return val{kind: 'n'} }
func unchanged() val   { return val{kind: 'u'} }
func tuple(vs ...val) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vs)))
	for _, v := range vs {
		b = append(b, v.kind)
		if v.kind == 'b' || v.kind == 't' {
			b = binary.BigEndian.AppendUint32(b, uint32(len(v.b)))
			b = append(b, v.b...)
		}
	}
	return b
}

func insertMsg(rel uint32, vs ...val) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'I'}, rel)
	return append(append(b, 'N'), tuple(vs...)...)
}

func be32(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
func be64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// binTS encodes a timestamptz.
func binTS(t time.Time) []byte {
	switch {
	case t.Equal(mo.PosInf):
		return be64(math.MaxInt64)
	case t.Equal(mo.NegInf):
		return be64(math.MinInt64)
	}
	return be64(t.Sub(time.Unix(pgEpoch, 0)).Microseconds())
}

// binRng encodes a tstzrange with flags and the present bounds.
func binRng(flags byte, bounds ...time.Time) []byte {
	b := []byte{flags}
	for _, t := range bounds {
		v := binTS(t)
		b = append(append(b, be32(int32(len(v)))...), v...)
	}
	return b
}

type recField struct {
	oid uint32
	b   []byte // nil = NULL
}

func binRec(fs ...recField) []byte {
	b := be32(int32(len(fs)))
	for _, f := range fs {
		b = binary.BigEndian.AppendUint32(b, f.oid)
		if f.b == nil {
			b = append(b, be32(-1)...)
			continue
		}
		b = append(append(b, be32(int32(len(f.b)))...), f.b...)
	}
	return b
}

func binArr(elem uint32, elems ...*string) []byte {
	if len(elems) == 0 {
		return append(append(be32(0), be32(0)...), binary.BigEndian.AppendUint32(nil, elem)...)
	}
	b := append(be32(1), be32(0)...)
	b = binary.BigEndian.AppendUint32(b, elem)
	b = append(append(b, be32(int32(len(elems)))...), be32(1)...)
	for _, e := range elems {
		if e == nil {
			b = append(b, be32(-1)...)
			continue
		}
		b = append(append(b, be32(int32(len(*e)))...), *e...)
	}
	return b
}

func ptr(s string) *string { return &s }

const (
	oidEnum         = 17000
	oidRegistrering = 17157
	oidVirkning     = 17143
)

var (
	actorUUID = uuid.MustParse(actor)
	t1        = time.Date(2026, 11, 25, 19, 20, 7, 357057000, mo.Location)
	t2        = time.Date(2026, 11, 25, 19, 20, 7, 803012000, mo.Location)
)

func TestBinaryValues(t *testing.T) {
	cases := []struct {
		name string
		oid  uint32
		v    val
		get  func(r *Row) (any, bool, error)
		want any
		null bool
		err  string
	}{
		{name: "uuid", oid: oidUUID, v: bin(actorUUID[:]), get: getUUID, want: actorUUID},
		{name: "uuid short", oid: oidUUID, v: bin(actorUUID[:15]), get: getUUID, err: "16"},
		{name: "uuid as text", oid: oidUUID, v: bin(actorUUID[:]), get: getText, want: actor},
		{name: "int8", oid: oidInt8, v: bin(be64(-42)), get: getInt, want: int64(-42)},
		{name: "int4", oid: oidInt4, v: bin(be32(370000)), get: getInt, want: int64(370000)},
		{name: "int2", oid: oidInt2, v: bin([]byte{0xff, 0xfe}), get: getInt, want: int64(-2)},
		{name: "int4 wrong length", oid: oidInt4, v: bin(be64(1)), get: getInt, err: "4"},
		{name: "int8 as text", oid: oidInt8, v: bin(be64(7)), get: getText, want: "7"},
		{name: "bool true", oid: oidBool, v: bin([]byte{1}), get: getBool, want: true},
		{name: "bool false", oid: oidBool, v: bin([]byte{0}), get: getBool, want: false},
		{name: "bool null", oid: oidBool, v: null(), get: getBool, want: false, null: true},
		{name: "text", oid: oidText, v: bin([]byte("Pædagog")), get: getText, want: "Pædagog"},
		{name: "varchar", oid: oidVarchar, v: bin([]byte("OrganisationFunktion")), get: getText, want: "OrganisationFunktion"},
		{name: "enum label", oid: oidEnum, v: bin([]byte("Aktiv")), get: getText, want: "Aktiv"},
		{name: "timestamptz", oid: oidTimestamptz, v: bin(binTS(t1)), get: getTime, want: t1},
		{name: "timestamptz +infinity", oid: oidTimestamptz, v: bin(be64(math.MaxInt64)), get: getTime, want: mo.PosInf},
		{name: "timestamptz -infinity", oid: oidTimestamptz, v: bin(be64(math.MinInt64)), get: getTime, want: mo.NegInf},
		{name: "timestamptz before 2000", oid: oidTimestamptz, v: bin(binTS(time.Date(1956, 8, 6, 0, 0, 0, 1000, mo.Location))), get: getTime,
			want: time.Date(1956, 8, 6, 0, 0, 0, 1000, mo.Location)},
		{name: "timestamp wall clock", oid: oidTimestamp, v: bin(be64(0)), get: getTime, want: time.Date(2000, 1, 1, 0, 0, 0, 0, mo.Location)},
		{name: "range [a,b)", oid: oidTstzrange, v: bin(binRng(rangeLBInc, t1, t2)), get: getPeriod, want: mo.Period{From: t1, To: t2}},
		{name: "range (a,b]", oid: oidTstzrange, v: bin(binRng(rangeUBInc, t1, t2)), get: getPeriod,
			want: mo.Period{From: t1.Add(micro), To: t2.Add(micro)}},
		{name: "range [-infinity,infinity)", oid: oidTstzrange, v: bin(binRng(rangeLBInc, mo.NegInf, mo.PosInf)), get: getPeriod, want: mo.Always},
		{name: "range [a,infinity)", oid: oidTstzrange, v: bin(binRng(rangeLBInc, t1, mo.PosInf)), get: getPeriod, want: mo.Period{From: t1, To: mo.PosInf}},
		{name: "range unbounded", oid: oidTstzrange, v: bin(binRng(rangeLBInf | rangeUBInf)), get: getPeriod, want: mo.Always},
		{name: "range [a,)", oid: oidTstzrange, v: bin(binRng(rangeLBInc|rangeUBInf, t1)), get: getPeriod, want: mo.Period{From: t1, To: mo.PosInf}},
		{name: "range empty", oid: oidTstzrange, v: bin([]byte{rangeEmpty}), get: getPeriod, want: mo.Period{}},
		{name: "range truncated", oid: oidTstzrange, v: bin(binRng(rangeLBInc, t1, t2)[:12]), get: getPeriod, err: "syntax"},
		{name: "range trailing", oid: oidTstzrange, v: bin(append(binRng(rangeLBInc, t1, t2), 0)), get: getPeriod, err: "trailing"},
		{name: "multirange", oid: oidTstzmultirange, v: bin(multi(binRng(rangeLBInc, mo.NegInf, t1), binRng(rangeLBInc, t2, mo.PosInf))), get: getPeriods,
			want: []mo.Period{{From: mo.NegInf, To: t1}, {From: t2, To: mo.PosInf}}},
		{name: "multirange empty", oid: oidTstzmultirange, v: bin(be32(0)), get: getPeriods, want: []mo.Period{}},
		{name: "multirange count too big", oid: oidTstzmultirange, v: bin(be32(1 << 30)), get: getPeriods, err: "claims"},
		{name: "registrering", oid: oidRegistrering, get: getRegistrering,
			v: bin(binRec(recField{oidTstzrange, binRng(rangeLBInc, t1, t2)}, recField{oidEnum, []byte("Opstaaet")},
				recField{oidUUID, actorUUID[:]}, recField{oidText, []byte("Oprettet i MO")})),
			want: lora.Registrering{Period: mo.Period{From: t1, To: t2}, Lifecycle: lora.Opstaaet, Actor: actor, Note: "Oprettet i MO"}},
		{name: "registrering null fields", oid: oidRegistrering, get: getRegistrering,
			v:    bin(binRec(recField{oidTstzrange, binRng(rangeLBInc, t1, mo.PosInf)}, recField{oidEnum, nil}, recField{oidUUID, nil}, recField{oidText, nil})),
			want: lora.Registrering{Period: mo.Period{From: t1, To: mo.PosInf}}},
		{name: "registrering wrong field type", oid: oidRegistrering, get: getRegistrering,
			v:   bin(binRec(recField{oidText, []byte("x")}, recField{oidEnum, nil}, recField{oidUUID, nil}, recField{oidText, nil})),
			err: "want tstzrange"},
		{name: "registrering three fields", oid: oidRegistrering, get: getRegistrering,
			v:   bin(binRec(recField{oidTstzrange, nil}, recField{oidEnum, nil}, recField{oidUUID, nil})),
			err: "fields"},
		{name: "virkning", oid: oidVirkning, get: getVirkning,
			v: bin(binRec(recField{oidTstzrange, binRng(rangeLBInc, mo.NegInf, mo.PosInf)}, recField{oidUUID, nil},
				recField{oidEnum, nil}, recField{oidText, []byte{}})),
			want: lora.Virkning{Period: mo.Always}},
		{name: "virkning with actor", oid: oidVirkning, get: getVirkning,
			v: bin(binRec(recField{oidTstzrange, []byte{rangeEmpty}}, recField{oidUUID, actorUUID[:]},
				recField{oidEnum, []byte("Bruger")}, recField{oidText, []byte("n")})),
			want: lora.Virkning{Actor: actor, ActorType: "Bruger", Note: "n"}},
		{name: "text[]", oid: oidTextArray, v: bin(binArr(oidText, ptr("a"), nil, ptr("c d"))), get: getArray, want: []string{"a", "", "c d"}},
		{name: "text[] empty", oid: oidTextArray, v: bin(binArr(oidText)), get: getArray, want: []string{}},
		{name: "text[] of int", oid: oidTextArray, v: bin(binArr(oidInt4, ptr("xxxx"))), get: getArray, err: "element type"},
		{name: "jsonb", oid: oidJSONB, v: bin([]byte("\x01{\"a\":1}")), get: getJSON, want: `{"a":1}`},
		{name: "jsonb bad version", oid: oidJSONB, v: bin([]byte("\x02{}")), get: getJSON, err: "version"},
		{name: "json", oid: oidJSON, v: bin([]byte(`[1]`)), get: getJSON, want: `[1]`},
		{name: "unchanged toast", oid: oidText, v: unchanged(), get: getText, err: "unchanged"},
		{name: "unknown type in binary", oid: 1700, v: bin([]byte{0, 1}), get: getText, err: "text format"},
		{name: "unknown type in text", oid: 1700, v: txt("3.14"), get: getText, want: "3.14"},
		{name: "wrong getter", oid: oidText, v: bin([]byte("x")), get: getUUID, err: "wrong type: UUID needs uuid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New()
			for _, m := range [][]byte{typeMsg(oidEnum, "livscykluskode"), typeMsg(oidRegistrering, "registreringbase"),
				typeMsg(oidVirkning, "virkning"), relationMsg(7, "probe", col{"id", oidInt8}, col{"v", tc.oid})} {
				if _, err := d.Decode(m, false); err != nil {
					t.Fatal(err)
				}
			}
			row, err := d.Decode(insertMsg(7, bin(be64(1)), tc.v), false)
			if err != nil {
				t.Fatal(err)
			}
			got, null, err := tc.get(row)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", got, err, tc.err)
				}
				var ce *ColumnError
				if !errors.As(err, &ce) || ce.Table != "probe" || ce.Column != "v" || ce.Type == "" {
					t.Errorf("error %v does not name table, column and type", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if null != tc.null || !equalValue(got, tc.want) {
				t.Errorf("got %v (null %v), want %v (null %v)", got, null, tc.want, tc.null)
			}
			// Value agrees with the typed getter.
			if _, err := row.Value(1); err != nil {
				t.Errorf("Value: %v", err)
			}
		})
	}
}

func multi(ranges ...[]byte) []byte {
	b := be32(int32(len(ranges)))
	for _, r := range ranges {
		b = append(append(b, be32(int32(len(r)))...), r...)
	}
	return b
}

func equalValue(a, b any) bool {
	switch a := a.(type) {
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt)
	case mo.Period:
		bp, ok := b.(mo.Period)
		return ok && samePeriod(a, bp)
	case lora.Registrering:
		br, ok := b.(lora.Registrering)
		return ok && samePeriod(a.Period, br.Period) && a.Lifecycle == br.Lifecycle && a.Actor == br.Actor && a.Note == br.Note
	case lora.Virkning:
		bv, ok := b.(lora.Virkning)
		return ok && samePeriod(a.Period, bv.Period) && a.Actor == bv.Actor && a.ActorType == bv.ActorType && a.Note == bv.Note
	case []mo.Period:
		bp, ok := b.([]mo.Period)
		if !ok || len(a) != len(bp) || (a == nil) != (bp == nil) {
			return false
		}
		for i := range a {
			if !samePeriod(a[i], bp[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func getUUID(r *Row) (any, bool, error)   { return wrap(r.UUID("v")) }
func getText(r *Row) (any, bool, error)   { return wrap(r.Text("v")) }
func getInt(r *Row) (any, bool, error)    { return wrap(r.Int("v")) }
func getBool(r *Row) (any, bool, error)   { return wrap(r.Bool("v")) }
func getTime(r *Row) (any, bool, error)   { return wrap(r.Timestamp("v")) }
func getPeriod(r *Row) (any, bool, error) { return wrap(r.Period("v")) }
func getPeriods(r *Row) (any, bool, error) {
	return wrap(r.Periods("v"))
}
func getRegistrering(r *Row) (any, bool, error) { return wrap(r.Registrering("v")) }
func getVirkning(r *Row) (any, bool, error)     { return wrap(r.Virkning("v")) }
func getArray(r *Row) (any, bool, error)        { return wrap(r.TextArray("v")) }
func getJSON(r *Row) (any, bool, error) {
	b, null, err := r.JSON("v")
	return string(b), null, err
}

func wrap[T any](v T, null bool, err error) (any, bool, error) { return v, null, err }
