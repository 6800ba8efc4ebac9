package ad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
)

// account is an AD account as read before writing.
type account struct {
	DN   string
	GUID string // canonical string form (AD's bytes_le order)
	SAM  string
	UAC  int64
	USN  string // uSNChanged
	// Attrs maps the lower-cased attribute name to its values.
	Attrs map[string][]string
}

func (a *account) get(attr string) []string { return a.Attrs[strings.ToLower(attr)] }

// tlsConfig builds the client TLS settings of cfg.
func tlsConfig(cfg *Config) (*tls.Config, error) {
	u, _ := url.Parse(cfg.URL)
	tc := &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ad.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ad.ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dial connects and binds. A wrong password or an unknown bind DN is
// permanent: retrying cannot fix it.
func dial(ctx context.Context, cfg *Config, tc *tls.Config) (*ldap.Conn, error) {
	c, err := ldap.DialURL(cfg.URL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("connect to AD %s: %w", cfg.URL, err)
	}
	c.SetTimeout(cfg.Timeout)
	if cfg.StartTLS {
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, fmt.Errorf("StartTLS with %s: %w", cfg.URL, err)
		}
	}
	if err := c.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		c.Close()
		return nil, bindError(cfg, err)
	}
	return c, nil
}

// errBind marks a bind AD refused: a configuration error.
var errBind = errors.New("AD refused the bind")

// bindError explains AD's bind error codes (the "data NNN" of result 49).
func bindError(cfg *Config, err error) error {
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
			return fmt.Errorf("%w as %s: AD requires TLS for a simple bind: use ldaps:// or start_tls: %v", errBind, cfg.BindDN, err)
		}
		return fmt.Errorf("bind to AD as %s: %w", cfg.BindDN, err)
	}
	why := "wrong password or unknown bind DN"
	for code, meaning := range map[string]string{
		"data 52e": "wrong password (data 52e)", "data 525": "no such user (data 525)",
		"data 530": "not permitted to log on at this time (data 530)", "data 531": "not permitted to log on at this workstation (data 531)",
		"data 532": "password expired (data 532)", "data 533": "account disabled (data 533)",
		"data 701": "account expired (data 701)", "data 773": "user must reset password (data 773)",
		"data 775": "account locked out (data 775)",
	} {
		if strings.Contains(err.Error(), code) {
			why = meaning
		}
	}
	return fmt.Errorf("%w as %s: %s — check ad.bind_dn and ad.bind_password / bind_password_file (%v)", errBind, cfg.BindDN, why, err)
}

// retryable reports whether err may go away by itself: the connection
// failed, or AD is busy or unavailable. Everything else AD answers is
// about the request and would fail again.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errBind) {
		return false
	}
	if errors.Is(err, errMoved) {
		return true
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return true // network, TLS, timeouts
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.ErrorUnexpectedResponse,
		ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultServerDown,
		ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultOther:
		return true
	}
	return false
}

// errMoved marks a write to an account that was no longer at the DN this
// reconcile had read it at: renamed, moved or deleted since (by the other
// instance while partitions moved between them, or by hand). The
// reconcile runs again and finds it by objectGUID; AD's answer counts
// against maxAnswerRetries, so an account that keeps vanishing is
// dead-lettered in the end.
var errMoved = errors.New("the account moved since it was read")

// moved is AD's "no such object" for a write to an account just read.
func moved(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode == ldap.LDAPResultNoSuchObject
}

// guidString converts AD's 16 objectGUID bytes to the string form AD and
// OS2mo show (the first three fields little-endian).
func guidString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	le := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	u, _ := uuid.FromBytes(append(le, b[8:]...))
	return u.String()
}

