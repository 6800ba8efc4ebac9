package fk

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// Config is the `fk:` section of the mocdc YAML: where OS2sync is, which
// part of MO goes to FK Organisation, and how users are built. Field names
// follow os2mo-os2sync-export's settings where one exists (noted).
type Config struct {
	// OS2sync is the HTTP client's configuration.
	OS2sync ClientConfig `yaml:"os2sync"`

	// TopUnit is the uuid of the unit that is FK Organisation's root
	// (top_unit_uuid). Required. It is always sent and never deleted.
	TopUnit string `yaml:"top_unit"`
	// Scope is the organisation-label filter every sink shares
	// (sinks/scope, docs/scope.md): labels by uuid or user_key, roots,
	// exclude. A unit is sent while it passes; an FK IT user makes a unit
	// pass its labels (not its roots or exclude). scope.persons does not
	// apply: users follow their positions.
	Scope scope.Config `yaml:"scope"`
	// ExcludedUnits (filter_orgunit_uuid) and HierarchyLabels
	// (filter_hierarchy_names) are os2mo-os2sync-export's names of
	// scope.exclude and scope.labels, kept so its settings carry over: the
	// excluded units join scope.exclude, and the labels, which may also be
	// class names, stand for scope.labels (set one of the two).
	ExcludedUnits   []string `yaml:"excluded_units"`
	HierarchyLabels []string `yaml:"hierarchy_labels"`
	// IgnoredUnitLevels and IgnoredUnitTypes are org_unit_level and
	// unit_type classes (uuid or user_key) whose units are not sent
	// (ignored_unit_levels, ignored_unit_types).
	IgnoredUnitLevels []string `yaml:"ignored_unit_levels"`
	IgnoredUnitTypes  []string `yaml:"ignored_unit_types"`

	// FKITSystem is the user_key of the IT system whose IT users hold FK
	// Organisation uuids (compared case-insensitively). Default "FK-ORG"
	// (os2mo-os2sync-export: "FK-org"). A unit's FK IT user's user_key is
	// the unit's FK uuid; a person's FK IT user links an account (user_key
	// = the account IT user's external_id) to its FK uuid (external_id).
	FKITSystem string `yaml:"fk_itsystem"`
	// UserITSystems are the user_keys of the IT systems whose IT users
	// become FK users, one FK user each (it_system_user_keys). Default
	// [AD].
	UserITSystems []string `yaml:"user_itsystems"`
	// SyncCPR sends Person.Cpr (sync_cpr). Default false: never.
	SyncCPR bool `yaml:"sync_cpr"`
	// UseNickname sends the nickname as Person.Name when it is set
	// (use_nickname).
	UseNickname bool `yaml:"use_nickname"`
	// SyncManagers sends ManagerUuid: the FK uuid of the unit's first
	// manager's FK IT user (sync_managers).
	SyncManagers bool `yaml:"sync_managers"`
	// SyncKLE sends Tasks: the unit's KLE numbers (enable_kle).
	SyncKLE bool `yaml:"sync_kle"`
	// JobTitleField is the engagement field that holds the export title
	// (the policy's, OS2mo's extension_3), used as a position's name when
	// it is set; else the job_function's name is used. Default
	// "extension_3"; "-" uses the job_function's name only.
	JobTitleField string `yaml:"job_title_field"`
	// EmailAddressTypes, PhoneAddressTypes and LandlineAddressTypes are the
	// address classes (uuid or user_key, in priority order) a user's
	// Email, PhoneNumber and Landline come from (email_scope_classes,
	// phone_scope_classes, landline_scope_classes). Empty Email and Phone
	// lists take every class of scope EMAIL and PHONE. Landline classes
	// also decide a unit's Landline.
	EmailAddressTypes    []string `yaml:"email_address_types"`
	PhoneAddressTypes    []string `yaml:"phone_address_types"`
	LandlineAddressTypes []string `yaml:"landline_address_types"`

	// TransactionalID of the producer that writes the state topic; one
	// sink process per value runs at a time (a new one fences the old).
	// Default "<topic prefix>.fk".
	TransactionalID string `yaml:"transactional_id"`
	// StateTopic keeps the digest of what was last sent per FK object and
	// the consumed offsets (compacted). Default "<topic prefix>._fk.state".
	StateTopic string `yaml:"state_topic"`
	// Batch bounds the batches of MO events reconciled together.
	Batch BatchConfig `yaml:"batch"`
	// Retry is the backoff while a batch cannot be sent (OS2sync down).
	Retry runner.Backoff `yaml:"retry"`
	// DryRun logs what would be sent and sends nothing (nor records it).
	DryRun bool `yaml:"dry_run"`
}

// BatchConfig bounds a batch.
type BatchConfig struct {
	// MaxRecords per batch. Default 2000.
	MaxRecords int `yaml:"max_records"`
	// MaxWait after the first record of a batch. Default 100ms.
	MaxWait time.Duration `yaml:"max_wait"`
}

