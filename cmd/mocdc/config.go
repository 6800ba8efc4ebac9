package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/os2mo-cdc/mocdc/capture"
	"github.com/os2mo-cdc/mocdc/sinks/ledger"
	"github.com/os2mo-cdc/mocdc/sinks/mirror"
)

// Config is the one YAML file every subcommand reads. Values may refer to
// environment variables as ${NAME}; secrets belong there or in files named
// by the *_file keys, never in the file itself.
type Config struct {
	Store   StoreConfig    `yaml:"store"`
	Kafka   KafkaConfig    `yaml:"kafka"`
	Capture capture.Config `yaml:"capture"`
	Metrics MetricsConfig  `yaml:"metrics"`
	Demo    DemoConfig     `yaml:"demo"`
	Ledger  ledger.Config  `yaml:"ledger"`

	Mirrors []mirror.Config `yaml:"mirrors"`
}

// StoreConfig locates the MO store.
type StoreConfig struct {
	// DSN of the MO store, e.g. postgres://mocdc@mo-db:5432/mox. The role
	// needs REPLICATION (or superuser) and SELECT on actual_state.
	DSN string `yaml:"dsn"`
	// DSNFile is read instead of DSN when set (a mounted secret).
	DSNFile string `yaml:"dsn_file"`
}

// KafkaConfig locates the Kafka cluster.
type KafkaConfig struct {
	Brokers []string `yaml:"brokers"`
	// TopicPrefix of every topic. Default "mo".
	TopicPrefix string `yaml:"topic_prefix"`
}

// MetricsConfig is the HTTP listener for /metrics, /healthz and /readyz.
type MetricsConfig struct {
	// Listen address, e.g. 127.0.0.1:59100; empty disables it.
	Listen string `yaml:"listen"`
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
	var missing []string
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue // comments may mention ${NAME} freely
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			name := string(envRef.FindSubmatch(m)[1])
			v, ok := os.LookupEnv(name)
			if !ok {
				missing = append(missing, name)
			}
			return []byte(v)
		})
	}
	expanded := bytes.Join(lines, []byte("\n"))
	if len(missing) > 0 {
		return nil, fmt.Errorf("config %s refers to unset environment variables: %s", path, strings.Join(missing, ", "))
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Store.DSNFile != "" {
		b, err := os.ReadFile(c.Store.DSNFile)
		if err != nil {
			return nil, fmt.Errorf("store.dsn_file: %w", err)
		}
		c.Store.DSN = strings.TrimSpace(string(b))
	}
	c.Capture.Defaults()
	c.Ledger.Defaults()
	if c.Kafka.TopicPrefix == "" {
		c.Kafka.TopicPrefix = "mo"
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return &c, nil
}

// Validate names every wrong value.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers is empty: list at least one host:port"))
	}
	if err := c.Capture.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Ledger.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Demo.Enabled && c.Demo.Persons < 1 {
		errs = append(errs, errors.New("demo.persons must be at least 1 when demo.enabled"))
	}
	return errors.Join(errs...)
}

// requireStore is for the commands that read the MO store (capture, run):
// the ledger and mirror tools do without it.
func (c *Config) requireStore() error {
	if c.Store.DSN == "" {
		return errors.New("store.dsn is empty: set it (e.g. ${MOCDC_MO_DSN}) or store.dsn_file")
	}
	return nil
}
