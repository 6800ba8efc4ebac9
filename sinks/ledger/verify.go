package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Progress is what a long verification reports now and then.
type Progress struct {
	Records int64
	// Offset is the next offset to read; End the topic's end when the walk
	// began.
	Offset, End int64
	Elapsed     time.Duration
	// Rate is records per second since the start.
	Rate float64
}

// VerifyOptions tune Verify; the zero value reports no progress.
type VerifyOptions struct {
	// Progress, if set, is called about every ProgressEvery (default 3s).
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Report is the outcome of Verify.
type Report struct {
	Topic string
	// Start and End are the offsets walked: the topic's first offset and
	// its last stable offset when the walk began (later records are not
	// checked).
	Start, End int64
	Summary
	// KeyID is the id of the public key signatures were checked with.
	KeyID string
	// Break is the first break, nil if the whole ledger verifies.
	Break   *Break
	Elapsed time.Duration
}

// errStop ends a scan early.
var errStop = errors.New("stop")

// Verify walks the ledger topic from its first record to its end as of the
// call (read_committed) and checks every hash link, the sequence
// continuity and every checkpoint signature with pub. A broken ledger is
// not an error: it is Report.Break. The error is for what kept the walk
// from finishing (Kafka, a missing topic, ctx).
func Verify(ctx context.Context, opts []kgo.Opt, topic string, pub ed25519.PublicKey, vo VerifyOptions) (*Report, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("verify: no public key: give --public-key or set ledger.public_key_file")
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	start, end, err := bounds(ctx, kadm.NewClient(cl), topic)
	if err != nil {
		return nil, err
	}
	every := vo.ProgressEvery
	if every <= 0 {
		every = 3 * time.Second
	}
	began := time.Now()
	last := began
	c := NewChecker(pub)
	var n int64
	err = scan(ctx, opts, topic, start, end, func(r *kgo.Record) error {
		n++
		if vo.Progress != nil {
			if now := time.Now(); now.Sub(last) >= every {
				last = now
				el := now.Sub(began)
				vo.Progress(Progress{Records: n, Offset: r.Offset, End: end, Elapsed: el, Rate: float64(n) / el.Seconds()})
			}
		}
		if c.Add(r.Offset, r.Value) {
			return nil
		}
		if c.Later(r.Offset, r.Value) {
			return nil
		}
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	c.End()
	sum, brk := c.Result()
	return &Report{Topic: topic, Start: start, End: end, Summary: sum, KeyID: KeyID(pub), Break: brk, Elapsed: time.Since(began)}, nil
}
