package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"
)

// KafkaConfig locates the Kafka cluster and says how to connect to it.
// Every component (capture, each sink, status, ledger verify/query) connects
// the same way, through kafkaOpts.
type KafkaConfig struct {
	Brokers []string `yaml:"brokers"`
	// TopicPrefix of every topic. Default "mo".
	TopicPrefix string `yaml:"topic_prefix"`
	// TLS to the brokers; off unless enabled (or any file is set).
	TLS TLSConfig `yaml:"tls"`
	// SASL authentication; off unless a mechanism is set.
	SASL SASLConfig `yaml:"sasl"`

	// tls is TLS built from the files by LoadConfig (nil: plaintext).
	tls *tls.Config
}

// TLSConfig is a client's TLS: the CA that signed the server's certificate
// (empty: the system's roots), an optional client certificate and key
// (mutual TLS), and the name to verify the server's certificate against
// (empty: the host of the address dialled).
type TLSConfig struct {
	Enabled    bool   `yaml:"enabled"`
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// on reports whether TLS is asked for: enabled, or any of its files set.
func (t TLSConfig) on() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// build reads the files and returns the client TLS configuration, or nil
// when TLS is off. where names the section in errors ("kafka.tls").
func (t TLSConfig) build(where string) (*tls.Config, error) {
	if !t.on() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w: mount the CA certificate there or fix the path", where, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file %s holds no PEM certificate: it must be the CA's certificate (-----BEGIN CERTIFICATE-----)", where, t.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file/key_file: %w", where, err)
		}
		c.Certificates = []tls.Certificate{cert}
	case t.CertFile != "" || t.KeyFile != "":
		return nil, fmt.Errorf("%s: cert_file and key_file go together: set both for a client certificate, or neither", where)
	}
	return c, nil
}

// SASLConfig is SASL authentication to Kafka. The password comes from the
// environment (${NAME} in password) or from password_file (a mounted
// secret), never from the file itself in production.
type SASLConfig struct {
	// Mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL.
	Mechanism    string `yaml:"mechanism"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// saslMechanisms are the mechanisms mocdc speaks, as Kafka spells them.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// load reads password_file into Password.
func (s *SASLConfig) load() error {
	if s.PasswordFile == "" {
		return nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return fmt.Errorf("kafka.sasl.password_file: %w: mount the secret there or fix the path", err)
	}
	s.Password = strings.TrimRight(string(b), "\r\n")
	return nil
}

// validate names what is wrong; it never prints the password.
func (s SASLConfig) validate() []error {
	if s.Mechanism == "" {
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			return []error{fmt.Errorf("kafka.sasl: username or password set without a mechanism: set kafka.sasl.mechanism to one of %s", strings.Join(saslMechanisms, ", "))}
		}
		return nil
	}
	var errs []error
	if s.mechanism() == nil {
		errs = append(errs, fmt.Errorf("kafka.sasl.mechanism %q is not supported: use one of %s", s.Mechanism, strings.Join(saslMechanisms, ", ")))
	}
	if s.Username == "" {
		errs = append(errs, errors.New("kafka.sasl.username is empty: set the principal's user name"))
	}
	if s.Password == "" {
		errs = append(errs, errors.New("kafka.sasl: the password is empty: set kafka.sasl.password (e.g. ${MOCDC_KAFKA_PASSWORD}) or kafka.sasl.password_file"))
	}
	return errs
}

// mechanism returns the franz-go mechanism, or nil for an unknown name.
func (s SASLConfig) mechanism() sasl.Mechanism {
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()
	}
	return nil
}

// prepare loads the secret files and builds TLS; LoadConfig calls it.
func (k *KafkaConfig) prepare() []error {
	var errs []error
	if err := k.SASL.load(); err != nil {
		errs = append(errs, err)
	}
	t, err := k.TLS.build("kafka.tls")
	if err != nil {
		errs = append(errs, err)
	}
	k.tls = t
	return errs
}

// validate names every wrong kafka value.
func (k *KafkaConfig) validate() []error {
	var errs []error
	if len(k.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers is empty: list at least one host:port"))
	}
	for _, b := range k.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("kafka.brokers: %q is not host:port (e.g. kafka-1:9092)", b))
		}
	}
	errs = append(errs, k.SASL.validate()...)
	return errs
}

// kafkaOpts are the client options every component starts from: the
// brokers, TLS and SASL as configured, and franz-go's log bridged to slog.
func kafkaOpts(cfg *Config, log *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Kafka.Brokers...),
		// franz-go logs every connection at info; only its warnings and
		// errors matter to an operator.
		kgo.WithLogger(kslog.New(slog.New(warnOnly{log.Handler()}).With("client", "kafka"))),
	}
	if cfg.Kafka.tls != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.Kafka.tls.Clone()))
	}
	if m := cfg.Kafka.SASL.mechanism(); cfg.Kafka.SASL.Mechanism != "" && m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}
