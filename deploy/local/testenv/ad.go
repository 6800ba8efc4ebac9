package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// Names of the environment variables of the local Samba AD DC.
const (
	EnvADURL          = "MOCDC_TEST_AD_URL"
	EnvADCA           = "MOCDC_TEST_AD_CA"
	EnvADBase         = "MOCDC_TEST_AD_BASE"
	EnvADBindDN       = "MOCDC_TEST_AD_BIND_DN"
	EnvADPasswordFile = "MOCDC_TEST_AD_PASSWORD_FILE"
)

// AD is the local Samba AD domain controller (deploy/local/services samba).
type AD struct {
	URL, CAFile, BaseDN, BindDN, Password, PasswordFile string
}

// LocalAD returns the local AD DC's settings or fails the test saying how
// to start it.
func LocalAD(tb testing.TB) AD {
	tb.Helper()
	a := AD{URL: mustEnv(tb, EnvADURL), CAFile: mustEnv(tb, EnvADCA), BaseDN: mustEnv(tb, EnvADBase),
		BindDN: mustEnv(tb, EnvADBindDN), PasswordFile: mustEnv(tb, EnvADPasswordFile)}
	b, err := os.ReadFile(a.PasswordFile)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", EnvADPasswordFile, err)
	}
	a.Password = strings.TrimSpace(string(b))
	return a
}

// Conn returns an administrator connection (LDAPS, verified with the local
// CA), closed at cleanup.
func (a AD) Conn(tb testing.TB) *ldap.Conn {
	tb.Helper()
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(a.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		tb.Fatalf("testenv: connect to AD %s: %v; is it running? `deploy/local/services status samba`", a.URL, err)
	}
	if err := c.Bind(a.BindDN, a.Password); err != nil {
		c.Close()
		tb.Fatalf("testenv: bind to AD as %s: %v", a.BindDN, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// NewOU creates an empty OU with a unique name under OU=mocdc and returns
// its DN; cleanup deletes it with everything in it.
func (a AD) NewOU(tb testing.TB, prefix string) string {
	tb.Helper()
	c := a.Conn(tb)
	name := uniqueName(tb, prefix)
	dn := "OU=" + name + ",OU=mocdc," + a.BaseDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	req.Attribute("ou", []string{name})
	if err := c.Add(req); err != nil {
		tb.Fatalf("testenv: create %s: %v", dn, err)
	}
	tb.Cleanup(func() {
		if err := a.deleteTree(dn); err != nil {
			tb.Errorf("testenv: delete %s: %v", dn, err)
		}
	})
	return dn
}

func (a AD) deleteTree(dn string) error {
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(a.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Bind(a.BindDN, a.Password); err != nil {
		return err
	}
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"dn"}, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil
		}
		return err
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	// Deepest first: a DN with more commas is below one with fewer.
	sort.Slice(dns, func(i, j int) bool { return strings.Count(dns[i], ",") > strings.Count(dns[j], ",") })
	for _, d := range dns {
		if err := c.Del(ldap.NewDelRequest(d, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return err
		}
	}
	return nil
}
