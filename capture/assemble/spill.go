package assemble

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// spillBuffer is the write and read buffer size of a spill file.
const spillBuffer = 64 << 10

// spillFile holds one transaction's records on disk in the in-memory format
// (uint32 length, uint32 xid, message), appended in arrival order.
type spillFile struct {
	f    *os.File
	path string // set while the file still has a name to remove
	w    *bufio.Writer
	size int64
}

// createSpill creates a spill file in dir and unlinks it at once where the
// operating system allows, so a crash leaves nothing behind.
func createSpill(dir string, xid uint32) (*spillFile, error) {
	f, err := os.CreateTemp(dir, fmt.Sprintf("mocdc-txn-%d-*.spill", xid))
	if err != nil {
		return nil, fmt.Errorf("create spill file for xid %d: %w", xid, err)
	}
	s := &spillFile{f: f, w: bufio.NewWriterSize(f, spillBuffer)}
	if os.Remove(f.Name()) != nil {
		s.path = f.Name() // e.g. Windows: remove on close instead
	}
	return s, nil
}

// write appends raw record bytes (header included).
func (s *spillFile) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	s.size += int64(len(b))
	return nil
}

// writeRecord appends one record.
func (s *spillFile) writeRecord(xid uint32, msg []byte) error {
	var h [recHeader]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(msg)))
	binary.BigEndian.PutUint32(h[4:], xid)
	if err := s.write(h[:]); err != nil {
		return err
	}
	return s.write(msg)
}

// flush makes everything written readable through the file.
func (s *spillFile) flush() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("flush spill file: %w", err)
	}
	return nil
}

// read yields the records in order, skipping those of aborted xids. The
// yielded slice is reused for the next record.
func (s *spillFile) read(aborted map[uint32]struct{}, yield func([]byte, error) bool) {
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, s.size), spillBuffer)
	var h [recHeader]byte
	var rec []byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				yield(nil, fmt.Errorf("read spill file: %w", err))
			}
			return
		}
		n := int(binary.BigEndian.Uint32(h[:]))
		if _, gone := aborted[binary.BigEndian.Uint32(h[4:])]; gone {
			if _, err := r.Discard(n); err != nil {
				yield(nil, fmt.Errorf("read spill file: %w", err))
				return
			}
			continue
		}
		if cap(rec) < n {
			rec = make([]byte, n)
		}
		rec = rec[:n]
		if _, err := io.ReadFull(r, rec); err != nil {
			yield(nil, fmt.Errorf("read spill file: %w", err))
			return
		}
		if !yield(rec, nil) {
			return
		}
	}
}

// close closes the file and removes it if it still has a name.
func (s *spillFile) close() error {
	err := s.f.Close()
	if s.path != "" {
		if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("close spill file: %w", err)
	}
	return nil
}
