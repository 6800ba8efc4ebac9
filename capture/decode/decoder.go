package decode

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/jackc/pglogrepl"
)

// Relation is a table as an R message announced it. A Relation never changes
// once built: a new R message for the same id makes a new Relation, so rows
// decoded (or cloned) earlier keep the layout they were sent with.
type Relation struct {
	ID        uint32
	Namespace string // schema, e.g. actual_state
	Name      string // table name without schema
	// ReplicaIdentity is pgoutput's setting: 'd' default, 'n' nothing,
	// 'f' full, 'i' index.
	ReplicaIdentity byte
	Columns         []Column

	index map[string]int
}

// Column is one column of a Relation, in tuple order.
type Column struct {
	Name     string
	TypeOID  uint32
	TypeName string // SQL name: text, uuid, virkning, livscykluskode, "oid 12345" when unknown
	Modifier int32  // atttypmod, -1 when none
	Key      bool   // part of the replica identity key

	kind kind
}

// Index returns the position of column name, or -1.
func (r *Relation) Index(name string) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	return -1
}

// Decoder turns the messages of committed transactions into Rows. It keeps
// the relations and types the stream announced; feed it every message of
// every transaction in order (R and Y messages included), with inStream set
// for transactions that arrived streamed (their messages carry an xid after
// the type byte).
//
// A Decoder is not safe for concurrent use. Its caches live as long as the
// replication session; after a reconnect the server announces everything
// again, so a Decoder may be kept or replaced.
type Decoder struct {
	relations map[uint32]*Relation
	types     map[uint32]Type
	last      *Relation // the relation of the previous row: rows come in runs
	row       Row
}

// New returns a Decoder with empty caches.
func New() *Decoder {
	return &Decoder{relations: map[uint32]*Relation{}, types: map[uint32]Type{}}
}

// Relation returns the relation announced under id.
func (d *Decoder) Relation(id uint32) (*Relation, bool) {
	r, ok := d.relations[id]
	return r, ok
}

// Type returns the type announced under oid.
func (d *Decoder) Type(oid uint32) (Type, bool) {
	t, ok := d.types[oid]
	return t, ok
}

// Decode handles one pgoutput message. For INSERT, UPDATE and DELETE it
// returns the Row; for R and Y it updates the caches and returns nil; logical
// decoding messages (M) and origins (O) are no rows and return nil. TRUNCATE
// returns a *TruncateError; a row of a relation that was never announced a
// *UnknownRelationError; a message that breaks the protocol a plain error.
// Transaction framing (B, C, S, E, c, A) is the assembler's and is an error
// here.
//
// The Row borrows msg and is overwritten by the next call: use it (or Clone
// it) before decoding the next message and before msg's buffer is reused.
// Decode itself reads no values, so a row that is skipped costs one pass
// over its column headers.
func (d *Decoder) Decode(msg []byte, inStream bool) (*Row, error) {
	if len(msg) == 0 {
		return nil, malformed(0, "empty message")
	}
	typ := msg[0]
	p := 1
	var xid uint32
	if inStream {
		switch pglogrepl.MessageType(typ) {
		case pglogrepl.MessageTypeRelation, pglogrepl.MessageTypeType,
			pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate, pglogrepl.MessageTypeDelete,
			pglogrepl.MessageTypeTruncate, pglogrepl.MessageTypeMessage:
			if len(msg) < 5 {
				return nil, malformed(typ, "streamed message without xid")
			}
			xid = binary.BigEndian.Uint32(msg[1:])
			p = 5
		}
	}
	switch pglogrepl.MessageType(typ) {
	case pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate, pglogrepl.MessageTypeDelete:
		return d.decodeRow(Op(typ), xid, msg, p)
	case pglogrepl.MessageTypeRelation:
		return nil, d.relation(msg[p:])
	case pglogrepl.MessageTypeType:
		return nil, d.typ(msg[p:])
	case pglogrepl.MessageTypeTruncate:
		return nil, d.truncate(msg[p:])
	case pglogrepl.MessageTypeMessage, pglogrepl.MessageTypeOrigin:
		return nil, nil
	}
	return nil, malformed(typ, "not a row, relation or type message")
}

// reader walks a message body with bounds checks; the first failure sticks.
type reader struct {
	b   []byte
	p   int
	bad bool
}

func (r *reader) u8() byte {
	if r.bad || r.p >= len(r.b) {
		r.bad = true
		return 0
	}
	r.p++
	return r.b[r.p-1]
}

func (r *reader) u16() uint16 {
	if r.bad || len(r.b)-r.p < 2 {
		r.bad = true
		return 0
	}
	r.p += 2
	return binary.BigEndian.Uint16(r.b[r.p-2:])
}

func (r *reader) u32() uint32 {
	if r.bad || len(r.b)-r.p < 4 {
		r.bad = true
		return 0
	}
	r.p += 4
	return binary.BigEndian.Uint32(r.b[r.p-4:])
}

