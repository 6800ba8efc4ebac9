package decode

import "strconv"

// kind is how a column's value is decoded, resolved once per relation from
// the column's type OID (built-in types) or the type name its Y message
// announced (enums and composites).
type kind uint8

const (
	kindOther          kind = iota // unknown type: Text works in text format only
	kindText                       // text, varchar, bpchar, name, "char"
	kindEnum                       // a type announced by Y that is not a known composite; enums are labels
	kindUUID                       // uuid
	kindInt2                       // int2
	kindInt4                       // int4
	kindInt8                       // int8
	kindBool                       // bool
	kindTimestamptz                // timestamptz
	kindTimestamp                  // timestamp (without time zone), read in mo.Location
	kindTstzrange                  // tstzrange
	kindTstzmultirange             // tstzmultirange
	kindRegistrering               // composite registreringbase
	kindVirkning                   // composite virkning
	kindTextArray                  // text[], varchar[]
	kindJSON                       // json
	kindJSONB                      // jsonb
)

// OIDs of the built-in types the decoder knows (pg_type.dat).
const (
	oidBool           = 16
	oidChar           = 18
	oidName           = 19
	oidInt8           = 20
	oidInt2           = 21
	oidInt4           = 23
	oidText           = 25
	oidJSON           = 114
	oidTextArray      = 1009
	oidVarcharArray   = 1015
	oidBpchar         = 1042
	oidVarchar        = 1043
	oidTimestamp      = 1114
	oidTimestamptz    = 1184
	oidUUID           = 2950
	oidJSONB          = 3802
	oidTstzrange      = 3910
	oidTstzmultirange = 4534
)

// builtin maps the built-in OIDs to their kind and SQL name.
var builtin = map[uint32]struct {
	kind kind
	name string
}{
	oidBool:           {kindBool, "bool"},
	oidChar:           {kindText, "char"},
	oidName:           {kindText, "name"},
	oidInt8:           {kindInt8, "int8"},
	oidInt2:           {kindInt2, "int2"},
	oidInt4:           {kindInt4, "int4"},
	oidText:           {kindText, "text"},
	oidJSON:           {kindJSON, "json"},
	oidTextArray:      {kindTextArray, "text[]"},
	oidVarcharArray:   {kindTextArray, "varchar[]"},
	oidBpchar:         {kindText, "bpchar"},
	oidVarchar:        {kindText, "varchar"},
	oidTimestamp:      {kindTimestamp, "timestamp"},
	oidTimestamptz:    {kindTimestamptz, "timestamptz"},
	oidUUID:           {kindUUID, "uuid"},
	oidJSONB:          {kindJSONB, "jsonb"},
	oidTstzrange:      {kindTstzrange, "tstzrange"},
	oidTstzmultirange: {kindTstzmultirange, "tstzmultirange"},
	// Types the decoder cannot type but that must at least be named in
	// errors.
	17:   {kindOther, "bytea"},
	26:   {kindOther, "oid"},
	700:  {kindOther, "float4"},
	701:  {kindOther, "float8"},
	1082: {kindOther, "date"},
	1083: {kindOther, "time"},
	1186: {kindOther, "interval"},
	1700: {kindOther, "numeric"},
	3904: {kindOther, "int4range"},
	3908: {kindOther, "tsrange"},
	3912: {kindOther, "daterange"},
}

// Type is a data type announced by a Y message: a type that is not built in,
// such as an enum or a composite.
type Type struct {
	OID       uint32
	Namespace string
	Name      string
}

// The LoRa composite types, as PostgreSQL folds their names.
const (
	typeRegistrering = "registreringbase"
	typeVirkning     = "virkning"
)

// resolve returns the kind and display name of type oid.
func resolve(oid uint32, types map[uint32]Type) (kind, string) {
	if b, ok := builtin[oid]; ok {
		return b.kind, b.name
	}
	if t, ok := types[oid]; ok {
		switch t.Name {
		case typeRegistrering:
			return kindRegistrering, t.Name
		case typeVirkning:
			return kindVirkning, t.Name
		}
		return kindEnum, t.Name
	}
	return kindOther, "oid " + strconv.FormatUint(uint64(oid), 10)
}
