package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/capture/publish"
)

// Config of a capture process. Zero values take the documented defaults
// (see Defaults).
type Config struct {
	// Slot is the logical replication slot. Default "mocdc".
	Slot string `yaml:"slot"`
	// Publication over the MO store tables. Default "mocdc".
	Publication string `yaml:"publication"`
	// Binary asks pgoutput for binary tuples where the server allows it.
	// Default true.
	Binary *bool `yaml:"binary"`
	// MemoryBudget bounds the bytes of open transactions held in memory;
	// past it a transaction spills to SpillDir. Default 64 MiB.
	MemoryBudget int64 `yaml:"memory_budget"`
	// SpillDir holds spilled transactions. Default: the OS temp dir.
	SpillDir string `yaml:"spill_dir"`
	// BatchEvents is how many events a Kafka transaction carries at most
	// (whole source transactions are never split; a bigger one goes
	// alone). Default 5000.
	BatchEvents int `yaml:"batch_events"`
	// BatchLinger is how long capture waits for more source transactions
	// before publishing a batch. Default 20 ms.
	BatchLinger time.Duration `yaml:"batch_linger"`
	// BatchLingerMax is how long a batch waits instead while source
	// transactions come often (the previous batch closed less than twice
	// this long before the batch began): a steady trickle of small
	// transactions then shares fewer Kafka transactions, each of which
	// has a fixed cost, at the price of latency. Default: BatchLinger (off).
	BatchLingerMax time.Duration `yaml:"batch_linger_max"`
	// Heartbeat is how often a heartbeat message is written to the MO
	// store's WAL so an idle slot advances. Default 10 s; negative disables.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// SnapshotChunk is how many objects one snapshot Kafka transaction
	// carries. Default 1000.
	SnapshotChunk int `yaml:"snapshot_chunk"`
	// VersionCache is how many object versions are kept in memory to list
	// changed fields without reading the store. Default 20000.
	VersionCache int `yaml:"version_cache"`
	// KafkaProducers is how many transactional producers take the Kafka
	// transactions in turn (publish.Publisher): with 2, a transaction need
	// not wait until the broker has finished writing the previous one's
	// markers, which a loaded broker takes long for. Each has its own
	// transactional id (TransactionalID), which the Kafka ACLs must allow.
	// Default 1; at most 4.
	KafkaProducers int `yaml:"kafka_producers"`
	// LockID is the PostgreSQL advisory lock that lets only one capture per
	// slot run; others wait as standbys. Default derived from Slot.
	LockID int64 `yaml:"lock_id"`
	// Topics says how missing topics are created.
	Topics publish.TopicConfig `yaml:"topics"`
	// Retry is the backoff after a failure (PostgreSQL or Kafka
	// unreachable, a lost connection): it starts at RetryMin and doubles up
	// to RetryMax. Defaults 500 ms and 30 s.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// Clock enables tick events at validity boundaries. Default true.
	Clock *bool `yaml:"clock"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	t := true
	if c.Slot == "" {
		c.Slot = "mocdc"
	}
	if c.Publication == "" {
		c.Publication = "mocdc"
	}
	if c.Binary == nil {
		c.Binary = &t
	}
	if c.Clock == nil {
		c.Clock = &t
	}
	if c.MemoryBudget == 0 {
		c.MemoryBudget = 64 << 20
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = 5000
	}
	if c.BatchLinger == 0 {
		c.BatchLinger = 20 * time.Millisecond
	}
	if c.BatchLingerMax == 0 {
		c.BatchLingerMax = c.BatchLinger
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.SnapshotChunk == 0 {
		c.SnapshotChunk = 1000
	}
	if c.KafkaProducers == 0 {
		c.KafkaProducers = 1
	}
	if c.VersionCache == 0 {
		c.VersionCache = 20000
	}
	if c.LockID == 0 {
		var h int64 = 1125899906842597
		for _, r := range "mocdc-capture/" + c.Slot {
			h = 31*h + int64(r)
		}
		c.LockID = h
	}
	if c.RetryMin == 0 {
		c.RetryMin = 500 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	c.Topics.Defaults()
}

// Validate names every wrong value.
func (c *Config) Validate() error {
	var errs []error
	if !validIdent(c.Slot) {
		errs = append(errs, fmt.Errorf("capture.slot %q: use lower-case letters, digits and _ only", c.Slot))
	}
	if !validIdent(c.Publication) {
		errs = append(errs, fmt.Errorf("capture.publication %q: use lower-case letters, digits and _ only", c.Publication))
	}
	if c.MemoryBudget < 1<<20 {
		errs = append(errs, fmt.Errorf("capture.memory_budget %d: at least 1 MiB (1048576)", c.MemoryBudget))
	}
	if c.BatchEvents < 1 {
		errs = append(errs, fmt.Errorf("capture.batch_events %d: at least 1", c.BatchEvents))
	}
	if c.BatchLingerMax < c.BatchLinger {
		errs = append(errs, fmt.Errorf("capture.batch_linger_max %s is below batch_linger %s", c.BatchLingerMax, c.BatchLinger))
	}
	if c.KafkaProducers < 1 || c.KafkaProducers > 4 {
		errs = append(errs, fmt.Errorf("capture.kafka_producers %d: 1 to 4", c.KafkaProducers))
	}
	if c.SnapshotChunk < 1 {
		errs = append(errs, fmt.Errorf("capture.snapshot_chunk %d: at least 1", c.SnapshotChunk))
	}
	if c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("capture.retry_max %s is below retry_min %s", c.RetryMax, c.RetryMin))
	}
	if err := c.Topics.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("capture.%w", err))
	}
	return errors.Join(errs...)
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
