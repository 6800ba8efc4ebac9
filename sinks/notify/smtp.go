package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// SMTPConfig is how the sink reaches its mail server.
type SMTPConfig struct {
	// Host and Port of the server. Required.
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// Security is none, starttls (upgrade after connecting; refuses a
	// server that does not offer it) or tls (implicit TLS, e.g. port 465).
	// Default starttls.
	Security string `yaml:"security"`
	// Username and Password (or PasswordFile) for AUTH PLAIN; only over
	// TLS (or to localhost).
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// CAFile verifies the server's certificate (default: the system's
	// roots); InsecureSkipVerify skips verification (tests only).
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// Timeout bounds connecting and the whole conversation of one mail.
	// Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// HELO is the name sent in EHLO. Default "localhost".
	HELO string `yaml:"helo"`
}

func (c *SMTPConfig) defaults() {
	if c.Security == "" {
		c.Security = "starttls"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.HELO == "" {
		c.HELO = "localhost"
	}
}

func (c SMTPConfig) validate() error {
	var errs []error
	if c.Host == "" || c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("notify.smtp: host %q port %d: set the mail server's host and port", c.Host, c.Port))
	}
	switch c.Security {
	case "none", "starttls", "tls":
	default:
		errs = append(errs, fmt.Errorf("notify.smtp.security %q: use none, starttls or tls", c.Security))
	}
	if c.Password != "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("notify.smtp: set password or password_file, not both"))
	}
	if (c.Password != "" || c.PasswordFile != "") && c.Username == "" {
		errs = append(errs, errors.New("notify.smtp: a password needs a username"))
	}
	return errors.Join(errs...)
}

// sender performs mail effects (outbox.Performer): it applies
// receiver_override, dry-run and the per-minute limit, and talks SMTP.
type sender struct {
	smtp      SMTPConfig
	password  string
	tls       *tls.Config
	override  string
	dryRun    bool
	perMinute int
	log       *slog.Logger
	m         *metrics
	now       func() time.Time

	mu   sync.Mutex
	sent []time.Time // send times within the last minute
}

func newSender(cfg Config, log *slog.Logger, m *metrics) (*sender, error) {
	s := &sender{smtp: cfg.SMTP, override: cfg.ReceiverOverride, dryRun: cfg.DryRun, perMinute: cfg.PerMinute, log: log, m: m, now: time.Now,
		password: cfg.SMTP.Password}
	if cfg.SMTP.PasswordFile != "" {
		b, err := os.ReadFile(cfg.SMTP.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("notify.smtp.password_file: %w", err)
		}
		s.password = strings.TrimSpace(string(b))
	}
	s.tls = &tls.Config{ServerName: cfg.SMTP.Host, InsecureSkipVerify: cfg.SMTP.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // only when configured, for tests
	if cfg.SMTP.CAFile != "" {
		pem, err := os.ReadFile(cfg.SMTP.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notify.smtp.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("notify.smtp.ca_file %s: no PEM certificate in it", cfg.SMTP.CAFile)
		}
		s.tls.RootCAs = pool
	}
	return s, nil
}

// sendResult is kept with the done record.
type sendResult struct {
	To       []string `json:"to"`
	Rejected []string `json:"rejected,omitempty"`
	DryRun   bool     `json:"dry_run,omitempty"`
}

var (
	_ outbox.Performer       = (*sender)(nil)
	_ outbox.WindowPerformer = (*sender)(nil)
)

// Perform sends one alert. Contract: outbox.Performer.
func (s *sender) Perform(ctx context.Context, e outbox.Effect) ([]byte, error) {
	return s.PerformWindow(ctx, e, func() error { return nil })
}

// PerformWindow sends one alert, calling open just before the server is
// told the mail is complete (the end of DATA): only from there on can a
// crash leave it sent but not marked. Contract: outbox.WindowPerformer.
func (s *sender) PerformWindow(ctx context.Context, e outbox.Effect, open func() error) ([]byte, error) {
	var m Mail
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		return nil, outbox.Permanent(fmt.Errorf("undecodable mail: %w", err))
	}
	to := m.To
	if s.override != "" {
		to = []string{s.override}
	}
	if len(to) == 0 {
		return nil, outbox.Permanent(fmt.Errorf("no receivers (rule %s, object %s): configure receivers or EMAIL addresses on the unit", m.Rule, m.Object))
	}
	if wait := s.limit(); wait > 0 {
		return nil, outbox.Later(wait, fmt.Errorf("per_minute limit %d reached", s.perMinute))
	}
	msg, err := m.Bytes(to)
	if err != nil {
		return nil, outbox.Permanent(err)
	}
	if s.dryRun {
		if err := open(); err != nil {
			return nil, err
		}
		s.log.Info("dry run: mail not sent", slog.String("key", m.Key), slog.String("message_id", m.MessageID),
			slog.Any("to", to), slog.String("subject", m.Subject), slog.String("text", m.Text))
		s.m.mails.WithLabelValues(m.Rule, "dry_run").Inc()
		return json.Marshal(sendResult{To: to, DryRun: true})
	}
	rejected, err := s.send(ctx, m.From, to, msg, open)
	if err != nil {
		var perm *outbox.PermanentError
		if errors.As(err, &perm) {
			s.m.mails.WithLabelValues(m.Rule, "rejected").Inc()
		} else {
			s.m.sendErrors.Inc()
		}
		return nil, err
	}
	s.record()
	s.m.mails.WithLabelValues(m.Rule, "sent").Inc()
	if e.Recovered {
		s.m.maybeDuplicate.Inc()
	}
	s.log.Info("mail sent", slog.String("key", m.Key), slog.String("message_id", m.MessageID), slog.Any("to", to),
		slog.String("subject", m.Subject), slog.Bool("recovered", e.Recovered))
	return json.Marshal(sendResult{To: to, Rejected: rejected})
}

