package outbox

import (
	"errors"
	"fmt"
	"time"
)

// Config says where an Outbox keeps its state and how it retries.
type Config struct {
	// Topic is the compacted state topic (created with one partition if
	// missing). Required.
	Topic string `yaml:"topic"`
	// Group is the consumer group of the source topics; its offsets are
	// committed with the state. Required.
	Group string `yaml:"group"`
	// TransactionalID of the producer, also the static group member id.
	// Default: Group.
	TransactionalID string `yaml:"transactional_id"`
	// TransactionTimeout is how long the broker keeps a dead instance's
	// transaction open before aborting it. Default 1m.
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
	// BatchMax is the most consumed records per transaction. Default 1000.
	BatchMax int `yaml:"batch_max"`
	// ReplicationFactor of the state topic when created; -1 (default) is
	// the broker's default.
	ReplicationFactor int16 `yaml:"replication_factor"`
	// RetryMin and RetryMax bound the jittered, doubling wait between
	// attempts of a failing effect. Defaults 1s and 5m.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// PerformTimeout bounds one Perform call. Default 2m.
	PerformTimeout time.Duration `yaml:"perform_timeout"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.TransactionalID == "" {
		c.TransactionalID = c.Group
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = time.Minute
	}
	if c.BatchMax == 0 {
		c.BatchMax = 1000
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.RetryMin == 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Minute
	}
	if c.PerformTimeout == 0 {
		c.PerformTimeout = 2 * time.Minute
	}
}

// Validate reports what is wrong, saying what to set.
func (c Config) Validate() error {
	var errs []error
	if c.Topic == "" {
		errs = append(errs, errors.New("outbox: topic is empty: name the state topic"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("outbox: group is empty: name the consumer group"))
	}
	if c.BatchMax < 0 {
		errs = append(errs, fmt.Errorf("outbox: batch_max %d must be positive", c.BatchMax))
	}
	if c.RetryMin < 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("outbox: retry_min %s and retry_max %s: need 0 <= retry_min <= retry_max", c.RetryMin, c.RetryMax))
	}
	if c.TransactionTimeout < 0 || c.PerformTimeout < 0 {
		errs = append(errs, errors.New("outbox: timeouts must not be negative"))
	}
	return errors.Join(errs...)
}
