package mirror

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// How MO objects become export rows. The column semantics follow OS2mo's
// SQL export (sql_export.py, lora_cache.py, gql_lora_cache_async.py);
// docs/mirror.md lists them for BI users.

// Open validity bounds as the export writes them.
const (
	openStart = "0001-01-01"
	openEnd   = "9999-12-31"
)

// tablesOf lists the export tables each mirrored MO type writes.
var tablesOf = map[mo.Type][]string{
	mo.Facet:       {tFacetter},
	mo.Class:       {tKlasser},
	mo.ITSystem:    {tITSystemer},
	mo.Person:      {tBrugere},
	mo.OrgUnit:     {tEnheder},
	mo.Engagement:  {tEngagementer},
	mo.Association: {tTilknytninger},
	mo.ITUser:      {tITForbindelse, tITForbEngage},
	mo.Address:     {tAdresser},
	mo.Manager:     {tLedere, tLederAnsvar},
	mo.Leave:       {tOrlover},
	mo.KLE:         {tKLE},
	mo.RelatedUnit: {tSammenkobling},
}

// classFields lists, per type, the fields that hold classes (whose names
// fill the *_titel columns).
var classFields = map[mo.Type][]string{
	mo.OrgUnit:     {"unit_type", "org_unit_level", "org_unit_hierarchy", "time_planning"},
	mo.Engagement:  {"engagement_type", "job_function", "primary"},
	mo.Association: {"association_type", "job_function", "primary", "dynamic_classes"},
	mo.ITUser:      {"primary"},
	mo.Address:     {"address_type", "visibility"},
	mo.Manager:     {"manager_type", "manager_level", "responsibilities"},
	mo.Leave:       {"leave_type"},
	mo.KLE:         {"kle_number", "kle_aspects"},
}

// addressScopes is how the export names an address type's scope.
var addressScopes = map[string]string{
	"EMAIL": "E-mail", "WWW": "Url", "PHONE": "Telefon", "PNUMBER": "P-nummer",
	"EAN": "EAN", "TEXT": "Text", "MULTIFIELD_TEXT": "Multifield_text", "DAR": "DAR",
}

// Field value access. Values come from JSON: strings, []string, bool,
// int64, or nil; anything else reads as unset.

func uuidOf(x any) string {
	s, _ := x.(string)
	return s
}

func uuidsOf(x any) []string {
	switch t := x.(type) {
	case []string:
		return t
	case string:
		if t != "" {
			return []string{t}
		}
	}
	return nil
}

func field(v *mo.Version, name string) any {
	if v == nil {
		return nil
	}
	return v.Fields[name]
}

// text is a field as a nullable string column value.
func text(v *mo.Version, name string) any {
	switch t := field(v, name).(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	}
	return nil
}

// ref is a UUID field as a nullable column value.
func ref(v *mo.Version, name string) any {
	if u := uuidOf(field(v, name)); u != "" {
		return u
	}
	return nil
}

func integer(v *mo.Version, name string) any {
	switch t := field(v, name).(type) {
	case int64:
		return t
	case float64:
		return int64(t)
	}
	return nil
}

// row is one export row under construction, by column name.
type row map[string]any

func (r row) dates(start, end string) row {
	r["startdato"], r["slutdato"] = start, end
	return r
}

// tableWrite collects what one transaction writes to one table: the owners
// whose rows it replaces and their new rows, one per natural key.
type tableWrite struct {
	t      *Table
	owners map[[2]string]bool
	keys   map[string]int // natural key → index in rows
	rows   [][]any
	// ownerOf[i] is the object rows[i] belongs to.
	ownerOf []objKey
}

func newTableWrite(t *Table) *tableWrite {
	return &tableWrite{t: t, owners: map[[2]string]bool{}, keys: map[string]int{}}
}

func (w *tableWrite) owner(k ...string) {
	var o [2]string
	copy(o[:], k)
	w.owners[o] = true
}

// add appends r (a later row with the same key replaces an earlier one).
func (w *tableWrite) add(owner objKey, r row) {
	vals := make([]any, len(w.t.Columns))
	for i, c := range w.t.Columns {
		vals[i] = r[c.Name]
	}
	var kb strings.Builder
	for _, k := range w.t.Key {
		kb.WriteString(toKey(r[k]))
		kb.WriteByte(0)
	}
	key := kb.String()
	if i, ok := w.keys[key]; ok {
		w.rows[i], w.ownerOf[i] = vals, owner
		return
	}
	w.keys[key] = len(w.rows)
	w.rows = append(w.rows, vals)
	w.ownerOf = append(w.ownerOf, owner)
}

func toKey(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case nil:
		return "\x01null"
	case int32:
		return strconv.Itoa(int(t))
	case int64:
		return strconv.FormatInt(t, 10)
	}
	return "?"
}

// problem is a row the target would reject.
type problem struct {
	owner  objKey
	table  string
	column string
	reason string
}

// validate checks every row against its table: strings fit their column
// (counted in characters, as varchar/nvarchar count them) and NOT NULL
// columns are set. The target would reject the row; finding it here names
// the record that carries it.
func (w *tableWrite) validate() []problem {
	var out []problem
	for i, vals := range w.rows {
		for j, c := range w.t.Columns {
			switch v := vals[j].(type) {
			case nil:
				if c.NotNull {
					out = append(out, problem{w.ownerOf[i], w.t.Name, c.Name, "is required"})
				}
			case string:
				if c.Kind == String && utf8.RuneCountInString(v) > c.Len {
					out = append(out, problem{w.ownerOf[i], w.t.Name, c.Name,
						"value of " + strconv.Itoa(utf8.RuneCountInString(v)) + " characters is longer than " + strconv.Itoa(c.Len)})
				}
			}
		}
	}
	return out
}

// truncate cuts s to n characters (for computed columns, which must never
// make a row fail).
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func sortedUnique(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if x != "" && (i == 0 || x != xs[i-1]) {
			out = append(out, x)
		}
	}
	return out
}
