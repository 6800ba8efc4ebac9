package build

import (
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/capture/decode"
	"github.com/os2mo-cdc/mocdc/schema/lora"
)

// part says which table of a class a row belongs to.
type part uint8

const (
	partObject part = iota
	partRegistrering
	partEgenskaber
	partUdvidelser
	partTils
	partRelation
	partIgnored
	partActor
	partAccessOperation
	partAccessRead
)

type tableInfo struct {
	class *lora.Class
	part  part
}

// tables maps every MO store table name to its class and part.
var tables = func() map[string]tableInfo {
	m := map[string]tableInfo{
		lora.ActorTable:                   {part: partActor},
		lora.AccessLogOperationTable:      {part: partAccessOperation},
		lora.AccessLogReadTable:           {part: partAccessRead},
		"klasse_attr_egenskaber_soegeord": {class: lora.Klasse, part: partIgnored},
	}
	for _, c := range lora.Classes {
		m[c.Table()] = tableInfo{c, partObject}
		m[c.RegistreringTable()] = tableInfo{c, partRegistrering}
		m[c.EgenskaberTable()] = tableInfo{c, partEgenskaber}
		m[c.UdvidelserTable()] = tableInfo{c, partUdvidelser}
		m[c.TilsTable()] = tableInfo{c, partTils}
		m[c.RelationTable()] = tableInfo{c, partRelation}
	}
	return m
}()

// NewRegistration is a registration a transaction created, with the complete
// state its transaction wrote.
type NewRegistration struct {
	Class *lora.Class
	ID    int64
	UUID  string
	Reg   lora.Registrering
	State lora.State
	// Closed is the id of the registration this one replaced (from the
	// closing UPDATE in the same transaction), 0 for a create.
	Closed int64
}

// Read is one access-log operation a transaction recorded.
type Read struct {
	ID        string
	Time      time.Time
	Actor     string
	Model     string
	Operation string
	Arguments []byte
	UUIDs     []string
}

// Actor is a row of the actor table.
type Actor struct {
	UUID string
	Name string
}

// Rejected is a row that cannot be used, with the reason; it goes to the
// dead-letter topic.
type Rejected struct {
	Table        string
	Registration int64
	Reason       string
}

// Collector gathers the rows of one committed transaction into new
// registrations, reads and actor changes. It drops the active_tils touch
// UPDATEs of attribute and relation rows by table and operation alone,
// without decoding them. Not safe for concurrent use; Reset between
// transactions.
type Collector struct {
	regs    []*NewRegistration
	byID    map[regKey]*NewRegistration
	closing map[regKey]int64 // object uuid+class -> closed registration id
	reads   []*Read
	readIdx map[string]*Read
	actors  []Actor
	dead    []Rejected
	Dropped int // touch updates dropped
}

type regKey struct {
	class *lora.Class
	id    int64
	uuid  string
}

// Reset empties c for the next transaction.
func (c *Collector) Reset() {
	c.regs = c.regs[:0]
	c.byID = map[regKey]*NewRegistration{}
	c.closing = map[regKey]int64{}
	c.reads = c.reads[:0]
	c.readIdx = map[string]*Read{}
	c.actors = c.actors[:0]
	c.dead = c.dead[:0]
	c.Dropped = 0
}

// Registrations returns the new registrations in the order their
// transaction created them, each with the id of the one it closed.
func (c *Collector) Registrations() []*NewRegistration {
	for _, r := range c.regs {
		r.Closed = c.closing[regKey{class: r.Class, uuid: r.UUID}]
	}
	return c.regs
}

// Reads returns the access-log operations, in insert order.
func (c *Collector) Reads() []*Read { return c.reads }

// Actors returns the actor rows inserted or updated.
func (c *Collector) Actors() []Actor { return c.actors }

// Rejected returns the rows that could not be used.
func (c *Collector) Rejected() []Rejected { return c.dead }

// Add takes one decoded row. Rows of tables outside the MO store are
// ignored; rows that cannot be used are recorded as Rejected. The error is
// only for rows whose values do not decode (the caller dead-letters the
// transaction's row and goes on).
func (c *Collector) Add(row *decode.Row) error {
	if c.byID == nil {
		c.Reset()
	}
	if row.Schema() != lora.Schema {
		return nil
	}
	ti, ok := tables[row.Table()]
	if !ok {
		return nil
	}
	op := row.Op()
	switch ti.part {
	case partObject, partIgnored:
		return nil
	case partRegistrering:
		return c.registrering(ti.class, row)
	case partEgenskaber, partUdvidelser, partRelation:
		if op != decode.OpInsert {
			// The touch trigger's UPDATE ... SET id = id; never an MO change.
			c.Dropped++
			return nil
		}
	case partTils:
		if op != decode.OpInsert {
			c.dead = append(c.dead, Rejected{Table: row.Table(), Reason: fmt.Sprintf("%s of a state row: OS2mo only inserts them", op)})
			return nil
		}
	case partActor:
		if op == decode.OpDelete {
			return nil
		}
		return c.actor(row)
	case partAccessOperation:
		if op == decode.OpInsert {
			return c.accessOperation(row)
		}
		return nil
	case partAccessRead:
		if op == decode.OpInsert {
			return c.accessRead(row)
		}
		return nil
	}
	fk, null, err := row.Int(ti.class.RegistreringFK())
	if err != nil {
		return err
	}
	reg := c.byID[regKey{class: ti.class, id: fk}]
	if null || reg == nil {
		c.dead = append(c.dead, Rejected{Table: row.Table(), Registration: fk,
			Reason: "row of a registration not created in the same transaction (OS2mo writes a registration's rows with it)"})
		return nil
	}
	virk, _, err := row.Virkning("virkning")
	if err != nil {
		return err
	}
	switch ti.part {
	case partTils:
		v, _, err := row.Text(ti.class.Tils)
		if err != nil {
			return err
		}
		reg.State.Tils = append(reg.State.Tils, lora.TilsRow{Period: virk.Period, Value: v})
	case partRelation:
		r := lora.RelationRow{Period: virk.Period}
		if r.Kind, _, err = row.Text("rel_type"); err != nil {
			return err
		}
		if r.UUID, _, err = uuidOf(row, "rel_maal_uuid"); err != nil {
			return err
		}
		if r.URN, _, err = row.Text("rel_maal_urn"); err != nil {
			return err
		}
		if r.ObjektType, _, err = row.Text("objekt_type"); err != nil {
			return err
		}
		reg.State.Relations = append(reg.State.Relations, r)
	case partEgenskaber:
		vals, err := attrValues(row, ti.class.Egenskaber, true)
		if err != nil {
			return err
		}
		reg.State.Egenskaber = append(reg.State.Egenskaber, lora.AttrRow{Period: virk.Period, Values: vals})
	case partUdvidelser:
		vals, err := attrValues(row, ti.class.Udvidelser, false)
		if err != nil {
			return err
		}
		reg.State.Udvidelser = append(reg.State.Udvidelser, lora.AttrRow{Period: virk.Period, Values: vals})
	}
	return nil
}

