package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Options of the pgoutput stream.
type Options struct {
	Publication string
	// Binary asks for binary tuple data (PostgreSQL 14+): cheaper for the
	// server's walsender, which is the bottleneck of logical decoding.
	Binary bool
	// StatusInterval is how often the confirmed position is reported when
	// the server does not ask. Default 10 s.
	StatusInterval time.Duration
}

// Stream is a running pgoutput stream on a replication connection. It is
// not safe for concurrent use.
type Stream struct {
	conn       *pgconn.PgConn
	opts       Options
	confirmed  pglogrepl.LSN
	serverEnd  pglogrepl.LSN
	nextStatus time.Time
}

// Message is one pgoutput message with the WAL position it came with.
type Message struct {
	WALStart pglogrepl.LSN
	Data     []byte
}

// Start begins streaming slot from position from (the checkpoint; the
// server starts at the slot's confirmed position if that is later).
// Protocol version 2 with streaming on, so large transactions arrive before
// they commit.
func Start(ctx context.Context, conn *pgconn.PgConn, slot string, from pglogrepl.LSN, opts Options) (*Stream, error) {
	if opts.StatusInterval == 0 {
		opts.StatusInterval = 10 * time.Second
	}
	args := []string{
		"proto_version '2'",
		fmt.Sprintf("publication_names '%s'", opts.Publication),
		"streaming 'on'",
		"messages 'true'",
	}
	if opts.Binary {
		args = append(args, "binary 'true'")
	}
	err := pglogrepl.StartReplication(ctx, conn, slot, from, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: args,
	})
	if err != nil {
		return nil, fmt.Errorf("start replication on slot %s at %s: %w", slot, from, err)
	}
	return &Stream{conn: conn, opts: opts, confirmed: from, nextStatus: time.Now().Add(opts.StatusInterval)}, nil
}

// Confirm records that everything up to lsn is durably published; the next
// status update reports it as flushed, so the server may discard WAL before
// it. lsn never moves backwards.
func (s *Stream) Confirm(lsn pglogrepl.LSN) {
	if lsn > s.confirmed {
		s.confirmed = lsn
		// Report it soon (Next sends it), so the server can recycle WAL
		// and slot lag reflects what is really published.
		if soon := time.Now().Add(statusDelay); soon.Before(s.nextStatus) {
			s.nextStatus = soon
		}
	}
}

// statusDelay bounds how long a confirmed position waits before it is
// reported; a burst of confirmations shares one status update.
const statusDelay = 100 * time.Millisecond

// Confirmed is the position last confirmed.
func (s *Stream) Confirmed() pglogrepl.LSN { return s.confirmed }

// ServerEnd is the server's WAL end as of the last message or keepalive.
func (s *Stream) ServerEnd() pglogrepl.LSN { return s.serverEnd }

// SendStatus reports the confirmed position now.
func (s *Stream) SendStatus(ctx context.Context) error {
	s.nextStatus = time.Now().Add(s.opts.StatusInterval)
	err := pglogrepl.SendStandbyStatusUpdate(ctx, s.conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: s.confirmed})
	if err != nil {
		return fmt.Errorf("send standby status: %w", err)
	}
	return nil
}

// ErrIdle is returned by Next when no message arrived before the deadline.
var ErrIdle = errors.New("no message")

// Next returns the next pgoutput message, answering keepalives on the way.
// It returns ErrIdle if nothing arrived within wait, so the caller can flush
// a batch or confirm an idle position.
func (s *Stream) Next(ctx context.Context, wait time.Duration) (Message, error) {
	return s.NextOrWake(ctx, wait, nil)
}

// NextOrWake is Next that also returns ErrIdle as soon as wake (when not
// nil) is done: capture waits for the next message and for its Kafka
// commit in flight at the same time. The connection stays usable.
func (s *Stream) NextOrWake(ctx context.Context, wait time.Duration, wake context.Context) (Message, error) {
	deadline := time.Now().Add(wait)
	for {
		if wake != nil && wake.Err() != nil {
			return Message{}, ErrIdle
		}
		if time.Now().After(s.nextStatus) {
			if err := s.SendStatus(ctx); err != nil {
				return Message{}, err
			}
		}
		until := deadline
		if s.nextStatus.Before(until) {
			until = s.nextStatus
		}
		rctx, cancel := context.WithDeadline(ctx, until)
		unwake := func() bool { return false }
		if wake != nil {
			unwake = context.AfterFunc(wake, cancel)
		}
		raw, err := s.conn.ReceiveMessage(rctx)
		unwake()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return Message{}, ctx.Err()
			}
			if wake != nil && wake.Err() != nil && (pgconn.Timeout(err) || errors.Is(err, context.Canceled)) {
				return Message{}, ErrIdle
			}
			if pgconn.Timeout(err) {
				if time.Now().After(deadline) {
					return Message{}, ErrIdle
				}
				continue
			}
			return Message{}, fmt.Errorf("receive replication message: %w", err)
		}
		switch m := raw.(type) {
		case *pgproto3.ErrorResponse:
			return Message{}, fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyData:
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return Message{}, fmt.Errorf("parse keepalive: %w", err)
				}
				if ka.ServerWALEnd > s.serverEnd {
					s.serverEnd = ka.ServerWALEnd
				}
				if ka.ReplyRequested {
					if err := s.SendStatus(ctx); err != nil {
						return Message{}, err
					}
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return Message{}, fmt.Errorf("parse xlogdata: %w", err)
				}
				if x.ServerWALEnd > s.serverEnd {
					s.serverEnd = x.ServerWALEnd
				}
				// pgconn reuses its read buffer: keep a copy.
				return Message{WALStart: x.WALStart, Data: append([]byte(nil), x.WALData...)}, nil
			}
		}
	}
}
