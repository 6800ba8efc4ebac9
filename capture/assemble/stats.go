package assemble

import "sync/atomic"

// Stats is a snapshot of an Assembler's counters, shaped for metrics:
// gauges say how things are now, totals only grow.
type Stats struct {
	// MemoryBytes (gauge) is the memory held by buffered messages of open
	// transactions and of released ones not yet closed.
	MemoryBytes int64
	// OpenMemoryBytes (gauge) is the part of MemoryBytes held by open
	// transactions; the memory budget applies to it.
	OpenMemoryBytes int64
	// DiskBytes (gauge) is the size of the spill files not yet released.
	DiskBytes int64
	// OpenTxns (gauge) counts transactions begun and not yet committed or
	// aborted.
	OpenTxns int64
	// SpilledBytesTotal counts bytes ever written to spill files.
	SpilledBytesTotal int64
	// SpilledTxnsTotal counts transactions that spilled to disk.
	SpilledTxnsTotal int64
	// CommittedTxnsTotal counts transactions released by Add.
	CommittedTxnsTotal int64
	// AbortedTxnsTotal counts streamed transactions discarded by a stream
	// abort; AbortedSubtxnsTotal the subtransactions whose messages were
	// dropped.
	AbortedTxnsTotal    int64
	AbortedSubtxnsTotal int64
	// MessagesTotal counts non-transactional logical decoding messages
	// released.
	MessagesTotal int64
}

// counters is the live form of Stats, shared by the Assembler and its Txns.
type counters struct {
	memory, openMemory, disk, open       atomic.Int64
	spilledBytes, spilledTxns, committed atomic.Int64
	aborted, abortedSub, messages        atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		MemoryBytes:         c.memory.Load(),
		OpenMemoryBytes:     c.openMemory.Load(),
		DiskBytes:           c.disk.Load(),
		OpenTxns:            c.open.Load(),
		SpilledBytesTotal:   c.spilledBytes.Load(),
		SpilledTxnsTotal:    c.spilledTxns.Load(),
		CommittedTxnsTotal:  c.committed.Load(),
		AbortedTxnsTotal:    c.aborted.Load(),
		AbortedSubtxnsTotal: c.abortedSub.Load(),
		MessagesTotal:       c.messages.Load(),
	}
}
