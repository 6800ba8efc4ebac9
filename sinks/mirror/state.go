package mirror

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	gojson "github.com/goccy/go-json"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// The mirror keeps the latest state of every object it mirrors in the
// target itself — mocdc_objects holds each object's latest state as JSON
// (encodeState) — together with the uuids each object refers to
// (mocdc_refs), written in the same transaction as the rows. The computed
// columns are derived from these
// tables inside the apply transaction, so they come out right after a
// restart without re-reading Kafka, and across instances that own
// different partitions.

// objKey names one object.
type objKey struct {
	typ  mo.Type
	uuid string
}

func (k objKey) String() string { return string(k.typ) + "/" + k.uuid }

// refQuery is one reverse lookup: objects of type typ ("" = any) that
// refer to ref.
type refQuery struct {
	typ mo.Type
	ref string
}

// state is a transaction's view of mocdc_objects and mocdc_refs. It caches
// what it read; after the batch's own objects are written it is told their
// new state (set), so it never disagrees with the database inside the
// transaction.
type state struct {
	s    *session
	d    Dialect
	objs map[objKey]*mo.Object // nil: known not to exist
	raw  map[objKey]string     // stored JSON of loaded objects
	refs map[refQuery][]objKey
}

func newState(s *session, d Dialect) *state {
	return &state{s: s, d: d, objs: map[objKey]*mo.Object{}, raw: map[objKey]string{}, refs: map[refQuery][]objKey{}}
}

const chunkSize = 500