func (c *Collector) registrering(class *lora.Class, row *decode.Row) error {
	id, _, err := row.Int("id")
	if err != nil {
		return err
	}
	uuid, _, err := uuidOf(row, class.ObjectFK())
	if err != nil {
		return err
	}
	if row.Op() == decode.OpUpdate {
		// The closing UPDATE of the previous registration.
		c.closing[regKey{class: class, uuid: uuid}] = id
		return nil
	}
	if row.Op() != decode.OpInsert {
		return nil
	}
	reg, _, err := row.Registrering("registrering")
	if err != nil {
		return err
	}
	nr := &NewRegistration{Class: class, ID: id, UUID: uuid, Reg: reg}
	c.regs = append(c.regs, nr)
	c.byID[regKey{class: class, id: id}] = nr
	return nil
}

// attrValues reads the class columns the mapping knows; columns added to the
// table later are ignored, columns missing from it read as NULL.
func attrValues(row *decode.Row, cols []lora.Column, egenskaber bool) (map[string]any, error) {
	vals := make(map[string]any, len(cols)+1)
	if egenskaber {
		v, null, err := row.Text("brugervendtnoegle")
		if err != nil {
			return nil, err
		}
		vals["brugervendtnoegle"] = nullable(v, null)
	}
	for _, col := range cols {
		if !row.Has(col.Name) {
			vals[col.Name] = nil
			continue
		}
		var (
			v    any
			null bool
			err  error
		)
		switch col.Type {
		case "boolean":
			v, null, err = row.Bool(col.Name)
		case "int":
			v, null, err = row.Int(col.Name)
		case "text[]":
			v, null, err = row.TextArray(col.Name)
		default:
			v, null, err = row.Text(col.Name)
		}
		if err != nil {
			return nil, err
		}
		if null {
			v = nil
		}
		vals[col.Name] = v
	}
	return vals, nil
}

// uuidOf reads a uuid column as text, "" when NULL.
func uuidOf(row *decode.Row, col string) (string, bool, error) {
	u, null, err := row.UUID(col)
	if err != nil || null {
		return "", null, err
	}
	return u.String(), false, nil
}

func nullable(s string, null bool) any {
	if null {
		return nil
	}
	return s
}

func (c *Collector) actor(row *decode.Row) error {
	id, _, err := uuidOf(row, "actor")
	if err != nil {
		return err
	}
	name, _, err := row.Text("name")
	if err != nil {
		return err
	}
	c.actors = append(c.actors, Actor{UUID: id, Name: name})
	return nil
}

func (c *Collector) accessOperation(row *decode.Row) error {
	r := &Read{}
	var err error
	if r.ID, _, err = uuidOf(row, "id"); err != nil {
		return err
	}
	if r.Time, _, err = row.Timestamp("time"); err != nil {
		return err
	}
	if r.Actor, _, err = uuidOf(row, "actor"); err != nil {
		return err
	}
	if r.Model, _, err = row.Text("model"); err != nil {
		return err
	}
	if r.Operation, _, err = row.Text("operation"); err != nil {
		return err
	}
	if r.Arguments, _, err = row.JSON("arguments"); err != nil {
		return err
	}
	r.Arguments = append([]byte(nil), r.Arguments...)
	r.UUIDs = []string{}
	c.reads = append(c.reads, r)
	c.readIdx[r.ID] = r
	return nil
}

func (c *Collector) accessRead(row *decode.Row) error {
	op, _, err := uuidOf(row, "operation_id")
	if err != nil {
		return err
	}
	u, _, err := uuidOf(row, "uuid")
	if err != nil {
		return err
	}
	r := c.readIdx[op]
	if r == nil {
		c.dead = append(c.dead, Rejected{Table: lora.AccessLogReadTable, Reason: "read of operation " + op + " not inserted in the same transaction"})
		return nil
	}
	r.UUIDs = append(r.UUIDs, u)
	return nil
}

// IsTouchTable reports whether an UPDATE of table can only be an active_tils
// touch: the attribute and relation tables.
func IsTouchTable(table string) bool {
	ti, ok := tables[table]
	return ok && (ti.part == partEgenskaber || ti.part == partUdvidelser || ti.part == partRelation)
}

// Reject records a row that cannot be used, with the reason.
func (c *Collector) Reject(table, reason string) {
	c.dead = append(c.dead, Rejected{Table: table, Reason: reason})
}
