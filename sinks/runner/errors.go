package runner

import (
	"errors"
	"fmt"
	"strings"
)

// A sink's error tells the runner what to do with the batch it failed on:
//
//   - unmarked: retry with backoff; a batch that keeps failing the same way
//     is split (Config.StuckAfter), and a single record that still does
//     stops the runner with the error — never a silent endless loop;
//   - Unavailable: the target cannot be reached (down, restarting, failing
//     over): retried with backoff for as long as it takes, never split;
//   - Permanent or *BatchError: the batch can never apply because of what
//     is in it: the bad record is dead-lettered (found by splitting when
//     the error does not name it);
//   - Fatal: the target refuses what the sink sends (a statement rejected,
//     a permission missing): nothing is dead-lettered, Run returns the
//     error and the operator must act.

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

// fatal marks an error after which the sink cannot go on.
type fatal struct{ err error }

func (f *fatal) Error() string { return f.err.Error() }
func (f *fatal) Unwrap() error { return f.err }

// Fatal marks err as one that no retry and no dead letter can fix: the
// target rejects the sink's statements themselves (syntax, an unsupported
// feature, a missing permission). Run stops and returns it; nothing of the
// batch is dead-lettered. Nil stays nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatal{err}
}

// IsFatal reports whether err (or an error it wraps) was marked with Fatal.
func IsFatal(err error) bool {
	var f *fatal
	return errors.As(err, &f)
}

// unavailable marks an error of a target that cannot be reached.
type unavailable struct{ err error }

func (u *unavailable) Error() string { return u.err.Error() }
func (u *unavailable) Unwrap() error { return u.err }

// Unavailable marks err as the target being unreachable or not ready (a
// refused or lost connection, a login timeout, a server shutting down or
// failing over). The batch is retried, with backoff, until the target is
// back; failing the same way again and again is expected then and never
// makes the runner split the batch or stop. Nil stays nil.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &unavailable{err}
}

// IsUnavailable reports whether err (or an error it wraps) was marked with
// Unavailable.
func IsUnavailable(err error) bool {
	var u *unavailable
	return errors.As(err, &u)
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
