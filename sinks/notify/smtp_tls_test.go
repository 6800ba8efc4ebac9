package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/os2mo-cdc/mocdc/sinks/outbox"
)

// The local OpenSMTPD cannot do TLS (Debian 12's 6.8 fails every handshake
// under OpenSSL 3), so STARTTLS, implicit TLS and AUTH are tested against
// emersion/go-smtp, a complete SMTP server implementation (the one maddy is
// built on), with a certificate made here.

type tlsServer struct {
	mu   sync.Mutex
	msgs []string
	from []string
}

type tlsSession struct {
	s      *tlsServer
	authed bool
	from   string
}

func (s *tlsServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &tlsSession{s: s}, nil }
func (x *tlsSession) AuthMechanisms() []string                   { return []string{sasl.Plain} }
func (x *tlsSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mocdc" || pass != "hemmelig" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.authed = true
		return nil
	}), nil
}
func (x *tlsSession) Mail(from string, _ *smtp.MailOptions) error {
	if !x.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	x.from = from
	return nil
}
func (x *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *tlsSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, string(b))
	x.s.from = append(x.s.from, x.from)
	x.s.mu.Unlock()
	return err
}
func (x *tlsSession) Reset()        {}
func (x *tlsSession) Logout() error { return nil }

// certFor makes a self-signed certificate for 127.0.0.1 and writes it as a
// CA file.
func certFor(t *testing.T) (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

func startTLSServer(t *testing.T, implicit bool) (*tlsServer, int, string) {
	cert, ca := certFor(t)
	be := &tlsServer{}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var ln net.Listener
	var err error
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return be, ln.Addr().(*net.TCPAddr).Port, ca
}

func TestSenderTLSAndAuth(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, security string
		implicit       bool
	}{{"starttls", "starttls", false}, {"implicit tls", "tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			be, port, ca := startTLSServer(t, tc.implicit)
			mk := func(pass, caFile string) *sender {
				return testSenderTo(t, SMTPConfig{Host: "127.0.0.1", Port: port, Security: tc.security,
					Username: "mocdc", Password: pass, CAFile: caFile, Timeout: 5 * time.Second})
			}
			ef := effect(t, "a@kommune.dk")
			if _, err := mk("hemmelig", ca).Perform(ctx, ef); err != nil {
				t.Fatalf("send over %s with AUTH: %v", tc.security, err)
			}
			be.mu.Lock()
			n := len(be.msgs)
			got := strings.Join(be.msgs, "")
			be.mu.Unlock()
			if n != 1 || !strings.Contains(got, "X-Mocdc-Alert-Key: "+ef.Key) {
				t.Fatalf("server holds %d messages:\n%s", n, got)
			}
			// Wrong password: retried (configuration), never dead.
			_, err := mk("forkert", ca).Perform(ctx, effect(t, "a@kommune.dk"))
			var perm *outbox.PermanentError
			if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "AUTH") {
				t.Fatalf("wrong password: %v; want a retryable AUTH error", err)
			}
			// A certificate the CA file does not vouch for: refused.
			_, err = mk("hemmelig", "").Perform(ctx, effect(t, "a@kommune.dk"))
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("unverified certificate: %v; want a certificate error", err)
			}
		})
	}
}

func testSenderTo(t *testing.T, sc SMTPConfig) *sender {
	cfg := Config{Sender: "os2mo@kommune.dk", SMTP: sc}
	cfg.Defaults()
	s, err := newSender(cfg, discardLog(), newMetricsForTest())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