// guidFilter is the search filter for an objectGUID in string form.
func guidFilter(s string) (string, error) {
	u, err := uuid.Parse(strings.Trim(s, "{}"))
	if err != nil {
		return "", fmt.Errorf("%q is not an objectGUID", s)
	}
	b := u[:]
	raw := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	raw = append(raw, b[8:]...)
	var f strings.Builder
	f.WriteString("(objectGUID=")
	for _, x := range raw {
		f.WriteString(`\` + hex.EncodeToString([]byte{x}))
	}
	f.WriteString(")")
	return f.String(), nil
}

// reader reads accounts; writer changes them. Both run on one bound
// connection (not safe for concurrent use: one per worker).
type directory struct {
	cfg    *Config
	conn   *ldap.Conn
	attrs  []string // attributes read per account
	absent *absentGUIDs
}

func (d *directory) readAttrs(mapped []string) {
	d.attrs = append([]string{"objectGUID", "sAMAccountName", "userAccountControl", "uSNChanged", "cn", "objectClass"}, mapped...)
	if d.cfg.CPRAttribute != "" {
		d.attrs = append(d.attrs, d.cfg.CPRAttribute)
	}
}

func (d *directory) search(base string, scope int, filter string) ([]*account, error) {
	res, err := d.conn.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, int(d.cfg.Timeout.Seconds()), false, filter, d.attrs, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, nil
		}
		return nil, fmt.Errorf("search %s %s: %w", base, filter, err)
	}
	out := make([]*account, 0, len(res.Entries))
	for _, e := range res.Entries {
		a := &account{DN: e.DN, Attrs: map[string][]string{}}
		for _, at := range e.Attributes {
			a.Attrs[strings.ToLower(at.Name)] = at.Values
		}
		a.GUID = guidString(e.GetRawAttributeValue("objectGUID"))
		a.SAM = e.GetAttributeValue("sAMAccountName")
		a.USN = e.GetAttributeValue("uSNChanged")
		a.UAC, _ = strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
		out = append(out, a)
	}
	return out, nil
}

// byGUID returns the account with that objectGUID anywhere below the base
// DN, or nil.
func (d *directory) byGUID(guid string) (*account, error) {
	f, err := guidFilter(guid)
	if err != nil {
		return nil, err
	}
	if d.absent != nil && d.absent.has(guid) {
		return nil, nil
	}
	as, err := d.search(d.cfg.BaseDN, ldap.ScopeWholeSubtree, f)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		if d.absent != nil {
			d.absent.add(guid)
		}
		return nil, nil
	}
	return as[0], nil
}

// absentGUIDs remembers objectGUIDs no account has, for a while: AD
// assigns GUIDs, so one that is absent stays absent (unless an account is
// restored from the recycle bin: hence the expiry). It spares a search per
// dangling IT user link on every reconcile. Safe for concurrent use.
type absentGUIDs struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]time.Time
}

func newAbsentGUIDs(ttl time.Duration) *absentGUIDs {
	return &absentGUIDs{ttl: ttl, m: map[string]time.Time{}}
}

func (a *absentGUIDs) has(g string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.m[g]
	if ok && time.Since(t) > a.ttl {
		delete(a.m, g)
		return false
	}
	return ok
}

func (a *absentGUIDs) add(g string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) > 200000 {
		clear(a.m) // bounded memory
	}
	a.m[g] = time.Now()
}

// forget drops g (an account was just created or found with it).
func (a *absentGUIDs) forget(g string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, g)
}

// byDN reads one account, nil when there is none.
func (d *directory) byDN(dn string) (*account, error) {
	as, err := d.search(dn, ldap.ScopeBaseObject, "(objectClass=*)")
	if err != nil || len(as) == 0 {
		return nil, err
	}
	return as[0], nil
}

// byCPR returns the accounts of the object class whose CPR attribute is
// cpr, in the search OUs.
func (d *directory) byCPR(cpr string) ([]*account, error) {
	f := fmt.Sprintf("(&(objectClass=%s)(%s=%s))", ldap.EscapeFilter(d.cfg.ObjectClass), d.cfg.CPRAttribute, ldap.EscapeFilter(cpr))
	var out []*account
	seen := map[string]bool{}
	for _, ou := range d.cfg.SearchOUs {
		as, err := d.search(ou, ldap.ScopeWholeSubtree, f)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if !seen[a.GUID] {
				seen[a.GUID] = true
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// samTaken reports whether any object in the domain has the name.
func (d *directory) samTaken(sam string) (bool, error) {
	as, err := d.search(d.cfg.BaseDN, ldap.ScopeWholeSubtree, fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(sam)))
	return len(as) > 0, err
}
