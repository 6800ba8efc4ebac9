package assemble

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pglogrepl"
)

// Item is what Add releases: a committed transaction or a non-transactional
// logical decoding message. At most one field is set; both are nil while a
// transaction is still being buffered.
type Item struct {
	Txn     *Txn
	Message *Message
}

// Message is a non-transactional logical decoding message
// (pg_logical_emit_message(false, prefix, content)).
type Message struct {
	// WALStart is the position the message came with; LSN is the
	// message's own LSN.
	WALStart, LSN pglogrepl.LSN
	Prefix        string
	Content       []byte // owned by the Message
}

// Assembler turns the pgoutput message stream into committed transactions.
//
// Add, Reset and Close must be called from one goroutine; Stats may be
// called from any. Transactions released by Add are independent of the
// Assembler afterwards (see Txn).
type Assembler struct {
	cfg Config
	st  counters

	cur       *Txn            // the open BEGIN … COMMIT transaction
	streams   map[uint32]*Txn // open streamed transactions by top-level xid
	inStream  bool            // between STREAM START and STREAM STOP
	streamTxn *Txn            // the transaction of the current chunk
	openMem   int64           // memory held by open transactions; the budget applies to it
	closed    bool
}

// New returns an Assembler. The spill directory must exist.
func New(cfg Config) (*Assembler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("assemble config: %w", err)
	}
	cfg = cfg.withDefaults()
	if fi, err := os.Stat(cfg.SpillDir); err != nil {
		return nil, fmt.Errorf("assemble spill_dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("assemble spill_dir: %s is not a directory", cfg.SpillDir)
	}
	return &Assembler{cfg: cfg, streams: map[uint32]*Txn{}}, nil
}

// Stats returns a snapshot of the counters. Safe for concurrent use.
func (a *Assembler) Stats() Stats { return a.st.snapshot() }

// ProtocolError means the message stream broke pgoutput's rules (a COMMIT
// without BEGIN, a chunk of an unknown streamed transaction, …). The
// Assembler's state cannot be trusted afterwards: Reset it and restart
// replication from the last confirmed position.
type ProtocolError struct {
	WALStart pglogrepl.LSN
	Type     byte
	Reason   string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("assemble: pgoutput %q message at %s: %s", e.Type, e.WALStart, e.Reason)
}

