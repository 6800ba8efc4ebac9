package store

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/os2mo-cdc/mocdc/schema/lora"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The rows of one registration are lora's types; the aliases let callers
// write store.State as the brief and older code do.
type (
	// AttrRow is one egenskaber or udvidelser row. Values holds the class
	// columns (egenskaber also "brugervendtnoegle", a string): string for
	// text, bool for boolean, int64 (or int, int32) for integer, []string for
	// text[]; a missing key or nil is NULL.
	AttrRow = lora.AttrRow
	// TilsRow is one state row: Aktiv/Inaktiv or Publiceret/IkkePubliceret.
	TilsRow = lora.TilsRow
	// RelationRow is one relation row; exactly one of UUID and URN is set,
	// ObjektType "" is NULL.
	RelationRow = lora.RelationRow
	// State is an object's complete LoRa state in one registration.
	State = lora.State
)

// Meta is the registration's audit data: the actor uuid (brugerref, ""
// for NULL), the note ("" for NULL) and the lifecycle (livscykluskode).
// An empty Lifecycle means the operation's default: Opstaaet for Create,
// Rettet for Update, Slettet for Delete.
type Meta struct {
	Actor     string
	Note      string
	Lifecycle lora.Lifecycle
}

// Object is one object for CreateMany.
type Object struct {
	UUID  string
	Meta  Meta
	State State
}

// Errors of the writer; they are returned wrapped with the class and uuid,
// test with errors.Is.
var (
	// ErrInvalid: the input (uuid, state rows, lifecycle) is malformed;
	// nothing was written.
	ErrInvalid = errors.New("invalid input")
	// ErrExists: Create of a uuid that is already in the store.
	ErrExists = errors.New("object already exists")
	// ErrNotFound: no object with that uuid.
	ErrNotFound = errors.New("no such object")
	// ErrNoOpenRegistration: the object exists but has no registration with
	// upper bound infinity (someone closed it by hand).
	ErrNoOpenRegistration = errors.New("object has no open registration")
	// ErrDeleted: the object's open registration is Slettet; only a re-import
	// (Update with lifecycle Importeret) may follow.
	ErrDeleted = errors.New("object is deleted")
	// ErrTransition: the lifecycle change is not one OS2mo allows (e.g.
	// Rettet after Passiveret).
	ErrTransition = errors.New("lifecycle transition not allowed")
	// ErrNoChange: Update with the state the object already has; like OS2mo,
	// the transaction was rolled back and nothing was written.
	ErrNoChange = errors.New("update changes nothing")
)

// allowedTransition is OS2mo's _as_valid_registrering_livscyklus_transition.
func allowedTransition(from, to lora.Lifecycle) bool {
	switch from {
	case lora.Opstaaet, lora.Importeret, lora.Rettet:
		return to == lora.Passiveret || to == lora.Slettet || to == lora.Rettet
	case lora.Passiveret:
		return to == lora.Importeret || to == lora.Slettet
	case lora.Slettet:
		return to == lora.Importeret
	}
	return false
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// checkUUID accepts the canonical 8-4-4-4-12 hex form.
func checkUUID(what, s string) error {
	if len(s) != 36 {
		return invalid("%s %q is not a uuid", what, s)
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return invalid("%s %q is not a uuid", what, s)
			}
		default:
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
				return invalid("%s %q is not a uuid", what, s)
			}
		}
	}
	return nil
}

func checkMeta(m Meta) error {
	if m.Actor != "" {
		return checkUUID("actor", m.Actor)
	}
	return nil
}

func checkPeriod(what string, p mo.Period) error {
	if p.From.IsZero() || p.To.IsZero() {
		return invalid("%s: period %v has a zero time; use mo.NegInf/mo.PosInf for open bounds", what, p)
	}
	empty := mo.IsPosInf(p.From) || mo.IsNegInf(p.To) ||
		!mo.IsNegInf(p.From) && !mo.IsPosInf(p.To) && !p.From.Truncate(time.Microsecond).Before(p.To.Truncate(time.Microsecond))
	if empty {
		return invalid("%s: period [%s, %s) is empty", what, p.From, p.To)
	}
	return nil
}

