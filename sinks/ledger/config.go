package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// Config is the `ledger:` section of the mocdc configuration.
type Config struct {
	// PrivateKeyFile is the PEM (PKCS#8) Ed25519 key that signs checkpoints,
	// as `mocdc ledger keygen` writes it. Required by `mocdc sink ledger`;
	// keep it readable by the builder only (mode 0600).
	PrivateKeyFile string `yaml:"private_key_file"`
	// PublicKeyFile is the PEM public key `mocdc ledger verify` checks
	// signatures with when --public-key is not given.
	PublicKeyFile string `yaml:"public_key_file"`
	// CheckpointEvery signs the chain head after this many unsigned
	// records. Default 1000.
	CheckpointEvery int `yaml:"checkpoint_every"`
	// CheckpointInterval is the longest a record waits for a checkpoint to
	// sign it. Default 1m.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// BatchMax is the most consumed records per Kafka transaction.
	// Default 5000.
	BatchMax int `yaml:"batch_max"`
	// GroupID of the builder's consumer group. Default
	// "<topic_prefix>.ledger-builder".
	GroupID string `yaml:"group_id"`
	// TransactionalID of the builder's producer; also its static group
	// member id. Fixed per ledger: a second builder with the same id fences
	// the first. Default "<topic_prefix>.ledger-builder".
	TransactionalID string `yaml:"transactional_id"`
	// TransactionTimeout is how long the broker keeps a transaction of a
	// dead builder open before aborting it (a restarted builder aborts it
	// at once). Default 1m.
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
	// ReplicationFactor of the ledger topic when the builder creates it;
	// -1 (default) uses the broker's default.
	ReplicationFactor int16 `yaml:"replication_factor"`
}

// Defaults fills unset fields. GroupID and TransactionalID stay empty and
// are derived from the topic prefix by NewBuilder.
func (c *Config) Defaults() {
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1000
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.BatchMax == 0 {
		c.BatchMax = 5000
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = time.Minute
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
}

// Group is the builder's consumer group: GroupID, or
// "<topic_prefix>.ledger-builder" when it is empty. Its committed offsets
// are the builder's position (committed in the same Kafka transaction as
// the ledger records); `mocdc status` reads its lag from them.
func (c Config) Group(topics event.Topics) string {
	if c.GroupID != "" {
		return c.GroupID
	}
	prefix := topics.Prefix
	if prefix == "" {
		prefix = event.DefaultPrefix
	}
	return prefix + ".ledger-builder"
}

// Consumed lists the topics the builder consumes: every MO object topic
// and the read events.
func Consumed(topics event.Topics) []string {
	return append(topics.Objects(), topics.Access())
}

// Validate names every wrong value (after Defaults).
func (c *Config) Validate() error {
	var errs []error
	if c.CheckpointEvery < 1 {
		errs = append(errs, fmt.Errorf("ledger.checkpoint_every must be at least 1, got %d", c.CheckpointEvery))
	}
	if c.CheckpointInterval < time.Second {
		errs = append(errs, fmt.Errorf("ledger.checkpoint_interval must be at least 1s, got %s", c.CheckpointInterval))
	}
	if c.BatchMax < 1 || c.BatchMax > 100_000 {
		errs = append(errs, fmt.Errorf("ledger.batch_max must be 1..100000, got %d", c.BatchMax))
	}
	if c.TransactionTimeout < time.Second || c.TransactionTimeout > 15*time.Minute {
		errs = append(errs, fmt.Errorf("ledger.transaction_timeout must be 1s..15m (the broker's transaction.max.timeout.ms), got %s", c.TransactionTimeout))
	}
	if c.ReplicationFactor < -1 || c.ReplicationFactor == 0 {
		errs = append(errs, fmt.Errorf("ledger.replication_factor must be -1 (broker default) or at least 1, got %d", c.ReplicationFactor))
	}
	return errors.Join(errs...)
}
