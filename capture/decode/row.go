package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Op is what a row message did to its row.
type Op byte

// The row operations, as their pgoutput message types.
const (
	OpInsert Op = 'I'
	OpUpdate Op = 'U'
	OpDelete Op = 'D'
)

func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("op(%q)", byte(o))
}

// field locates one column value in the message: its tuple kind ('t', 'b',
// 'n' or 'u') and, for 't' and 'b', its bytes msg[off:end].
type field struct {
	kind     byte
	off, end uint32
}

// Tuple is one image of a row: the values of its columns, in the formats the
// server sent them, decoded only when a getter asks. Getters take a column
// name and return the value, whether it is NULL, and an error (a
// *ColumnError) when the column does not exist, was not sent (ErrUnchanged),
// has another type (ErrWrongType) or holds bytes that do not parse.
type Tuple struct {
	rel    *Relation
	data   []byte
	fields []field
}

// Row is one row change: its relation, operation and values. For INSERT and
// UPDATE the embedded Tuple is the new image; for DELETE it is the old image
// the replica identity sends (key columns only, or the full row).
//
// A Row returned by Decoder.Decode borrows the message and is overwritten by
// the next Decode; Clone keeps it.
type Row struct {
	Tuple
	op      Op
	xid     uint32
	old     Tuple
	oldKind byte
}

// Op returns the operation.
func (r *Row) Op() Op { return r.op }

// Table returns the table name without schema.
func (r *Row) Table() string { return r.rel.Name }

// Schema returns the table's schema.
func (r *Row) Schema() string { return r.rel.Namespace }

// Relation returns the relation the row belongs to.
func (r *Row) Relation() *Relation { return r.rel }

// Xid returns the (sub)transaction id a streamed message carried, or 0 for a
// message of a transaction that was not streamed.
func (r *Row) Xid() uint32 { return r.xid }

// Old returns the old image of an UPDATE when the replica identity sends one:
// kind 'K' holds the key columns only (the key changed), 'O' the full row
// (REPLICA IDENTITY FULL). ok is false when the UPDATE carries the new image
// only, which is what MO's default replica identity gives, and for INSERT
// and DELETE.
func (r *Row) Old() (t *Tuple, kind byte, ok bool) {
	if r.op != OpUpdate || r.oldKind == 0 {
		return nil, 0, false
	}
	return &r.old, r.oldKind, true
}

// Clone returns a copy of r that owns its bytes and survives the next
// Decode and the reuse of the message buffer.
func (r *Row) Clone() *Row {
	c := *r
	c.Tuple.data = append([]byte(nil), r.data...)
	c.old.data = c.Tuple.data
	fs := make([]field, len(r.Tuple.fields)+len(r.old.fields))
	n := copy(fs, r.Tuple.fields)
	copy(fs[n:], r.old.fields)
	c.Tuple.fields = fs[:n:n]
	c.old.fields = fs[n:]
	return &c
}

// scanTuple indexes the TupleData at msg[p:] into fields (reusing its
// storage) and returns the offset after it. It reads no values.
func scanTuple(msg []byte, p int, rel *Relation, fields []field) ([]field, int, error) {
	if len(msg)-p < 2 {
		return fields, p, errors.New("truncated column count")
	}
	n := int(binary.BigEndian.Uint16(msg[p:]))
	p += 2
	if n != len(rel.Columns) {
		return fields, p, fmt.Errorf("tuple has %d columns, relation has %d", n, len(rel.Columns))
	}
	fields = fields[:0]
	for i := 0; i < n; i++ {
		if p >= len(msg) {
			return fields, p, fmt.Errorf("truncated at column %d", i)
		}
		k := msg[p]
		p++
		switch k {
		case 'n', 'u':
			fields = append(fields, field{kind: k})
		case 't', 'b':
			if len(msg)-p < 4 {
				return fields, p, fmt.Errorf("truncated length of column %d", i)
			}
			l := binary.BigEndian.Uint32(msg[p:])
			p += 4
			if uint64(l) > uint64(len(msg)-p) {
				return fields, p, fmt.Errorf("column %d: length %d exceeds message", i, l)
			}
			fields = append(fields, field{kind: k, off: uint32(p), end: uint32(p) + l})
			p += int(l)
		default:
			return fields, p, fmt.Errorf("column %d: unknown value kind %q", i, k)
		}
	}
	return fields, p, nil
}

// NumColumns returns the number of columns.
func (t *Tuple) NumColumns() int { return len(t.fields) }

// Has reports whether the relation has column col.
func (t *Tuple) Has(col string) bool { return t.rel.Index(col) >= 0 }

// Null reports whether column col is NULL. A missing column is not NULL.
func (t *Tuple) Null(col string) bool {
	i := t.rel.Index(col)
	return i >= 0 && t.fields[i].kind == 'n'
}

// Unchanged reports whether column col is an unchanged TOASTed value that
// the server did not send.
func (t *Tuple) Unchanged(col string) bool {
	i := t.rel.Index(col)
	return i >= 0 && t.fields[i].kind == 'u'
}

// Raw returns column col's bytes as sent and whether they are binary ('b')
// rather than text. NULL gives null == true; an unchanged value ErrUnchanged.
// The bytes borrow the message.
func (t *Tuple) Raw(col string) (b []byte, isBinary, null bool, err error) {
	_, f, err := t.lookup(col)
	if err != nil || f.kind == 'n' {
		return nil, false, f.kind == 'n', err
	}
	return t.data[f.off:f.end], f.kind == 'b', false, nil
}

// lookup finds column col. f.kind is 'n' for NULL; a missing column and an
// unchanged value are errors.
func (t *Tuple) lookup(col string) (int, field, error) {
	i := t.rel.Index(col)
	if i < 0 {
		return -1, field{}, &ColumnError{Schema: t.rel.Namespace, Table: t.rel.Name, Column: col, Type: "-", Err: ErrNoColumn}
	}
	f := t.fields[i]
	if f.kind == 'u' {
		return i, f, t.errAt(i, ErrUnchanged)
	}
	return i, f, nil
}

// errAt wraps err as a *ColumnError of column i.
func (t *Tuple) errAt(i int, err error) error {
	c := &t.rel.Columns[i]
	return &ColumnError{Schema: t.rel.Namespace, Table: t.rel.Name, Column: c.Name, Type: c.TypeName, Err: err}
}

// wrongType is the error of getter on column i, which wants one of the
// types named by want.
func (t *Tuple) wrongType(i int, getter, want string) error {
	return t.errAt(i, fmt.Errorf("%w: %s needs %s", ErrWrongType, getter, want))
}
