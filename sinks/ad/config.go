package ad

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/scope"
)

// Config is the `ad:` section of the mocdc YAML. docs/ad.md is its
// reference.
type Config struct {
	// URL of the domain controller: ldaps://dc.kommune.dk:636 (or
	// ldap://…:389 with start_tls). One DC only (replication lag would make
	// the read-before-write diff lie).
	URL string `yaml:"url"`
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is the PEM file of the CA that signed the DC's certificate;
	// empty uses the system's roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any certificate (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// BindDN and its password (BindPassword, or BindPasswordFile: a mounted
	// secret; cmd reads the file and fills BindPassword).
	BindDN           string `yaml:"bind_dn"`
	BindPassword     string `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`
	// Timeout of each LDAP operation. Default 10s.
	Timeout time.Duration `yaml:"timeout"`

	// BaseDN of the domain, e.g. DC=kommune,DC=dk: objectGUID look-ups
	// search below it.
	BaseDN string `yaml:"base_dn"`
	// SearchOUs are searched for accounts by CPR (and for free
	// sAMAccountNames). Default: BaseDN.
	SearchOUs []string `yaml:"search_ous"`
	// WriteOUs: the sink changes, moves and creates accounts only inside
	// them. Required.
	WriteOUs []string `yaml:"write_ous"`
	// ObjectClass of accounts. Default "user".
	ObjectClass string `yaml:"object_class"`

	// ITSystem is the MO IT system (user_key or uuid) whose IT users link
	// persons to AD accounts. Default "Active Directory".
	ITSystem string `yaml:"it_system"`
	// GUIDField is the IT user field holding the account's objectGUID:
	// user_key (default, as OS2mo's integration) or external_id.
	GUIDField string `yaml:"guid_field"`
	// CPRAttribute is the AD attribute holding the CPR number, searched
	// when a person has no linked account. Empty disables the search.
	// Default "employeeID".
	CPRAttribute string `yaml:"cpr_attribute"`

	// Mapping maps AD attributes to Go templates over the account view
	// (docs/ad.md). It is merged over DefaultMapping; an empty template
	// removes a default attribute. "cn" renames the account (modify DN).
	Mapping map[string]string `yaml:"mapping"`
	// Placement, when set, decides the account's OU from its engagement's
	// unit and moves the account when the engagement moves.
	Placement *Placement `yaml:"placement"`
	// Create, when set, creates accounts for persons with a current or
	// future engagement and no account.
	Create *Create `yaml:"create"`
	// ManageEnabled sets userAccountControl's ACCOUNTDISABLE bit: enabled
	// while a linked engagement is valid today, disabled otherwise.
	// Default true.
	ManageEnabled *bool `yaml:"manage_enabled"`
	// Delete lets the sink delete accounts it created when their person
	// is deleted in MO. Default false: never delete.
	Delete bool `yaml:"delete"`
	// Scope is the organisation-label filter every sink shares
	// (sinks/scope, docs/scope.md): only engagements in units that pass
	// decide an account. A person without one is treated as one without
	// engagements: its account is disabled (manage_enabled) and none is
	// created; scope.persons is implied.
	Scope scope.Config `yaml:"scope"`

	// DryRun logs the LDAP operations it would make and makes none (reads
	// still happen).
	DryRun bool `yaml:"dry_run"`
	// RateLimit caps LDAP writes per second. Default 20; 0 keeps the
	// default, negative means unlimited.
	RateLimit float64 `yaml:"rate_limit"`
	// Maintenance is a daily window (Europe/Copenhagen) without writes;
	// changes wait and are applied after it.
	Maintenance *Window `yaml:"maintenance"`
	// Retry is the backoff while AD is unavailable or busy.
	Retry runner.Backoff `yaml:"retry"`
	// Workers reconcile owners in parallel, one LDAP connection each.
	// Default 2.
	Workers int `yaml:"workers"`
	// Group is the consumer group the instances split the persons with.
	// Default "<topic prefix>.ad" (GroupOf).
	Group string `yaml:"group"`
	// SessionTimeout: how soon a dead instance's persons move. Default 10s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// InstanceID, when set, makes the instance a static group member
	// (e.g. the pod name of a StatefulSet): restarted with the same id it
	// takes its persons back at once instead of after session_timeout.
	// Unique per instance.
	InstanceID string `yaml:"instance_id"`
}

// Placement maps units to OUs.
type Placement struct {
	// Units maps a unit (uuid or user_key) to an OU DN; an account goes to
	// the OU of the nearest unit on its engagement's unit path.
	Units map[string]string `yaml:"units"`
	// Default OU for accounts whose path has no mapped unit; empty leaves
	// them where they are.
	Default string `yaml:"default"`
}

// Create configures account creation.
type Create struct {
	// OU new accounts are created in (unless Placement says otherwise).
	OU string `yaml:"ou"`
	// SAMAccountName lists templates tried in order for a free
	// sAMAccountName; each may use {{.N}} (1, 2, …) for a counter.
	// Default: first 2 letters of the given name + first 2 of the
	// surname + N ("anbe1").
	SAMAccountName []string `yaml:"sam_account_name"`
	// Forbidden sAMAccountNames (lower case), never used.
	Forbidden []string `yaml:"forbidden"`
}