// ClientConfig is how the sink talks to OS2sync.
type ClientConfig struct {
	// URL is OS2sync's API base, e.g. https://os2sync.kommune.dk/api (the
	// routes /orgUnit and /user are appended). Required.
	URL string `yaml:"url"`
	// CVR is the municipality's CVR number, sent in the CVR header.
	// Required.
	CVR string `yaml:"cvr"`
	// APIKey is sent in the apiKey header when set; APIKeyFile is read
	// instead when set (a mounted secret).
	APIKey     string `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	// Timeout of one request. Default 30s (OS2sync is slow; the export's
	// own value).
	Timeout time.Duration `yaml:"timeout"`
	// Attempts per request on 5xx and network errors, with Retry between
	// them; then the batch is retried as a whole. Default 4.
	Attempts int `yaml:"attempts"`
	// Retry is the backoff between attempts. Default 200ms..5s.
	Retry runner.Backoff `yaml:"retry"`
	// RateLimit caps requests per second (0: no limit). Default 50.
	RateLimit float64 `yaml:"rate_limit"`
	// Concurrency is how many requests may be in flight. Default 4.
	Concurrency int `yaml:"concurrency"`
	// BypassCache sends ?bypassCache=true with every upsert. Default true:
	// the sink's own digest already sends only real changes, and OS2sync's
	// cache compares with the last applied write, so it would drop the
	// last of A→B→A while B is still queued.
	BypassCache *bool `yaml:"bypass_cache"`
	// TLS of an https URL.
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig configures HTTPS to OS2sync.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
}

// Defaults fills unset fields.
func (c *Config) Defaults(topicPrefix string) {
	if topicPrefix == "" {
		topicPrefix = "mo"
	}
	if c.FKITSystem == "" {
		c.FKITSystem = "FK-ORG"
	}
	if len(c.UserITSystems) == 0 {
		c.UserITSystems = []string{"AD"}
	}
	if c.JobTitleField == "" {
		c.JobTitleField = "extension_3"
	}
	if c.TransactionalID == "" {
		c.TransactionalID = topicPrefix + ".fk"
	}
	if c.StateTopic == "" {
		c.StateTopic = topicPrefix + "._fk.state"
	}
	if c.Batch.MaxRecords == 0 {
		c.Batch.MaxRecords = 2000
	}
	if c.Batch.MaxWait == 0 {
		c.Batch.MaxWait = 100 * time.Millisecond
	}
	c.Retry.Defaults()
	o := &c.OS2sync
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Attempts == 0 {
		o.Attempts = 4
	}
	if o.Retry.Min == 0 {
		o.Retry.Min = 200 * time.Millisecond
	}
	if o.Retry.Max == 0 {
		o.Retry.Max = 5 * time.Second
	}
	if o.RateLimit == 0 {
		o.RateLimit = 50
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.BypassCache == nil {
		t := true
		o.BypassCache = &t
	}
}

var (
	uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	cvrRe  = regexp.MustCompile(`^[0-9]{8}$`)
)

// Validate names every wrong value, with its YAML key under fk.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("fk."+format, a...)) }
	o := c.OS2sync
	if o.URL == "" {
		bad("os2sync.url is empty: set OS2sync's API base, e.g. https://os2sync.kommune.dk/api (or http://127.0.0.1:61380/api for the local double)")
	} else if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("os2sync.url %q is not an http(s) URL with a host", o.URL)
	}
	if !cvrRe.MatchString(o.CVR) {
		bad("os2sync.cvr %q must be the municipality's 8-digit CVR number", o.CVR)
	}
	if o.APIKey != "" && o.APIKeyFile != "" {
		bad("os2sync: set api_key or api_key_file, not both")
	}
	if o.Timeout < 0 || o.Attempts < 1 || o.Concurrency < 1 || o.RateLimit < 0 {
		bad("os2sync: timeout, rate_limit must not be negative and attempts, concurrency must be at least 1 (got %s, %g, %d, %d)", o.Timeout, o.RateLimit, o.Attempts, o.Concurrency)
	}
	if err := o.Retry.Validate(); err != nil {
		bad("os2sync.%v", err)
	}
	if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
		bad("os2sync.tls: cert_file and key_file go together")
	}
	if !uuidRe.MatchString(c.TopUnit) {
		bad("top_unit %q must be the uuid of FK Organisation's root unit in MO", c.TopUnit)
	}
	for i, u := range c.ExcludedUnits {
		if !uuidRe.MatchString(u) {
			bad("excluded_units[%d] %q is not a unit uuid", i, u)
		}
	}
	if err := c.Scope.Validate("fk.scope"); err != nil {
		errs = append(errs, err)
	}
	if len(c.HierarchyLabels) > 0 && len(c.Scope.Labels) > 0 {
		bad("hierarchy_labels and scope.labels are the same filter: set one (scope.labels, as every sink; hierarchy_labels also takes class names)")
	}
	if c.Scope.Persons {
		bad("scope.persons does not apply to FK: a user is sent while it has a position in a unit that is sent; remove it")
	}
	if c.Batch.MaxRecords < 1 || c.Batch.MaxWait < 0 {
		bad("batch: max_records must be at least 1 and max_wait not negative")
	}
	if err := c.Retry.Validate(); err != nil {
		bad("%v", err)
	}
	if len(c.UserITSystems) == 0 {
		bad("user_itsystems is empty: name the IT system(s) whose accounts become FK users, e.g. [AD]")
	}
	return errors.Join(errs...)
}
