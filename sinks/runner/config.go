package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Config is the part of a sink's configuration that the runner reads.
type Config struct {
	// Group is the Kafka consumer group. Every instance of one sink target
	// uses the same group; they share the partitions.
	Group string `yaml:"group"`
	// MaxRecords caps a batch. Default 5000.
	MaxRecords int `yaml:"max_records"`
	// MaxWait is how long a batch may wait for more records after its
	// first one was written to Kafka (its timestamp). Default 100ms: small
	// batches when idle (low latency), full ones under load (throughput).
	// Records that already waited that long (they arrived while the
	// previous batch applied) are applied at once with whatever else is
	// fetched, without waiting again.
	MaxWait time.Duration `yaml:"max_wait"`
	// TickInterval is how often a Ticker sink is ticked. Default 30s.
	TickInterval time.Duration `yaml:"tick_interval"`
	// SessionTimeout is how long the group waits for a member that stops
	// heartbeating (a killed instance) before its partitions move to the
	// others. Default 10s; the broker's group.min.session.timeout.ms
	// (6s by default) is the lower bound.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// Retry is the backoff between attempts of a failing batch.
	Retry Backoff `yaml:"retry"`
	// TopicWait is how long Run waits at start for topics that do not
	// exist yet (capture creates them at its first start) before it fails.
	// Default 2m.
	TopicWait time.Duration `yaml:"topic_wait"`
	// StuckAfter is how many times in a row a batch may fail the same way
	// (the same error, numbers aside) before the runner splits it in
	// halves to find the record it fails on; a single record that still
	// fails that way is dead-lettered when other records of the batch
	// applied meanwhile (so the target works and the record is the
	// problem), and otherwise stops the runner with the error. Errors
	// marked Unavailable (target down) never count. Default 10.
	StuckAfter int `yaml:"stuck_after"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.MaxRecords == 0 {
		c.MaxRecords = 5000
	}
	if c.MaxWait == 0 {
		c.MaxWait = 100 * time.Millisecond
	}
	if c.TickInterval == 0 {
		c.TickInterval = 30 * time.Second
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.TopicWait == 0 {
		c.TopicWait = 2 * time.Minute
	}
	if c.StuckAfter == 0 {
		c.StuckAfter = 10
	}
	c.Retry.Defaults()
}

// Validate names every wrong value.
func (c Config) Validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, errors.New("group is empty: name the consumer group"))
	}
	if c.MaxRecords < 1 {
		errs = append(errs, fmt.Errorf("max_records must be at least 1, got %d", c.MaxRecords))
	}
	if c.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("max_wait must not be negative, got %s", c.MaxWait))
	}
	if c.SessionTimeout < 3*time.Second {
		errs = append(errs, fmt.Errorf("session_timeout must be at least 3s, got %s", c.SessionTimeout))
	}
	if c.StuckAfter < 2 {
		errs = append(errs, fmt.Errorf("stuck_after must be at least 2, got %d", c.StuckAfter))
	}
	if c.TickInterval < 0 {
		errs = append(errs, fmt.Errorf("tick_interval must not be negative, got %s", c.TickInterval))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Backoff is capped exponential backoff with jitter: attempt n waits a
// random duration in [d/2, d] where d = min(Max, Min·2ⁿ).
type Backoff struct {
	// Min is the first wait. Default 100ms.
	Min time.Duration `yaml:"min"`
	// Max caps every wait. Default 30s.
	Max time.Duration `yaml:"max"`
}

// Defaults fills unset fields.
func (b *Backoff) Defaults() {
	if b.Min == 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max == 0 {
		b.Max = 30 * time.Second
	}
}

// Validate reports wrong values.
func (b Backoff) Validate() error {
	if b.Min <= 0 || b.Max < b.Min {
		return fmt.Errorf("retry: want 0 < min <= max, got min %s max %s", b.Min, b.Max)
	}
	return nil
}

// Delay returns the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// Wait sleeps for Delay(attempt) or until ctx ends; it returns ctx.Err()
// in the latter case.
func (b Backoff) Wait(ctx context.Context, attempt int) error {
	t := time.NewTimer(b.Delay(attempt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