// Window is a daily time window, e.g. 01:30–03:00 (may wrap midnight).
type Window struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if len(c.SearchOUs) == 0 && c.BaseDN != "" {
		c.SearchOUs = []string{c.BaseDN}
	}
	if c.ObjectClass == "" {
		c.ObjectClass = "user"
	}
	if c.ITSystem == "" {
		c.ITSystem = "Active Directory"
	}
	if c.GUIDField == "" {
		c.GUIDField = "user_key"
	}
	if c.CPRAttribute == "" {
		c.CPRAttribute = "employeeID"
	}
	if c.ManageEnabled == nil {
		t := true
		c.ManageEnabled = &t
	}
	if c.RateLimit == 0 {
		c.RateLimit = 20
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.Create != nil && len(c.Create.SAMAccountName) == 0 {
		c.Create.SAMAccountName = []string{`{{ printf "%.2s%.2s" (ascii .Person.GivenName) (ascii .Person.Surname) | lower }}{{ .N }}`}
	}
	c.Retry.Defaults()
}

// Validate names every wrong value, prefixed "ad.".
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("ad."+format, a...)) }
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "ldaps" && u.Scheme != "ldap") || u.Host == "" {
		bad("url %q: want ldaps://host:636 (or ldap://host:389 with start_tls)", c.URL)
	} else if u.Scheme == "ldap" && !c.StartTLS {
		bad("url %q is plain LDAP: AD refuses simple binds without TLS; use ldaps:// or set start_tls: true", c.URL)
	}
	if c.BindDN == "" {
		bad("bind_dn is empty: name the service account, e.g. CN=mocdc,OU=Service,DC=kommune,DC=dk")
	}
	if c.BindPassword == "" {
		bad("bind_password is empty: set it from the environment (${MOCDC_AD_PASSWORD}) or bind_password_file")
	}
	dn := func(key, s string) {
		if _, err := ldap.ParseDN(s); err != nil || s == "" {
			bad("%s %q is not a DN (e.g. OU=Brugere,DC=kommune,DC=dk)", key, s)
		}
	}
	dn("base_dn", c.BaseDN)
	for _, s := range c.SearchOUs {
		dn("search_ous", s)
	}
	if len(c.WriteOUs) == 0 {
		bad("write_ous is empty: list the OUs the sink may change accounts in")
	}
	for _, s := range c.WriteOUs {
		dn("write_ous", s)
	}
	if c.GUIDField != "user_key" && c.GUIDField != "external_id" {
		bad("guid_field %q: want user_key or external_id", c.GUIDField)
	}
	if c.Timeout < 0 || c.SessionTimeout < 3*time.Second {
		bad("timeout must not be negative and session_timeout at least 3s")
	}
	if c.Workers < 1 || c.Workers > 64 {
		bad("workers must be 1..64, got %d", c.Workers)
	}
	if c.Placement != nil {
		for k, s := range c.Placement.Units {
			dn("placement.units["+k+"]", s)
			if !c.writable(s) {
				bad("placement.units[%s] %q is outside write_ous", k, s)
			}
		}
		if c.Placement.Default != "" {
			dn("placement.default", c.Placement.Default)
			if !c.writable(c.Placement.Default) {
				bad("placement.default %q is outside write_ous", c.Placement.Default)
			}
		}
	}
	if c.Create != nil {
		dn("create.ou", c.Create.OU)
		if !c.writable(c.Create.OU) {
			bad("create.ou %q is outside write_ous", c.Create.OU)
		}
	}
	if c.Maintenance != nil {
		if _, _, err := c.Maintenance.parse(); err != nil {
			bad("maintenance: %v", err)
		}
	}
	if err := c.Retry.Validate(); err != nil {
		bad("%v", err)
	}
	if err := c.Scope.Validate("ad.scope"); err != nil {
		errs = append(errs, err)
	}
	if _, err := CompileMapping(c.Mapping, c.CPRAttribute); err != nil {
		bad("mapping: %v", err)
	}
	if c.Create != nil {
		if _, err := compileSAM(c.Create.SAMAccountName); err != nil {
			bad("create.sam_account_name: %v", err)
		}
	}
	return errors.Join(errs...)
}

// writable reports whether dn is one of WriteOUs or below one.
func (c *Config) writable(dn string) bool {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return false
	}
	for _, w := range c.WriteOUs {
		o, err := ldap.ParseDN(w)
		if err == nil && (o.EqualFold(d) || o.AncestorOfFold(d)) {
			return true
		}
	}
	return false
}

func (w *Window) parse() (start, end time.Duration, err error) {
	p := func(s string) (time.Duration, error) {
		t, err := time.Parse("15:04", strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("%q is not HH:MM", s)
		}
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
	}
	if start, err = p(w.Start); err != nil {
		return
	}
	if end, err = p(w.End); err != nil {
		return
	}
	if start == end {
		err = fmt.Errorf("start and end are both %s: an empty window", w.Start)
	}
	return
}

// Contains reports whether t (any zone) falls in the window, in
// Europe/Copenhagen wall time.
func (w *Window) Contains(t time.Time) bool {
	if w == nil {
		return false
	}
	start, end, err := w.parse()
	if err != nil {
		return false
	}
	l := t.In(copenhagen)
	d := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute + time.Duration(l.Second())*time.Second
	if start < end {
		return d >= start && d < end
	}
	return d >= start || d < end
}