// limit returns how long to wait before the next mail may go.
func (s *sender) limit() time.Duration {
	if s.perMinute <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.sent) > 0 && now.Sub(s.sent[0]) >= time.Minute {
		s.sent = s.sent[1:]
	}
	if len(s.sent) < s.perMinute {
		return 0
	}
	return s.sent[0].Add(time.Minute).Sub(now)
}

func (s *sender) record() {
	if s.perMinute <= 0 {
		return
	}
	s.mu.Lock()
	s.sent = append(s.sent, s.now())
	s.mu.Unlock()
}

// smtpError classifies a server reply: 5xx is permanent (the reply is the
// reason), anything else is retried.
func smtpError(stage string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 && tp.Code < 600 {
		return outbox.Permanent(fmt.Errorf("smtp %s: server replied %d %s", stage, tp.Code, tp.Msg))
	}
	return fmt.Errorf("smtp %s: %w", stage, err)
}

// send delivers msg to the server, returning the recipients it rejected
// (5xx) when it accepted others.
func (s *sender) send(ctx context.Context, from string, to []string, msg []byte, open func() error) ([]string, error) {
	addr := net.JoinHostPort(s.smtp.Host, strconv.Itoa(s.smtp.Port))
	ctx, cancel := context.WithTimeout(ctx, s.smtp.Timeout)
	defer cancel()
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if s.smtp.Security == "tls" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: s.tls}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.smtp.Host)
	if err != nil {
		conn.Close()
		return nil, smtpError("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.smtp.HELO); err != nil {
		return nil, smtpError("EHLO", err)
	}
	if s.smtp.Security == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return nil, fmt.Errorf("smtp server %s does not offer STARTTLS: configure TLS on it, or set notify.smtp.security to tls or none", addr)
		}
		if err := c.StartTLS(s.tls); err != nil {
			return nil, smtpError("STARTTLS", err)
		}
	}
	if s.smtp.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.smtp.Username, s.password, s.smtp.Host)); err != nil {
			// Refused credentials are the configuration's fault, not the
			// mail's: retried (with backoff) until they are fixed, never
			// dead-lettered.
			return nil, fmt.Errorf("smtp AUTH as %q refused (check notify.smtp.username and password): %w", s.smtp.Username, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return nil, smtpError("MAIL FROM", err)
	}
	var rejected []string
	var lastRcptErr error
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			e := smtpError("RCPT TO "+r, err)
			var perm *outbox.PermanentError
			if !errors.As(e, &perm) {
				return nil, e
			}
			rejected, lastRcptErr = append(rejected, r), e
		}
	}
	if len(rejected) == len(to) {
		return nil, lastRcptErr
	}
	w, err := c.Data()
	if err != nil {
		return nil, smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return nil, smtpError("DATA", err)
	}
	// The server accepts the mail with its reply to the end of DATA: from
	// here until the done record commits is the crash window.
	if err := open(); err != nil {
		return nil, fmt.Errorf("record the mail as being sent: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, smtpError("end of DATA", err)
	}
	_ = c.Quit()
	return rejected, nil
}