// validate checks s against class c before anything is written, so that
// errors name the row rather than a constraint.
func validate(c *lora.Class, s State) error {
	for i, r := range s.Egenskaber {
		if err := checkAttr(c, fmt.Sprintf("egenskaber[%d]", i), egenskaberColumns(c), r); err != nil {
			return err
		}
		if _, ok := r.Values["brugervendtnoegle"].(string); !ok {
			return invalid("egenskaber[%d]: brugervendtnoegle must be a string (NOT NULL), got %T", i, r.Values["brugervendtnoegle"])
		}
	}
	if len(s.Udvidelser) > 0 && len(c.Udvidelser) == 0 {
		return invalid("class %s has no udvidelser", c.Name)
	}
	for i, r := range s.Udvidelser {
		if err := checkAttr(c, fmt.Sprintf("udvidelser[%d]", i), c.Udvidelser, r); err != nil {
			return err
		}
	}
	for i, r := range s.Tils {
		what := fmt.Sprintf("tils[%d]", i)
		if err := checkPeriod(what, r.Period); err != nil {
			return err
		}
		if r.Value == "" || !contains(c.TilsValues(), r.Value) {
			return invalid("%s: %s value %q is not one of %s", what, c.Tils, r.Value, strings.Join(c.TilsValues()[:2], ", "))
		}
	}
	for i, r := range s.Relations {
		what := fmt.Sprintf("relations[%d] (%s)", i, r.Kind)
		if err := checkPeriod(what, r.Period); err != nil {
			return err
		}
		if !contains(c.RelationKinds(), r.Kind) {
			return invalid("%s: %q is not a relation kind of %s", what, r.Kind, c.Name)
		}
		switch {
		case r.UUID != "" && r.URN != "":
			return invalid("%s: both UUID and URN are set", what)
		case r.UUID == "" && r.URN == "":
			return invalid("%s: neither UUID nor URN is set", what)
		case r.UUID != "":
			if err := checkUUID(what+" target", r.UUID); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkAttr(c *lora.Class, what string, cols []lora.Column, r AttrRow) error {
	if err := checkPeriod(what, r.Period); err != nil {
		return err
	}
	for k := range r.Values {
		if columnIndex(cols, k) < 0 {
			return invalid("%s: %s has no column %q", what, c.Name, k)
		}
	}
	for _, col := range cols {
		if _, err := encodeValue(col, r.Values[col.Name]); err != nil {
			return invalid("%s: %v", what, err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func columnIndex(cols []lora.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// egenskaberColumns are the columns of C_attr_egenskaber in table order,
// brugervendtnoegle first.
func egenskaberColumns(c *lora.Class) []lora.Column {
	return append([]lora.Column{{Name: "brugervendtnoegle", Type: "text"}}, c.Egenskaber...)
}

// encodeValue returns v as the text PostgreSQL reads for a column of the
// column's type (Valid false for NULL). The writer sends every class column
// as text and casts it in SQL, so one statement shape fits all classes.
func encodeValue(col lora.Column, v any) (pgtype.Text, error) {
	if v == nil {
		return pgtype.Text{}, nil
	}
	bad := func() (pgtype.Text, error) {
		return pgtype.Text{}, fmt.Errorf("column %s (%s): unsupported value %#v (%T)", col.Name, col.Type, v, v)
	}
	switch col.Type {
	case "text":
		if s, ok := v.(string); ok {
			return pgtype.Text{String: s, Valid: true}, nil
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return pgtype.Text{String: strconv.FormatBool(b), Valid: true}, nil
		}
	case "int":
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int32:
			n = int64(x)
		case int64:
			n = x
		default:
			return bad()
		}
		if n < -1<<31 || n >= 1<<31 {
			return pgtype.Text{}, fmt.Errorf("column %s: %d does not fit in integer", col.Name, n)
		}
		return pgtype.Text{String: strconv.FormatInt(n, 10), Valid: true}, nil
	case "text[]":
		var elems []string
		switch x := v.(type) {
		case []string:
			if x == nil {
				return pgtype.Text{}, nil
			}
			elems = x
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return bad()
				}
				elems = append(elems, s)
			}
		default:
			return bad()
		}
		return pgtype.Text{String: arrayLiteral(elems), Valid: true}, nil
	default:
		return pgtype.Text{}, fmt.Errorf("column %s: unknown lora type %q", col.Name, col.Type)
	}
	return bad()
}

// arrayLiteral writes a PostgreSQL text[] literal with every element quoted.
func arrayLiteral(elems []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// decodeValue turns what pgx scanned into the Values type documented on
// AttrRow: int64 for integer, []string for text[].
func decodeValue(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int:
		return int64(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return v
}

// bound is a period bound as pgx sends it; the mo infinities become
// PostgreSQL's.
func bound(t time.Time) pgtype.Timestamptz {
	switch {
	case mo.IsNegInf(t):
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	case mo.IsPosInf(t):
		return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// fromBound is the inverse of bound, in MO's time zone.
func fromBound(b pgtype.Timestamptz) time.Time {
	switch b.InfinityModifier {
	case pgtype.NegativeInfinity:
		return mo.NegInf
	case pgtype.Infinity:
		return mo.PosInf
	}
	return b.Time.In(mo.Location)
}

// periodKey identifies a period at PostgreSQL's precision (microseconds).
func periodKey(p mo.Period) string { return boundKey(p.From) + "/" + boundKey(p.To) }

func boundKey(t time.Time) string {
	switch {
	case mo.IsNegInf(t):
		return "-inf"
	case mo.IsPosInf(t):
		return "inf"
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// prefixOf reports whether p is q or its first part: same start, not longer.
func prefixOf(p, q mo.Period) bool {
	return boundKey(p.From) == boundKey(q.From) &&
		(mo.IsPosInf(q.To) || !mo.IsPosInf(p.To) && !p.To.After(q.To))
}

// keyed is one row reduced to comparable keys: its period and its values.
type keyed struct {
	period mo.Period
	pkey   string
	vkey   string
}

func (k keyed) full() string { return k.pkey + "|" + k.vkey }

func attrKeys(cols []lora.Column, rows []AttrRow) []keyed {
	out := make([]keyed, len(rows))
	for i, r := range rows {
		var b strings.Builder
		for _, col := range cols {
			t, _ := encodeValue(col, r.Values[col.Name])
			if t.Valid {
				b.WriteString(strconv.Quote(t.String))
			} else {
				b.WriteString("NULL")
			}
			b.WriteByte(',')
		}
		out[i] = keyed{period: r.Period, pkey: periodKey(r.Period), vkey: b.String()}
	}
	return out
}

func tilsKeys(rows []TilsRow) []keyed {
	out := make([]keyed, len(rows))
	for i, r := range rows {
		out[i] = keyed{period: r.Period, pkey: periodKey(r.Period), vkey: r.Value}
	}
	return out
}

func relationKeys(rows []RelationRow) []keyed {
	out := make([]keyed, len(rows))
	for i, r := range rows {
		out[i] = keyed{period: r.Period, pkey: periodKey(r.Period),
			vkey: r.Kind + "|" + strings.ToLower(r.UUID) + "|" + r.URN + "|" + r.ObjektType}
	}
	return out
}

// sameRows reports whether a and b hold the same rows, in any order.
func sameRows(a, b []keyed) bool {
	if len(a) != len(b) {
		return false
	}
	fa, fb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		fa[i], fb[i] = a[i].full(), b[i].full()
	}
	sort.Strings(fa)
	sort.Strings(fb)
	for i := range fa {
		if fa[i] != fb[i] {
			return false
		}
	}
	return true
}

func sameState(c *lora.Class, a, b State) bool {
	return sameRows(attrKeys(egenskaberColumns(c), a.Egenskaber), attrKeys(egenskaberColumns(c), b.Egenskaber)) &&
		sameRows(attrKeys(c.Udvidelser, a.Udvidelser), attrKeys(c.Udvidelser, b.Udvidelser)) &&
		sameRows(tilsKeys(a.Tils), tilsKeys(b.Tils)) &&
		sameRows(relationKeys(a.Relations), relationKeys(b.Relations))
}

// split divides the rows of a new registration the way OS2mo's as_update
// inserts them: first the rows the change gives ("given"), then the rows
// carried over from the previous registration ("carried": a row equal to an
// old one, or the leading part of an old row with the same values that the
// change cut short). It returns indexes into cur.
//
// Only the split of the tils rows is visible in the WAL: each tils INSERT
// statement fires the touch trigger once per row at its end, so the touch
// UPDATEs follow each group. The write request holds only the complete new
// state, so the split is inferred; it matches OS2mo for edits from a date
// and for terminations.
func split(cur, old []keyed) (given, carried []int) {
	for i, n := range cur {
		kept := false
		for _, o := range old {
			if n.vkey == o.vkey && (n.pkey == o.pkey || prefixOf(n.period, o.period)) {
				kept = true
				break
			}
		}
		if kept {
			carried = append(carried, i)
		} else {
			given = append(given, i)
		}
	}
	return given, carried
}

func pick[T any](rows []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = rows[j]
	}
	return out
}
