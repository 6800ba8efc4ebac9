package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/os2mo-cdc/mocdc/capture"
	"github.com/os2mo-cdc/mocdc/capture/policy"
	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/sinks/ad"
	"github.com/os2mo-cdc/mocdc/sinks/fk"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
	"github.com/os2mo-cdc/mocdc/sinks/notify"
)

// Config is the one YAML file every subcommand reads. Values may refer to
// environment variables as ${NAME}; secrets belong there or in files named
// by the *_file keys, never in the file itself.
type Config struct {
	Store   StoreConfig    `yaml:"store"`
	Kafka   KafkaConfig    `yaml:"kafka"`
	Capture capture.Config `yaml:"capture"`
	Metrics MetricsConfig  `yaml:"metrics"`
	// InstanceID names this process among the running instances of its
	// sinks, e.g. instance_id: ${POD_NAME} in a StatefulSet. Set, every
	// mirror of the process, and the AD sink (unless ad.instance_id says
	// otherwise), is a static member of its consumer group under this id:
	// after a crash (kill -9, OOM) the restarted process takes its
	// partitions back at once instead of waiting for the group to time out
	// the dead member (session_timeout). It must be unique among running
	// instances and the same across restarts of one; two running instances
	// with one id fence each other (the older one stops with an error
	// saying so). Empty: dynamic membership (docs/operations.md).
	InstanceID string        `yaml:"instance_id"`
	Demo       DemoConfig    `yaml:"demo"`
	Ledger     ledger.Config `yaml:"ledger"`
	// Policy, when present, redacts sensitive job functions and sets
	// export titles before capture publishes anything (capture/policy).
	Policy *policy.Config `yaml:"policy"`

	Mirrors []mirror.Config `yaml:"mirrors"`
	// FK is the FK Organisation sink (OS2sync); absent: not run.
	FK *fk.Config `yaml:"fk"`
	// AD is the Active Directory sink; absent: not run (docs/ad.md).
	AD *ad.Config `yaml:"ad"`
	// Notify is the email notification sink; absent: not run.
	Notify *notify.Config `yaml:"notify"`
}

// StoreConfig locates the MO store.
type StoreConfig struct {
	// DSN of the MO store, e.g. postgres://mocdc@mo-db:5432/mox. The role
	// needs REPLICATION (or superuser) and SELECT on actual_state.
	DSN string `yaml:"dsn"`
	// DSNFile is read instead of DSN when set (a mounted secret).
	DSNFile string `yaml:"dsn_file"`
}

// MetricsConfig is the HTTP listener for /metrics, /healthz and /readyz.
type MetricsConfig struct {
	// Listen address, e.g. 127.0.0.1:59100; empty disables it.
	Listen string `yaml:"listen"`
	// ListenTimeout is how long a port in use is retried before the
	// process fails (it never runs without the listener). Default 30s.
	ListenTimeout time.Duration `yaml:"listen_timeout"`
}

// Defaults fills unset fields.
func (m *MetricsConfig) Defaults() {
	if m.ListenTimeout == 0 {
		m.ListenTimeout = 30 * time.Second
	}
}

// Validate checks that Listen is host:port (an empty host: every
// interface).
func (m MetricsConfig) Validate() error {
	if m.ListenTimeout < 0 {
		return fmt.Errorf("metrics.listen_timeout must not be negative, got %s", m.ListenTimeout)
	}
	if m.Listen == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(m.Listen)
	if err == nil {
		var n int
		if n, err = strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("metrics.listen %q is not host:port: write e.g. 127.0.0.1:%s (this machine only) or 0.0.0.0:%s (every interface)", m.Listen, portHint(m.Listen), portHint(m.Listen))
	}
	return nil
}

// portHint is the port a wrong listen address probably meant.
func portHint(listen string) string {
	if _, err := strconv.Atoi(listen); err == nil {
		return listen
	}
	return "9100"
}