// Add takes the next pgoutput message of the stream and the WAL position it
// came with. It copies what it keeps, so msg may be reused afterwards. When
// msg completes a transaction (COMMIT, STREAM COMMIT) the Item holds it; a
// non-transactional logical decoding message comes back at once.
//
// An error means the stream cannot be assembled further as it is: a
// *ProtocolError for a broken stream, otherwise a failure to spill to disk.
// Either way, Reset and restart replication from the last confirmed
// position; nothing was released for the failing message.
func (a *Assembler) Add(walStart pglogrepl.LSN, msg []byte) (Item, error) {
	if a.closed {
		return Item{}, errors.New("assemble: Add after Close")
	}
	if len(msg) == 0 {
		return Item{}, &ProtocolError{WALStart: walStart, Reason: "empty message"}
	}
	typ := msg[0]
	bad := func(format string, args ...any) (Item, error) {
		return Item{}, &ProtocolError{WALStart: walStart, Type: typ, Reason: fmt.Sprintf(format, args...)}
	}
	switch pglogrepl.MessageType(typ) {
	case pglogrepl.MessageTypeBegin:
		if a.cur != nil || a.inStream {
			return bad("BEGIN inside a transaction")
		}
		m, err := parse[*pglogrepl.BeginMessage](msg, false)
		if err != nil {
			return bad("%v", err)
		}
		if _, ok := a.streams[m.Xid]; ok {
			return bad("BEGIN of xid %d, which is open as a streamed transaction", m.Xid)
		}
		a.cur = a.open(m.Xid, walStart, false)

	case pglogrepl.MessageTypeCommit:
		if a.cur == nil || a.inStream {
			return bad("COMMIT outside a transaction")
		}
		m, err := parse[*pglogrepl.CommitMessage](msg, false)
		if err != nil {
			return bad("%v", err)
		}
		t := a.cur
		a.cur = nil
		return a.commit(t, m.CommitLSN, m.TransactionEndLSN, m.CommitTime)

	case pglogrepl.MessageTypeStreamStart:
		if a.cur != nil || a.inStream {
			return bad("STREAM START inside a transaction")
		}
		m, err := parse[*pglogrepl.StreamStartMessageV2](msg, false)
		if err != nil {
			return bad("%v", err)
		}
		t := a.streams[m.Xid]
		switch {
		case m.FirstSegment == 1 && t != nil:
			return bad("first segment of xid %d, which is already open", m.Xid)
		case m.FirstSegment == 1:
			t = a.open(m.Xid, walStart, true)
			a.streams[m.Xid] = t
		case t == nil:
			return bad("stream chunk of xid %d, whose first segment was not seen", m.Xid)
		}
		a.inStream, a.streamTxn = true, t

	case pglogrepl.MessageTypeStreamStop:
		if !a.inStream {
			return bad("STREAM STOP outside a stream")
		}
		a.inStream, a.streamTxn = false, nil

	case pglogrepl.MessageTypeStreamCommit:
		if a.cur != nil || a.inStream {
			return bad("STREAM COMMIT inside a transaction")
		}
		m, err := parse[*pglogrepl.StreamCommitMessageV2](msg, false)
		if err != nil {
			return bad("%v", err)
		}
		t := a.streams[m.Xid]
		if t == nil {
			return bad("STREAM COMMIT of xid %d, which is not open", m.Xid)
		}
		delete(a.streams, m.Xid)
		return a.commit(t, m.CommitLSN, m.TransactionEndLSN, m.CommitTime)

	case pglogrepl.MessageTypeStreamAbort:
		if a.cur != nil || a.inStream {
			return bad("STREAM ABORT inside a transaction")
		}
		m, err := parse[*pglogrepl.StreamAbortMessageV2](msg, false)
		if err != nil {
			return bad("%v", err)
		}
		t := a.streams[m.Xid]
		if t == nil {
			// Nothing of it was buffered, so nothing is lost.
			return Item{}, nil
		}
		if m.SubXid == m.Xid {
			delete(a.streams, m.Xid)
			a.st.aborted.Add(1)
			return Item{}, a.discard(t)
		}
		if t.buf.aborted == nil {
			t.buf.aborted = map[uint32]struct{}{}
		}
		t.buf.aborted[m.SubXid] = struct{}{}
		a.st.abortedSub.Add(1)

	case pglogrepl.MessageTypeOrigin:
		// The origin of replicated changes; MO's store has none we use.

	case pglogrepl.MessageTypeMessage:
		m, transactional, err := parseMessage(msg, a.inStream)
		if err != nil {
			return bad("%v", err)
		}
		if !transactional {
			m.WALStart = walStart
			a.st.messages.Add(1)
			return Item{Message: m}, nil
		}
		if err := a.buffer(msg); err != nil {
			return bad("%v", err)
		}

	case pglogrepl.MessageTypeRelation, pglogrepl.MessageTypeType,
		pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate,
		pglogrepl.MessageTypeDelete, pglogrepl.MessageTypeTruncate:
		if err := a.buffer(msg); err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				return bad("%s", pe.Reason)
			}
			return Item{}, err
		}

	default:
		return bad("unsupported message type (two-phase commit and protocol versions above 2 are not enabled)")
	}
	return Item{}, nil
}

// parse decodes a control message with pglogrepl, which checks its length.
func parse[M pglogrepl.Message](msg []byte, inStream bool) (M, error) {
	var zero M
	m, err := pglogrepl.ParseV2(msg, inStream)
	if err != nil {
		return zero, err
	}
	v, ok := m.(M)
	if !ok {
		return zero, fmt.Errorf("parsed as %T", m)
	}
	return v, nil
}

// parseMessage reads a logical decoding message: [xid if in a stream],
// flags, LSN, prefix, content length, content. pglogrepl's parser does not
// bounds-check it.
func parseMessage(msg []byte, inStream bool) (*Message, bool, error) {
	p := 1
	if inStream {
		p += 4
	}
	if len(msg) < p+1+8+1+4 {
		return nil, false, errors.New("truncated logical decoding message")
	}
	transactional := msg[p]&1 != 0
	lsn := pglogrepl.LSN(binary.BigEndian.Uint64(msg[p+1:]))
	p += 9
	end := bytes.IndexByte(msg[p:], 0)
	if end < 0 {
		return nil, false, errors.New("logical decoding message prefix not terminated")
	}
	prefix := string(msg[p : p+end])
	p += end + 1
	if len(msg)-p < 4 {
		return nil, false, errors.New("truncated logical decoding message")
	}
	n := binary.BigEndian.Uint32(msg[p:])
	p += 4
	if uint64(n) != uint64(len(msg)-p) {
		return nil, false, fmt.Errorf("logical decoding message content length %d, %d bytes left", n, len(msg)-p)
	}
	return &Message{LSN: lsn, Prefix: prefix, Content: append([]byte(nil), msg[p:]...)}, transactional, nil
}

// open starts buffering a transaction.
func (a *Assembler) open(xid uint32, walStart pglogrepl.LSN, streamed bool) *Txn {
	a.st.open.Add(1)
	return &Txn{Xid: xid, BeginLSN: walStart, Streamed: streamed, st: &a.st}
}

