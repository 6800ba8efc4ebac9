package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Status is where an effect stands.
type Status string

// The statuses of an effect, in the order they are reached.
const (
	// Intended: recorded with its source offsets, not yet known performed.
	Intended Status = "intent"
	// Performing: about to be performed, or performed and not yet marked
	// done — after a crash it may or may not have happened.
	Performing Status = "performing"
	// Done: performed; never performed again.
	Done Status = "done"
	// Dead: failed permanently (Reason says why); never tried again.
	Dead Status = "dead"
)

// Source locates a consumed record that caused an effect.
type Source struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// SourceOf returns the location of r.
func SourceOf(r *kgo.Record) Source {
	return Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
}

// Effect is one effect's durable record.
type Effect struct {
	Key     string   `json:"key"`
	Status  Status   `json:"status"`
	Payload []byte   `json:"payload,omitempty"`
	Sources []Source `json:"sources,omitempty"`
	// IntendedAt is when the intent committed; DoneAt when it was marked
	// done or dead.
	IntendedAt time.Time `json:"intended_at"`
	DoneAt     time.Time `json:"done_at,omitzero"`
	// Attempts counts Perform calls up to done or dead (in this session
	// for a recovered intent).
	Attempts int `json:"attempts,omitempty"`
	// Reason is the last error of a dead effect.
	Reason string `json:"reason,omitempty"`
	// Result is what Perform returned, kept with the done record.
	Result []byte `json:"result,omitempty"`
	// Recovered is set (not stored) on an effect found Performing at a
	// session start: it may have been performed already — the crash window.
	Recovered bool `json:"-"`
}

const (
	effectPrefix = "e/"
	statePrefix  = "s/"
)

func effectKey(k string) []byte { return []byte(effectPrefix + k) }
func stateKey(k string) []byte  { return []byte(statePrefix + k) }

// stateValue is the stored form of a state value.
type stateValue struct {
	Value []byte `json:"value"`
}

// decoded is one record of the state topic.
type decoded struct {
	effect  *Effect
	state   string // state key, when a state record
	value   []byte
	deleted bool
}

func decodeRecord(key, value []byte) (decoded, error) {
	k := string(key)
	switch {
	case strings.HasPrefix(k, effectPrefix):
		if value == nil {
			return decoded{}, nil // an effect tombstone: forgotten
		}
		var e Effect
		if err := json.Unmarshal(value, &e); err != nil {
			return decoded{}, fmt.Errorf("effect %q: %w", k, err)
		}
		if e.Key != k[len(effectPrefix):] {
			return decoded{}, fmt.Errorf("effect record %q carries key %q", k, e.Key)
		}
		return decoded{effect: &e}, nil
	case strings.HasPrefix(k, statePrefix):
		d := decoded{state: k[len(statePrefix):]}
		if value == nil {
			d.deleted = true
			return d, nil
		}
		var v stateValue
		if err := json.Unmarshal(value, &v); err != nil {
			return decoded{}, fmt.Errorf("state %q: %w", k, err)
		}
		d.value = v.Value
		return d, nil
	}
	return decoded{}, fmt.Errorf("record key %q is neither an effect (e/) nor a state (s/) key: is this the outbox state topic?", k)
}

// PermanentError marks a Perform error that retrying cannot fix.
type PermanentError struct{ Err error }

func (p *PermanentError) Error() string { return p.Err.Error() }
func (p *PermanentError) Unwrap() error { return p.Err }

// Permanent marks err as permanent: the effect is recorded dead with err's
// text and never tried again.
func Permanent(err error) error { return &PermanentError{Err: err} }

// LaterError asks for the effect to be retried after At least Wait, without
// counting an attempt (it was not attempted: a rate limit).
type LaterError struct {
	Wait time.Duration
	Err  error
}

func (l *LaterError) Error() string { return fmt.Sprintf("later (%s): %v", l.Wait, l.Err) }
func (l *LaterError) Unwrap() error { return l.Err }

// Later returns a LaterError.
func Later(wait time.Duration, err error) error { return &LaterError{Wait: wait, Err: err} }

func isPermanentPerform(err error) (string, bool) {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Err.Error(), true
	}
	return "", false
}