// DemoConfig makes `mocdc run` also seed and churn the MO store (the local
// demo that `make run` starts). Never set it against a real MO store.
type DemoConfig struct {
	Enabled      bool    `yaml:"enabled"`
	Persons      int     `yaml:"persons"`
	Seed         int64   `yaml:"seed"`
	ChurnRate    float64 `yaml:"churn_rate"`
	Organisation string  `yaml:"organisation"`
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// LoadConfig reads and checks path. Unknown keys are errors, so a typo
// never silently falls back to a default.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var missing []string               // names, in order of first use
	missingAt := map[string][]string{} // name → lines
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue // comments may mention ${NAME} freely
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			name := string(envRef.FindSubmatch(m)[1])
			v, ok := os.LookupEnv(name)
			if !ok {
				if missingAt[name] == nil {
					missing = append(missing, name)
				}
				missingAt[name] = append(missingAt[name], strconv.Itoa(i+1))
			}
			return []byte(v)
		})
	}
	expanded := bytes.Join(lines, []byte("\n"))
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, n := range missing {
			names[i] = fmt.Sprintf("%s (line %s)", n, strings.Join(missingAt[n], ", "))
		}
		return nil, fmt.Errorf("config %s refers to unset environment variables: %s: export them first (for the local services, `. .mocdc/env` exports every one deploy/local/mocdc.yaml uses)", path, strings.Join(names, ", "))
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	// A type error (partitions: six) leaves that key unset and decodes the
	// rest; its message goes first, and Validate's come after it, so one
	// run names every mistake.
	var decodeErrs []error
	if err := dec.Decode(&c); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		decodeErrs = typeErrors(te, expanded)
	}
	if c.Store.DSNFile != "" {
		b, err := os.ReadFile(c.Store.DSNFile)
		if err != nil {
			return nil, fmt.Errorf("store.dsn_file: %w", err)
		}
		c.Store.DSN = strings.TrimSpace(string(b))
	}
	if errs := c.Kafka.prepare(); len(errs) > 0 {
		return nil, fmt.Errorf("config %s:\n%w", path, errors.Join(errs...))
	}
	c.Capture.Defaults()
	c.Ledger.Defaults()
	c.Metrics.Defaults()
	if c.Policy != nil {
		c.Policy.Defaults()
	}
	if c.Kafka.TopicPrefix == "" {
		c.Kafka.TopicPrefix = "mo"
	}
	for i := range c.Mirrors {
		c.Mirrors[i].Dialect = mirror.CanonicalDialect(c.Mirrors[i].Dialect)
	}
	if c.FK != nil {
		c.FK.Defaults(c.Kafka.TopicPrefix)
	}
	if c.AD != nil {
		if c.AD.BindPasswordFile != "" {
			b, err := os.ReadFile(c.AD.BindPasswordFile)
			if err != nil {
				decodeErrs = append(decodeErrs, fmt.Errorf("ad.bind_password_file: %w: create the file or fix the path", err))
			} else {
				c.AD.BindPassword = strings.TrimRight(string(b), "\r\n")
			}
		}
		c.AD.Defaults()
	}
	if c.Notify != nil {
		c.Notify.Defaults()
		c.Notify.Names(event.Topics{Prefix: c.Kafka.TopicPrefix})
	}
	if err := errors.Join(append(decodeErrs, c.Validate())...); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return &c, nil
}

