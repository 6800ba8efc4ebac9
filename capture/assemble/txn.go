package assemble

import (
	"encoding/binary"
	"errors"
	"iter"
	"time"

	"github.com/jackc/pglogrepl"
)

// Txn is one transaction: open while the Assembler buffers it, then, once
// Add released it, a committed transaction whose messages can be read.
//
// A committed Txn belongs to the caller, who must Close it to release its
// memory and spill file. Its methods may run on another goroutine than the
// Assembler's, but not concurrently with each other.
type Txn struct {
	// Xid is the top-level transaction id.
	Xid uint32
	// BeginLSN is the WAL position the first message (BEGIN or the first
	// STREAM START) came with.
	BeginLSN pglogrepl.LSN
	// CommitLSN is the LSN of the commit record, EndLSN the end of the
	// transaction: the position to confirm once it is durably handled.
	CommitLSN, EndLSN pglogrepl.LSN
	// CommitTime is the commit timestamp.
	CommitTime time.Time
	// Streamed says the transaction arrived in stream chunks (protocol
	// version 2): every message carries its (sub)transaction xid after the
	// type byte, so decoders must read it with inStream set.
	Streamed bool

	buf    buffer
	st     *counters
	closed bool
}

// recHeader is the header of each buffered record: uint32 length of the
// message, uint32 xid of the (sub)transaction that wrote it.
const recHeader = 8

// Chunk sizes of the in-memory buffer: small transactions stay small, large
// ones do not reallocate much.
const (
	minChunk = 4 << 10
	maxChunk = 1 << 20
)

// buffer holds a transaction's records, in memory (chunks, each filled with
// whole records) until it spills, then in its spill file.
type buffer struct {
	chunks  [][]byte
	mem     int64 // capacity of chunks
	size    int64 // bytes of records, in memory or on disk
	spill   *spillFile
	aborted map[uint32]struct{} // aborted subtransactions, filtered on read
}

// growth returns how many bytes of memory appending a record of n bytes
// allocates: 0 when it fits into the last chunk.
func (b *buffer) growth(n int) int {
	if k := len(b.chunks); k > 0 {
		last := b.chunks[k-1]
		if cap(last)-len(last) >= n {
			return 0
		}
	}
	size := minChunk
	if k := len(b.chunks); k > 0 {
		size = min(2*cap(b.chunks[k-1]), maxChunk)
	}
	return max(size, n)
}

// appendMem appends a record to memory; grow is what growth returned.
func (b *buffer) appendMem(xid uint32, msg []byte, grow int) {
	if grow > 0 {
		b.chunks = append(b.chunks, make([]byte, 0, grow))
		b.mem += int64(grow)
	}
	k := len(b.chunks) - 1
	c := b.chunks[k]
	c = binary.BigEndian.AppendUint32(c, uint32(len(msg)))
	c = binary.BigEndian.AppendUint32(c, xid)
	b.chunks[k] = append(c, msg...)
	b.size += int64(recHeader + len(msg))
}

// Size returns the bytes of buffered messages (with 8 bytes of framing
// each), in memory or on disk.
func (t *Txn) Size() int64 { return t.buf.size }

// Spilled reports whether the transaction was written to a spill file.
func (t *Txn) Spilled() bool { return t.buf.spill != nil }

var errClosed = errors.New("assemble: transaction already closed")

// Messages yields the transaction's raw pgoutput messages in the order they
// arrived, R and Y messages included, without the row and logical decoding
// messages of aborted subtransactions (their R and Y messages stay: the
// server will not announce those relations again in this transaction). Each slice is valid until the next step of the iteration:
// copy what must outlive it. A spilled transaction is read back from disk
// one message at a time, so memory stays bounded by the largest message. A
// read error ends the iteration with (nil, err); the transaction can then
// not be published and the stream must be restarted from the last confirmed
// position. Messages may be called more than once.
func (t *Txn) Messages() iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		if t.closed {
			yield(nil, errClosed)
			return
		}
		if t.buf.spill != nil {
			t.buf.spill.read(t.buf.aborted, yield)
			return
		}
		for _, c := range t.buf.chunks {
			for p := 0; p < len(c); {
				n := int(binary.BigEndian.Uint32(c[p:]))
				xid := binary.BigEndian.Uint32(c[p+4:])
				msg := c[p+recHeader : p+recHeader+n : p+recHeader+n]
				p += recHeader + n
				if _, gone := t.buf.aborted[xid]; gone {
					continue
				}
				if !yield(msg, nil) {
					return
				}
			}
		}
	}
}

// Close releases the transaction's memory and spill file. It is idempotent.
func (t *Txn) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	t.st.memory.Add(-t.buf.mem)
	t.buf.chunks, t.buf.mem = nil, 0
	if t.buf.spill == nil {
		return nil
	}
	t.st.disk.Add(-t.buf.spill.size)
	err := t.buf.spill.close()
	t.buf.spill = nil
	return err
}
