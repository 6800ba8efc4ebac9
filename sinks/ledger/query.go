package ledger

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// Filter selects ledger entries; every set field must match. Checkpoints
// never match.
type Filter struct {
	// UUID: the entry wrote or read this object.
	UUID string
	// Actor: the actor's uuid, or its name (case-insensitive).
	Actor string
	// Type: a write of this MO type, or a read of the LoRa model that
	// holds it (the access log names the model only, so a read of
	// OrganisationFunktion matches every function type: engagement,
	// association, ...).
	Type mo.Type
	// Kind: KindWrite or KindRead.
	Kind Kind
	// From (inclusive) and To (exclusive) bound the entry time.
	From, To time.Time
	// Field: the entry's changed fields include it.
	Field string
}

// Match reports whether e passes f.
func (f Filter) Match(e *Entry) bool {
	if f.Kind != "" && e.Kind != f.Kind {
		return false
	}
	if f.UUID != "" && !slices.ContainsFunc(e.UUIDs, func(u string) bool { return strings.EqualFold(u, f.UUID) }) {
		return false
	}
	if f.Actor != "" && !strings.EqualFold(e.Actor, f.Actor) && !strings.EqualFold(e.ActorName, f.Actor) {
		return false
	}
	if f.Type != "" {
		switch e.Kind {
		case KindWrite:
			if e.Type != string(f.Type) {
				return false
			}
		case KindRead:
			spec := mo.SpecOf(f.Type)
			if spec == nil || !strings.EqualFold(spec.Class, e.Model) {
				return false
			}
		}
	}
	if f.Field != "" && !e.Changes(f.Field) {
		return false
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		t := e.At()
		if !f.From.IsZero() && t.Before(f.From) || !f.To.IsZero() && !t.Before(f.To) {
			return false
		}
	}
	return true
}

// Query reads the whole ledger topic (read_committed, up to its end as of
// the call) and returns the entries that match f, in ledger order. It does
// not verify the chain (Verify does); a record that is not a ledger record
// is an error.
func Query(ctx context.Context, opts []kgo.Opt, topic string, f Filter) ([]*Record, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	start, end, err := bounds(ctx, kadm.NewClient(cl), topic)
	if err != nil {
		return nil, err
	}
	var out []*Record
	err = scan(ctx, opts, topic, start, end, func(r *kgo.Record) error {
		rec, err := DecodeRecord(r.Offset, r.Value)
		if err != nil {
			return fmt.Errorf("%s offset %d: %w (run `mocdc ledger verify`)", topic, r.Offset, err)
		}
		if rec.Entry != nil && f.Match(rec.Entry) {
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// WriteJSON writes each record as stored (its canonical encoding, which is
// what the hash covers), one per line.
func WriteJSON(w io.Writer, recs []*Record) error {
	for _, r := range recs {
		if _, err := fmt.Fprintf(w, "%s\n", r.Value); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes the entries as an aligned table: sequence, time (UTC,
// seconds), kind, op, type (the model for reads), uuid (the filtered one
// when f.UUID is set, else the first, "+N" for more), actor (name, or uuid
// when the name is unknown), lifecycle, changed fields and note.
func WriteTable(w io.Writer, recs []*Record, f Filter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tOP\tTYPE\tUUID\tACTOR\tLIFECYCLE\tCHANGED\tNOTE")
	for _, r := range recs {
		e := r.Entry
		typ := e.Type
		if e.Kind == KindRead {
			typ = e.Model
		}
		id := ""
		if len(e.UUIDs) > 0 {
			id = e.UUIDs[0]
			if f.UUID != "" {
				for _, u := range e.UUIDs {
					if strings.EqualFold(u, f.UUID) {
						id = u
					}
				}
			}
			if len(e.UUIDs) > 1 {
				id += " +" + strconv.Itoa(len(e.UUIDs)-1)
			}
		}
		actor := e.ActorName
		if actor == "" {
			actor = e.Actor
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Sequence, e.At().Format(time.RFC3339), e.Kind, e.Op,
			dash(typ), dash(id), dash(actor), dash(e.Lifecycle), dash(strings.Join(e.Changed, ",")), dash(oneLine(e.Note)))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a note on its table row.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
}
