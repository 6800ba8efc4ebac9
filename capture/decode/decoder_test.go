package decode

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, d *Decoder, msg []byte, inStream bool) *Row {
	t.Helper()
	row, err := d.Decode(msg, inStream)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

func probeDecoder(t *testing.T) *Decoder {
	t.Helper()
	d := New()
	mustDecode(t, d, relationMsg(7, "probe", col{"id", oidInt8}, col{"name", oidText}), false)
	return d
}

func TestDecodeOps(t *testing.T) {
	d := probeDecoder(t)
	ins := mustDecode(t, d, insertMsg(7, txt("1"), txt("a")), false)
	if ins.Op() != OpInsert || ins.Table() != "probe" || ins.Schema() != "actual_state" || ins.Xid() != 0 {
		t.Errorf("insert: %v %s.%s xid %d", ins.Op(), ins.Schema(), ins.Table(), ins.Xid())
	}
	if _, _, ok := ins.Old(); ok {
		t.Error("insert has an old image")
	}

	upd := binary.BigEndian.AppendUint32([]byte{'U'}, 7)
	upd = append(append(upd, 'K'), tuple(txt("1"), null())...)
	upd = append(append(upd, 'N'), tuple(txt("2"), txt("b"))...)
	row := mustDecode(t, d, upd, false)
	old, kind, ok := row.Old()
	if row.Op() != OpUpdate || !ok || kind != 'K' {
		t.Fatalf("update: op %v old %v %c", row.Op(), ok, kind)
	}
	if n, _, _ := old.Int("id"); n != 1 {
		t.Errorf("old id %d", n)
	}
	if n, _, _ := row.Int("id"); n != 2 {
		t.Errorf("new id %d", n)
	}
	if !old.Null("name") || row.Null("name") {
		t.Error("null flags wrong")
	}

	del := binary.BigEndian.AppendUint32([]byte{'D'}, 7)
	del = append(append(del, 'O'), tuple(txt("3"), txt("c"))...)
	row = mustDecode(t, d, del, false)
	if s, _, _ := row.Text("name"); row.Op() != OpDelete || s != "c" {
		t.Errorf("delete: %v %q", row.Op(), s)
	}

	// Streamed: the xid follows the type byte.
	streamed := append([]byte{'I', 0, 0, 9, 0x56}, insertMsg(7, txt("4"), txt("d"))[1:]...)
	row = mustDecode(t, d, streamed, true)
	if row.Xid() != 2390 {
		t.Errorf("streamed xid %d", row.Xid())
	}
	if s, _, _ := row.Text("name"); s != "d" {
		t.Errorf("streamed name %q", s)
	}
}

func TestDecodeColumns(t *testing.T) {
	d := probeDecoder(t)
	row := mustDecode(t, d, insertMsg(7, txt("1"), unchanged()), false)
	if !row.Has("name") || row.Has("nope") || !row.Unchanged("name") {
		t.Error("Has/Unchanged wrong")
	}
	if _, _, err := row.Text("name"); !errors.Is(err, ErrUnchanged) {
		t.Errorf("unchanged: %v", err)
	}
	if _, err := row.Value(1); !errors.Is(err, ErrUnchanged) {
		t.Errorf("Value of unchanged: %v", err)
	}
	_, _, err := row.Text("nope")
	var ce *ColumnError
	if !errors.Is(err, ErrNoColumn) || !errors.As(err, &ce) || ce.Table != "probe" || ce.Column != "nope" {
		t.Errorf("missing column: %v", err)
	}
	_, _, err = row.Period("id")
	if !errors.Is(err, ErrWrongType) || !strings.Contains(err.Error(), "actual_state.probe column id (type int8)") {
		t.Errorf("wrong type: %v", err)
	}
	if b, isBin, null, err := row.Raw("id"); string(b) != "1" || isBin || null || err != nil {
		t.Errorf("Raw: %q %v %v %v", b, isBin, null, err)
	}
}

func TestCloneAndReannounce(t *testing.T) {
	d := probeDecoder(t)
	msg := insertMsg(7, txt("1"), txt("first"))
	kept := mustDecode(t, d, msg, false).Clone()
	for i := range msg {
		msg[i] = 0 // the stream reuses its buffer
	}
	// The relation is announced again with another layout.
	mustDecode(t, d, relationMsg(7, "probe", col{"id", oidInt8}, col{"name", oidText}, col{"extra", oidBool}), false)
	row := mustDecode(t, d, insertMsg(7, txt("2"), txt("second"), txt("t")), false)
	if s, _, err := kept.Text("name"); s != "first" || err != nil {
		t.Errorf("clone: %q %v", s, err)
	}
	if kept.Has("extra") || !row.Has("extra") {
		t.Error("layouts mixed up")
	}
	if v, _, _ := row.Bool("extra"); !v {
		t.Error("extra not true")
	}
	// The old layout no longer fits.
	if _, err := d.Decode(insertMsg(7, txt("3"), txt("x")), false); err == nil {
		t.Error("tuple with the old column count accepted")
	}
}

func TestDecodeErrors(t *testing.T) {
	d := probeDecoder(t)
	_, err := d.Decode(insertMsg(99, txt("1")), false)
	var ue *UnknownRelationError
	if !errors.As(err, &ue) || ue.ID != 99 || !strings.Contains(err.Error(), "99") {
		t.Errorf("unknown relation: %v", err)
	}
	trunc := binary.BigEndian.AppendUint32([]byte{'T'}, 2)
	trunc = append(trunc, 1)
	trunc = binary.BigEndian.AppendUint32(trunc, 7)
	trunc = binary.BigEndian.AppendUint32(trunc, 8)
	_, err = d.Decode(trunc, false)
	var te *TruncateError
	if !errors.As(err, &te) || strings.Join(te.Relations, " ") != "actual_state.probe 8" || !te.Cascade {
		t.Errorf("truncate: %v", err)
	}
	for _, m := range [][]byte{[]byte("M"), []byte("O")} {
		if row, err := d.Decode(m, false); row != nil || err != nil {
			t.Errorf("%q: %v %v", m[0], row, err)
		}
	}
	good := insertMsg(7, txt("1"), txt("a"))
	bad := map[string][]byte{
		"empty":          nil,
		"begin":          {'B', 0},
		"trailing":       append(good[:len(good):len(good)], 0),
		"truncated":      good[:len(good)-1],
		"column count":   insertMsg(7, txt("1")),
		"value kind":     append(append(binary.BigEndian.AppendUint32([]byte{'I'}, 7), 'N'), 0, 2, 'x', 'n'),
		"insert tag":     append(binary.BigEndian.AppendUint32([]byte{'I'}, 7), 'K', 0, 0),
		"delete tag":     append(binary.BigEndian.AppendUint32([]byte{'D'}, 7), 'N', 0, 2, 'n', 'n'),
		"update old":     append(binary.BigEndian.AppendUint32([]byte{'U'}, 7), 'O', 0, 2, 'n', 'n'),
		"short stream":   {'I', 0},
		"relation short": relationMsg(8, "x", col{"a", oidText})[:20],
		"relation cols":  append(relationMsg(8, "x")[:len(relationMsg(8, "x"))-2], 0xff, 0xff),
		"type short":     typeMsg(1, "x")[:6],
		"truncate count": append(binary.BigEndian.AppendUint32([]byte{'T'}, 5), 0),
	}
	for name, m := range bad {
		if row, err := d.Decode(m, name == "short stream"); err == nil {
			t.Errorf("%s: got %v, want an error", name, row)
		}
	}
}