func (r *reader) cstring() string {
	if r.bad {
		return ""
	}
	i := bytes.IndexByte(r.b[r.p:], 0)
	if i < 0 {
		r.bad = true
		return ""
	}
	s := string(r.b[r.p : r.p+i])
	r.p += i + 1
	return s
}

// relation handles an R message body (after type byte and xid).
func (d *Decoder) relation(body []byte) error {
	r := reader{b: body}
	rel := &Relation{ID: r.u32(), Namespace: r.cstring(), Name: r.cstring(), ReplicaIdentity: r.u8()}
	n := int(r.u16())
	if r.bad {
		return malformed('R', "truncated header")
	}
	// Every column needs at least 10 bytes; this also bounds the
	// allocation below for garbage input.
	if n*10 > len(body)-r.p {
		return malformed('R', "relation %d claims %d columns in %d bytes", rel.ID, n, len(body)-r.p)
	}
	rel.Columns = make([]Column, n)
	rel.index = make(map[string]int, n)
	for i := range rel.Columns {
		c := &rel.Columns[i]
		c.Key = r.u8()&1 != 0
		c.Name = r.cstring()
		c.TypeOID = r.u32()
		c.Modifier = int32(r.u32())
		c.kind, c.TypeName = resolve(c.TypeOID, d.types)
		rel.index[c.Name] = i
	}
	if r.bad {
		return malformed('R', "truncated column list of relation %d", rel.ID)
	}
	if r.p != len(body) {
		return malformed('R', "%d trailing bytes after relation %d", len(body)-r.p, rel.ID)
	}
	d.relations[rel.ID] = rel
	if d.last != nil && d.last.ID == rel.ID {
		d.last = rel
	}
	return nil
}

// typ handles a Y message body.
func (d *Decoder) typ(body []byte) error {
	r := reader{b: body}
	t := Type{OID: r.u32(), Namespace: r.cstring(), Name: r.cstring()}
	if r.bad || r.p != len(body) {
		return malformed('Y', "truncated or overlong")
	}
	d.types[t.OID] = t
	return nil
}

// truncate turns a T message body into a *TruncateError.
func (d *Decoder) truncate(body []byte) error {
	r := reader{b: body}
	n := r.u32()
	opts := r.u8()
	if r.bad || uint64(n)*4 != uint64(len(body)-r.p) {
		return malformed('T', "bad relation count %d", n)
	}
	e := &TruncateError{Cascade: opts&1 != 0, RestartIdentity: opts&2 != 0}
	for i := uint32(0); i < n; i++ {
		id := r.u32()
		if rel, ok := d.relations[id]; ok {
			e.Relations = append(e.Relations, rel.Namespace+"."+rel.Name)
		} else {
			e.Relations = append(e.Relations, strconv.FormatUint(uint64(id), 10))
		}
	}
	return e
}

// decodeRow handles I, U and D; p is the offset of the relation id.
func (d *Decoder) decodeRow(op Op, xid uint32, msg []byte, p int) (*Row, error) {
	typ := byte(op)
	if len(msg)-p < 5 {
		return nil, malformed(typ, "truncated")
	}
	id := binary.BigEndian.Uint32(msg[p:])
	p += 4
	rel := d.last
	if rel == nil || rel.ID != id {
		var ok bool
		if rel, ok = d.relations[id]; !ok {
			return nil, &UnknownRelationError{ID: id}
		}
		d.last = rel
	}
	row := &d.row
	row.op, row.xid, row.oldKind = op, xid, 0
	row.Tuple.rel, row.Tuple.data = rel, msg
	row.old.rel, row.old.data = rel, msg
	row.old.fields = row.old.fields[:0]
	tag := msg[p]
	p++
	var err error
	switch op {
	case OpInsert:
		if tag != 'N' {
			return nil, malformed(typ, "tuple tag %q, want N", tag)
		}
		row.Tuple.fields, p, err = scanTuple(msg, p, rel, row.Tuple.fields)
	case OpUpdate:
		if tag == 'K' || tag == 'O' {
			row.oldKind = tag
			if row.old.fields, p, err = scanTuple(msg, p, rel, row.old.fields); err != nil {
				return nil, malformed(typ, "old tuple: %v", err)
			}
			if p >= len(msg) {
				return nil, malformed(typ, "no new tuple")
			}
			tag = msg[p]
			p++
		}
		if tag != 'N' {
			return nil, malformed(typ, "tuple tag %q, want N", tag)
		}
		row.Tuple.fields, p, err = scanTuple(msg, p, rel, row.Tuple.fields)
	case OpDelete:
		if tag != 'K' && tag != 'O' {
			return nil, malformed(typ, "tuple tag %q, want K or O", tag)
		}
		row.oldKind = tag
		row.Tuple.fields, p, err = scanTuple(msg, p, rel, row.Tuple.fields)
	}
	if err != nil {
		return nil, malformed(typ, "%s.%s: %v", rel.Namespace, rel.Name, err)
	}
	if p != len(msg) {
		return nil, malformed(typ, "%s.%s: %d trailing bytes", rel.Namespace, rel.Name, len(msg)-p)
	}
	return row, nil
}
