package runner

import (
	"errors"
	"fmt"
	"strings"
)

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying the same batch can never fix
// (poison data, a row the target rejects). The runner then looks for the
// record that causes it and dead-letters it. Nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// Permanent or is a *BatchError.
func IsPermanent(err error) bool {
	var p *permanent
	var b *BatchError
	return errors.As(err, &p) || errors.As(err, &b)
}

// RecordError is one record that can never apply and why.
type RecordError struct {
	Record Record
	Err    error
}

// BatchError is a partial batch failure: the named records can never
// apply; the rest of the batch can. A Sink returns it from Apply (having
// kept nothing of the batch); the runner dead-letters the named records and
// applies the batch without them.
type BatchError struct {
	Failed []RecordError
}

func (e *BatchError) Error() string {
	parts := make([]string, 0, len(e.Failed))
	for i, f := range e.Failed {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Failed)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s/%d@%d: %v", f.Record.Topic, f.Record.Partition, f.Record.Offset, f.Err))
	}
	return fmt.Sprintf("%d record(s) cannot apply: %s", len(e.Failed), strings.Join(parts, "; "))
}