// instanceIDRE is what instance_id may hold (Kafka accepts more; this
// keeps it readable in logs and group listings).
var instanceIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// Validate names every wrong value.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.Kafka.validate()...)
	if c.InstanceID != "" && !instanceIDRE.MatchString(c.InstanceID) {
		errs = append(errs, fmt.Errorf("instance_id %q: use 1 to 200 letters, digits, '.', '_' and '-' (e.g. the pod name)", c.InstanceID))
	}
	if err := c.Metrics.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Capture.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Ledger.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Policy != nil {
		if err := c.Policy.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Demo.Enabled && c.Demo.Persons < 1 {
		errs = append(errs, errors.New("demo.persons must be at least 1 when demo.enabled"))
	}
	errs = append(errs, c.validateMirrors()...)
	if c.FK != nil {
		if err := c.FK.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.AD != nil {
		if err := c.AD.Validate(); err != nil {
			errs = append(errs, leafErrors(err)...)
		}
	}
	if c.Notify != nil {
		if err := c.Notify.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validateMirrors checks every mirrors entry the way `mocdc sink mirror`
// does when it starts the target (defaults filled, mirror.Config.Validate),
// and what only shows across entries. Each message starts with the entry
// ("mirrors[1] (bi): ") and names the key as it is written in the YAML.
func (c *Config) validateMirrors() []error {
	var errs []error
	seen := map[string]int{}   // name → index
	groups := map[string]int{} // consumer group → index
	dsns := map[string]int{}
	ledgerGroup := c.Ledger.Group(event.Topics{Prefix: c.Kafka.TopicPrefix})
	for i, m := range c.Mirrors {
		at := fmt.Sprintf("mirrors[%d] (%s)", i, m.Name)
		if m.Name == "" {
			at = fmt.Sprintf("mirrors[%d]", i)
		}
		add := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{at}, args...)...))
		}
		if m.DSN != "" && m.DSNFile != "" {
			add("dsn and dsn_file are both set: keep one (dsn_file would win)")
		}
		groupSet := m.Group != ""
		m.Defaults()
		if err := m.Validate(); err != nil {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner // without its `mirror "name": ` prefix: at says which entry
			}
			for _, e := range leafErrors(err) {
				msg := e.Error()
				switch {
				case strings.HasPrefix(msg, "group is empty") && !groupSet:
					continue // no name, so no default group: the name's message says it
				case strings.HasPrefix(msg, "max_records"), strings.HasPrefix(msg, "max_wait"):
					msg = "batch." + msg // runner.Config's keys sit under batch: in a mirrors entry
				}
				add("%s", msg)
			}
		}
		if j, dup := seen[m.Name]; dup && m.Name != "" {
			add("mirrors[%d] has the same name: names must be unique (--target NAME picks one)", j)
		} else {
			seen[m.Name] = i
		}
		if m.Group != "" {
			j, dup := groups[m.Group]
			switch {
			case !dup:
				groups[m.Group] = i
			case groupSet || c.Mirrors[j].Group != "": // else the name's message says it
				add("consumer group %q is also the group of mirrors[%d]: give each target its own group (one group would split the partitions between the two targets)", m.Group, j)
			}
			if m.Group == ledgerGroup {
				add("consumer group %q is the ledger builder's: give the target its own group", m.Group)
			}
		}
		if m.DSN != "" && m.DSNFile == "" {
			if j, dup := dsns[m.DSN]; dup {
				add("dsn is the same as mirrors[%d]'s: two targets would write the same tables; give each target its own database", j)
			} else {
				dsns[m.DSN] = i
			}
		}
	}
	return errs
}

// checkFiles reads the files the configuration names that LoadConfig does
// not read itself: each mirror's dsn_file (`mocdc sink mirror` reads it at
// start).
func (c *Config) checkFiles(readFile func(string) ([]byte, error)) error {
	var errs []error
	for i, m := range c.Mirrors {
		if m.DSNFile == "" {
			continue
		}
		b, err := readFile(m.DSNFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("mirrors[%d] (%s): dsn_file: %w: create the file or fix the path", i, m.Name, err))
		case strings.TrimSpace(string(b)) == "":
			errs = append(errs, fmt.Errorf("mirrors[%d] (%s): dsn_file %s is empty: write the target's DSN into it", i, m.Name, m.DSNFile))
		}
	}
	if c.FK != nil {
		o := c.FK.OS2sync
		for key, f := range map[string]string{"api_key_file": o.APIKeyFile, "tls.ca_file": o.TLS.CAFile, "tls.cert_file": o.TLS.CertFile, "tls.key_file": o.TLS.KeyFile} {
			if f == "" {
				continue
			}
			if _, err := readFile(f); err != nil {
				errs = append(errs, fmt.Errorf("fk.os2sync.%s: %w: create the file or fix the path", key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// leafErrors flattens errors.Join trees into their single errors.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// requireStore is for the commands that read the MO store (capture, run):
// the ledger and mirror tools do without it.
func (c *Config) requireStore() error {
	if c.Store.DSN == "" {
		return errors.New("store.dsn is empty: set it (e.g. ${MOCDC_MO_DSN}) or store.dsn_file")
	}
	return nil
}