// commit finishes t and releases it.
func (a *Assembler) commit(t *Txn, commitLSN, endLSN pglogrepl.LSN, at time.Time) (Item, error) {
	t.CommitLSN, t.EndLSN, t.CommitTime = commitLSN, endLSN, at
	a.st.open.Add(-1)
	a.openMem -= t.buf.mem
	a.st.openMemory.Add(-t.buf.mem)
	if t.buf.spill != nil {
		if err := t.buf.spill.flush(); err != nil {
			return Item{}, errors.Join(err, t.Close())
		}
	}
	a.st.committed.Add(1)
	return Item{Txn: t}, nil
}

// buffer appends a data message to the transaction it belongs to.
func (a *Assembler) buffer(msg []byte) error {
	switch {
	case a.inStream:
		if len(msg) < 5 {
			return &ProtocolError{Reason: "streamed message without xid"}
		}
		xid := binary.BigEndian.Uint32(msg[1:])
		if msg[0] == byte(pglogrepl.MessageTypeRelation) || msg[0] == byte(pglogrepl.MessageTypeType) {
			// pgoutput sends R and Y under the subtransaction's xid
			// but counts them as sent for the whole transaction, so
			// they must survive a subtransaction abort: record them
			// under the invalid xid 0, which no abort names.
			xid = 0
		}
		return a.append(a.streamTxn, xid, msg)
	case a.cur != nil:
		return a.append(a.cur, a.cur.Xid, msg)
	}
	return &ProtocolError{Reason: "data message outside a transaction"}
}

// append stores one record of t, spilling first if the budget requires it.
func (a *Assembler) append(t *Txn, xid uint32, msg []byte) error {
	if t.buf.spill == nil {
		grow := t.buf.growth(recHeader + len(msg))
		if grow > 0 && a.openMem+int64(grow) > a.cfg.MemoryBudget {
			if err := a.makeRoom(t, int64(grow)); err != nil {
				return err
			}
		}
		if t.buf.spill == nil {
			if grow > 0 {
				a.openMem += int64(grow)
				a.st.openMemory.Add(int64(grow))
				a.st.memory.Add(int64(grow))
			}
			t.buf.appendMem(xid, msg, grow)
			return nil
		}
	}
	before := t.buf.spill.size
	err := t.buf.spill.writeRecord(xid, msg)
	n := t.buf.spill.size - before
	t.buf.size += n
	a.st.disk.Add(n)
	a.st.spilledBytes.Add(n)
	return err
}

// makeRoom spills the largest open transactions until grow more bytes fit
// into the budget or t itself has spilled (then it needs no memory).
func (a *Assembler) makeRoom(t *Txn, grow int64) error {
	for a.openMem+grow > a.cfg.MemoryBudget && t.buf.spill == nil {
		victim := t
		if a.cur != nil && a.cur.buf.mem > victim.buf.mem {
			victim = a.cur
		}
		for _, s := range a.streams {
			if s.buf.mem > victim.buf.mem {
				victim = s
			}
		}
		if err := a.spill(victim); err != nil {
			return err
		}
	}
	return nil
}

// spill moves t's buffered records to a new spill file.
func (a *Assembler) spill(t *Txn) error {
	s, err := createSpill(a.cfg.SpillDir, t.Xid)
	if err != nil {
		return err
	}
	for _, c := range t.buf.chunks {
		if err := s.write(c); err != nil {
			return errors.Join(err, s.close())
		}
	}
	t.buf.spill = s
	a.openMem -= t.buf.mem
	a.st.openMemory.Add(-t.buf.mem)
	a.st.memory.Add(-t.buf.mem)
	a.st.disk.Add(s.size)
	a.st.spilledBytes.Add(s.size)
	a.st.spilledTxns.Add(1)
	t.buf.chunks, t.buf.mem = nil, 0
	return nil
}

// discard drops an open transaction.
func (a *Assembler) discard(t *Txn) error {
	a.st.open.Add(-1)
	a.openMem -= t.buf.mem
	a.st.openMemory.Add(-t.buf.mem)
	return t.Close()
}

// Reset discards every open transaction (and its spill file), as needed
// before replication restarts from the last confirmed position: the server
// sends those transactions again from their start. Transactions already
// released are not touched.
func (a *Assembler) Reset() error {
	var errs []error
	if a.cur != nil {
		errs = append(errs, a.discard(a.cur))
	}
	for xid, t := range a.streams {
		errs = append(errs, a.discard(t))
		delete(a.streams, xid)
	}
	a.cur, a.inStream, a.streamTxn = nil, false, nil
	return errors.Join(errs...)
}

// Close discards every open transaction and removes their spill files.
// Released transactions stay valid until their own Close.
func (a *Assembler) Close() error {
	a.closed = true
	return a.Reset()
}
