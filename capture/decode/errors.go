package decode

import (
	"errors"
	"fmt"
	"strings"
)

// Causes a ColumnError wraps; test for them with errors.Is.
var (
	// ErrUnchanged means the server did not send the value: an UPDATE left
	// a TOASTed column unchanged ('u' in the tuple). The value is whatever
	// the previous image of the row held.
	ErrUnchanged = errors.New("unchanged TOAST value, not sent")
	// ErrNoColumn means the relation has no column of that name.
	ErrNoColumn = errors.New("no such column")
	// ErrWrongType means the getter does not fit the column's type. The row
	// is well-formed; the caller asked for the wrong thing (or the schema
	// changed under it), so retrying cannot help.
	ErrWrongType = errors.New("wrong type")
)

// ColumnError says which value of which row could not be decoded: the
// schema, table, column and its type, and why (Err). Parse failures of a
// value the server sent are permanent: the row belongs in the dead-letter
// topic.
type ColumnError struct {
	Schema, Table, Column, Type string
	Err                         error
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("decode %s.%s column %s (type %s): %v", e.Schema, e.Table, e.Column, e.Type, e.Err)
}

// Unwrap returns the cause.
func (e *ColumnError) Unwrap() error { return e.Err }

// UnknownRelationError is returned for a row message whose relation was never
// announced by an R message in this decoding session. It means messages were
// lost or the Decoder was replaced mid-stream; restart from the last
// confirmed position.
type UnknownRelationError struct {
	ID uint32
}

func (e *UnknownRelationError) Error() string {
	return fmt.Sprintf("decode: relation %d was not announced by a relation message", e.ID)
}

// TruncateError is returned for a TRUNCATE message. MO never truncates its
// tables, so one is reported rather than silently applied or ignored.
type TruncateError struct {
	// Relations are the truncated tables as schema.table (relation ids
	// that were never announced appear as their number).
	Relations []string
	// Cascade and RestartIdentity are the TRUNCATE options.
	Cascade, RestartIdentity bool
}

func (e *TruncateError) Error() string {
	return "decode: TRUNCATE of " + strings.Join(e.Relations, ", ")
}

// malformed builds the error for a message that does not follow the
// protocol; it names the message type.
func malformed(typ byte, format string, args ...any) error {
	return fmt.Errorf("decode %q message: %s", typ, fmt.Sprintf(format, args...))
}