func chunks(xs []string, n int) [][]string {
	var out [][]string
	for len(xs) > n {
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}

// load reads the objects not read yet.
func (st *state) load(ctx context.Context, keys []objKey) error {
	byType := map[mo.Type][]string{}
	for _, k := range keys {
		if _, ok := st.objs[k]; ok || k.uuid == "" {
			continue
		}
		st.objs[k] = nil
		byType[k.typ] = append(byType[k.typ], k.uuid)
	}
	d := st.d
	var qs []stateQuery
	for typ, uuids := range byType {
		for _, part := range chunks(uuids, chunkSize) {
			qs = append(qs, stateQuery{q: sqlLoadObjects(d, len(part)), args: append([]any{string(typ)}, d.ListArgs(part)...),
				what: fmt.Sprintf("load %s objects", typ), row: func(scan func(...any) error) error {
					var uuid, raw string
					if err := scan(&uuid, &raw); err != nil {
						return err
					}
					o, err := decodeState(raw)
					if err != nil {
						return fmt.Errorf("stored state of %s %s cannot be read (rebuild the mirror): %w", typ, uuid, err)
					}
					k := objKey{typ, uuid}
					st.objs[k], st.raw[k] = o, raw
					return nil
				}})
		}
	}
	return st.queryAll(ctx, qs)
}

// stateQuery is one read of the state tables; row receives each row.
type stateQuery struct {
	q, what string
	args    []any
	row     func(scan func(...any) error) error
}

// queryAll runs qs, in one round trip where the dialect can (PostgreSQL's
// pipeline, MySQL's multi-statement), else one after the other.
func (st *state) queryAll(ctx context.Context, qs []stateQuery) error {
	if len(qs) == 0 {
		return nil
	}
	if len(qs) > 1 {
		switch st.d.(type) {
		case *postgres:
			return pipelineQueries(ctx, st.s, qs)
		case *mysql:
			return multiQuery(ctx, st.s, qs)
		}
	}
	for _, q := range qs {
		if err := st.query(ctx, q.q, q.args, q.row); err != nil {
			return fmt.Errorf("%s: %w", q.what, err)
		}
	}
	return nil
}

func (st *state) query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	defer st.s.timed(q)()
	rows, err := st.s.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%w\n\tin: %s", err, abbreviate(q))
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// get returns a loaded object, nil when it does not exist (or was not
// loaded).
func (st *state) get(k objKey) *mo.Object { return st.objs[k] }

// set records the state the transaction wrote for k.
func (st *state) set(k objKey, o *mo.Object) { st.objs[k] = o }

// loadReferrers runs the reverse lookups not run yet: which objects of type
// typ ("" = any type) refer to each of refs.
func (st *state) loadReferrers(ctx context.Context, typ mo.Type, refs []string) error {
	var todo []string
	for _, r := range refs {
		q := refQuery{typ, r}
		if _, ok := st.refs[q]; ok || r == "" {
			continue
		}
		st.refs[q] = nil
		todo = append(todo, r)
	}
	d := st.d
	for _, part := range chunks(todo, chunkSize) {
		q := sqlReferrers(d, len(part), typ != "")
		args := d.ListArgs(part)
		if typ != "" {
			args = append(args, string(typ))
		}
		if err := st.query(ctx, q, args, func(scan func(...any) error) error {
			var ref, t, uuid string
			if err := scan(&ref, &t, &uuid); err != nil {
				return err
			}
			k := refQuery{typ, ref}
			st.refs[k] = append(st.refs[k], objKey{mo.Type(t), uuid})
			return nil
		}); err != nil {
			return fmt.Errorf("read %s: %w", tRefs, err)
		}
	}
	return nil
}

// classUsers returns the owners of export rows that show one of the
// classes (or facets) in a *_uuid column.
func (st *state) classUsers(ctx context.Context, classes []string) ([]objKey, error) {
	if len(classes) == 0 {
		return nil, nil
	}
	seen := map[objKey]bool{}
	var out []objKey
	for _, part := range chunks(sortedUnique(append([]string(nil), classes...)), chunkSize) {
		args := st.d.ListArgs(part)
		for _, u := range classUses {
			uargs := args
			if st.d.Param(1) == st.d.Param(2) { // "?": one argument per placeholder
				uargs = nil
				for range u.cols {
					uargs = append(uargs, args...)
				}
			}
			if err := st.query(ctx, sqlClassUsers(st.d, u, len(part)), uargs, func(scan func(...any) error) error {
				var owner string
				if err := scan(&owner); err != nil {
					return err
				}
				if k := (objKey{u.typ, owner}); !seen[k] {
					seen[k] = true
					out = append(out, k)
				}
				return nil
			}); err != nil {
				return nil, fmt.Errorf("find rows of %s that show changed classes: %w", u.table, err)
			}
		}
	}
	return out, nil
}

// referrers returns what loadReferrers found, sorted by uuid.
func (st *state) referrers(typ mo.Type, ref string) []objKey {
	ks := st.refs[refQuery{typ, ref}]
	sort.Slice(ks, func(i, j int) bool { return ks[i].uuid < ks[j].uuid })
	return ks
}

// refFields are the fields whose targets the cascades look up in
// reverse through mocdc_refs: a unit's parent (its children), a manager's
// unit (a unit's managers), an engagement's person (a person's
// engagements), and the classes whose uuid no export column shows (the
// primary class of associations and IT users, whose user_key decides
// primær_boolean, and an association's dynamic classes). Every other use
// of a class is found in the export tables' *_uuid columns (classUsers).
var refFields = map[mo.Type][]string{
	mo.OrgUnit:     {"parent"},
	mo.Engagement:  {"person"},
	mo.Manager:     {"org_unit"},
	mo.Association: {"primary", "dynamic_classes"},
	mo.ITUser:      {"primary"},
}

// refsOf lists the distinct uuids an object refers to, in any period,
// through refFields.
func refsOf(o *mo.Object) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range o.Validities {
		for _, f := range refFields[o.Type] {
			for _, u := range uuidsOf(v.Fields[f]) {
				if u != "" && !seen[u] && u != o.UUID {
					seen[u] = true
					out = append(out, u)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// nextChange is the first day after today on which the object's version of
// the day changes (a validity starts, or one ends the day before), or nil
// when none does.
func nextChange(o *mo.Object, today mo.Date) any {
	var best string
	for _, v := range o.Validities {
		for _, d := range []string{dateOf(v.Validity.From, ""), dayAfter(v.Validity.To)} {
			if d != "" && d > string(today) && (best == "" || d < best) {
				best = d
			}
		}
	}
	if best == "" {
		return nil
	}
	return best
}

func dateOf(d *mo.Date, open string) string {
	if d == nil {
		return open
	}
	return string(*d)
}

func dayAfter(d *mo.Date) string {
	if d == nil {
		return ""
	}
	t, err := mo.ParseDate(string(*d))
	if err != nil {
		return ""
	}
	return string(mo.DateOf(t.AddDate(0, 0, 1)))
}

// encodeState is the JSON mocdc_objects keeps of an object: the object
// alone (not its event), fields that are unset in a period left out. It
// is about half the size of the event, and the state table is most of
// what a load writes.
func encodeState(o *mo.Object) (string, error) {
	b := make([]byte, 0, 512)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, string(o.Type))
	b = append(b, `,"uuid":`...)
	b = appendJSONString(b, o.UUID)
	b = append(b, `,"validities":[`...)
	var keys []string
	for i, v := range o.Validities {
		if i > 0 {
			b = append(b, ',')
		}
		keys = keys[:0]
		for k, x := range v.Fields {
			if x != nil && k != "validity" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		b = append(b, '{')
		for _, k := range keys {
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSONValue(b, v.Fields[k]); err != nil {
				return "", fmt.Errorf("%s %s field %s: %w", o.Type, o.UUID, k, err)
			}
			b = append(b, ',')
		}
		b = append(b, `"validity":{"from":`...)
		b = appendDate(b, v.Validity.From)
		b = append(b, `,"to":`...)
		b = appendDate(b, v.Validity.To)
		b = append(b, "}}"...)
	}
	b = append(b, "]}"...)
	return string(b), nil
}

func appendDate(b []byte, d *mo.Date) []byte {
	if d == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, string(*d))
}

func appendJSONValue(b []byte, x any) ([]byte, error) {
	switch v := x.(type) {
	case string:
		return appendJSONString(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']'), nil
	}
	j, err := json.Marshal(x)
	return append(b, j...), err
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 (it was
// decoded from JSON); only the characters JSON requires are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeState reads what encodeState wrote (or, as mirrors before it
// stored, a whole event).
func decodeState(raw string) (*mo.Object, error) {
	if strings.HasPrefix(raw, `{"type":`) {
		var s struct {
			Type       mo.Type          `json:"type"`
			UUID       string           `json:"uuid"`
			Validities []map[string]any `json:"validities"`
		}
		if err := gojson.Unmarshal([]byte(raw), &s); err != nil {
			return nil, err
		}
		o := &mo.Object{Type: s.Type, UUID: s.UUID, Validities: make([]mo.Version, len(s.Validities))}
		for i, m := range s.Validities {
			if err := o.Validities[i].FromMap(m); err != nil {
				return nil, err
			}
		}
		return o, nil
	}
	e, err := event.Decode([]byte(raw))
	if err != nil {
		return nil, err
	}
	if e.Object == nil {
		return nil, fmt.Errorf("no object")
	}
	return e.Object, nil
}
