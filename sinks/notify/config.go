package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// Config is the `notify:` section of the mocdc configuration.
type Config struct {
	// Sender is the From address. Required.
	Sender string `yaml:"sender"`
	// Receivers get every alert of a rule without receivers of its own
	// and without unit EMAIL addresses.
	Receivers []string `yaml:"receivers"`
	// ReceiverOverride, when set, receives every mail instead of its
	// receivers (testing in production; the To header says so too).
	ReceiverOverride string `yaml:"receiver_override"`
	// DryRun logs each mail instead of sending it; the alert still counts
	// as done, so it is not sent when dry-run is switched off.
	DryRun bool `yaml:"dry_run"`
	// PerMinute is the most mails sent per minute; 0 is no limit.
	// Default 60.
	PerMinute int `yaml:"per_minute"`
	// History: alert on every event in the topics, also those committed
	// in MO before this sink first ran. Default false: like OS2mo's agent,
	// which hears only of changes made while it runs, the sink records
	// its first start and only alerts on later changes and ticks (older
	// events only build its view).
	History bool `yaml:"history"`
	// SMTP is the mail server.
	SMTP SMTPConfig `yaml:"smtp"`
	// Rules override fields of the built-in rules (by name) or add rules.
	Rules []Rule `yaml:"rules"`
	// Scope is the organisation-label filter every sink shares
	// (sinks/scope, docs/scope.md): a rule alerts only on objects that
	// pass (a manager, a unit, an IT user of a unit by its unit; with
	// scope.persons an IT user of a person by the person's engagements).
	Scope scope.Config `yaml:"scope"`

	// GroupID of the consumer group. Default "<topic_prefix>.notify".
	GroupID string `yaml:"group_id"`
	// TransactionalID, also the static member id: one sink runs per id.
	// Default the group id.
	TransactionalID string `yaml:"transactional_id"`
	// StateTopic is the outbox topic. Default "<topic_prefix>.notify.state".
	StateTopic string `yaml:"state_topic"`
	// RetryMin and RetryMax bound the backoff of a mail the server did
	// not take (4xx, unreachable). Defaults 1s and 5m.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// BatchMax is the most events per transaction. Default 1000.
	BatchMax int `yaml:"batch_max"`
	// ReplicationFactor of the state topic when created (-1: broker default).
	ReplicationFactor int16 `yaml:"replication_factor"`
}

// Defaults fills unset fields; names derived from the topic prefix are
// filled by New.
func (c *Config) Defaults() {
	if c.PerMinute == 0 {
		c.PerMinute = 60
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	c.SMTP.defaults()
}

// Names fills the group, transactional id and state topic from the topic
// prefix where unset.
func (c *Config) Names(t event.Topics) {
	prefix := t.Prefix
	if prefix == "" {
		prefix = event.DefaultPrefix
	}
	if c.GroupID == "" {
		c.GroupID = prefix + ".notify"
	}
	if c.TransactionalID == "" {
		c.TransactionalID = c.GroupID
	}
	if c.StateTopic == "" {
		c.StateTopic = prefix + ".notify.state"
	}
}

// Validate reports every wrong value, saying what to set; it also
// compiles the rules.
func (c Config) Validate() error {
	var errs []error
	if _, err := mail.ParseAddress(c.Sender); err != nil {
		errs = append(errs, fmt.Errorf("notify.sender %q: set the From address (e.g. os2mo@kommune.dk): %v", c.Sender, err))
	}
	for _, r := range c.Receivers {
		if _, err := mail.ParseAddress(r); err != nil {
			errs = append(errs, fmt.Errorf("notify.receivers: %q is not an address", r))
		}
	}
	if c.ReceiverOverride != "" {
		if _, err := mail.ParseAddress(c.ReceiverOverride); err != nil {
			errs = append(errs, fmt.Errorf("notify.receiver_override: %q is not an address", c.ReceiverOverride))
		}
	}
	if c.PerMinute < 0 {
		errs = append(errs, errors.New("notify.per_minute must be 0 (no limit) or more"))
	}
	if err := c.SMTP.validate(); err != nil && !c.DryRun {
		errs = append(errs, err)
	}
	if err := c.Scope.Validate("notify.scope"); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for _, r := range c.Rules {
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("notify.rules: %q is configured twice", r.Name))
		}
		seen[r.Name] = true
	}
	ev := &evaluator{v: newView(nil)}
	for _, r := range mergeRules(c.Rules) {
		if !r.enabled() {
			continue
		}
		if _, err := compile(r, ev.funcs()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
