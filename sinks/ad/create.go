package ad

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// UAC values of a new account: a normal account, enabled or disabled.
const (
	uacNormal         = 0x200
	uacNormalDisabled = uacNormal | uacDisabled
)

type templateSAM struct{ t *template.Template }

// create makes the account of a person that has none, through the
// accounts topic as an outbox (DESIGN §6a):
//
//  1. read the accounts topic to its end (another instance's intent);
//  2. a pending intent for the person whose DN or sAMAccountName AD
//     already has means the add happened before a crash: record it done;
//  3. else write the intent (DN, sAMAccountName) and wait for Kafka's ack;
//  4. add the account (disabled unless an engagement is valid today, a
//     random password);
//  5. read its objectGUID and write the link "created".
//
// A crash between 3 and 5 leaves an intent that step 2 resolves, and AD
// refuses a second object with the same DN or sAMAccountName, so no crash
// makes two accounts for one person.
func (w *work) create(ctx context.Context, person string, it *view.Object, now time.Time, active bool) (*account, error) {
	s := w.s
	if err := s.links.sync(ctx); err != nil {
		return nil, err
	}
	k := s.links.get(person)
	if k != nil && k.State == Pending {
		a, err := w.dir.byDN(k.DN)
		if err != nil {
			return nil, err
		}
		if a == nil && k.SAM != "" {
			as, err := w.dir.search(s.cfg.BaseDN, ldap.ScopeWholeSubtree, fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(k.SAM)))
			if err != nil {
				return nil, err
			}
			if len(as) == 1 {
				a = as[0]
			}
		}
		if a != nil {
			s.log.Info("create intent found done in AD (a crash between add and record); recording it", slog.String("uuid", person), slog.String("dn", a.DN))
			return a, s.links.put(ctx, &Link{Person: person, ITUser: k.ITUser, State: Created, GUID: a.GUID, DN: a.DN, SAM: a.SAM, Cause: k.Cause, Time: s.now()})
		}
	}
	d, _, err := s.r.data(person, it, now, w)
	if err != nil {
		return nil, err
	}
	var dn, sam string
	if k != nil && k.State == Pending {
		dn, sam = k.DN, k.SAM // perform the recorded intent
	} else {
		if sam, err = w.freeSAM(d); err != nil {
			return nil, err
		}
		ou := s.placement(d)
		if ou == "" {
			ou = s.cfg.Create.OU
		}
		if dn, err = w.freeDN(cleanCN(d.Person.Name), ou); err != nil {
			return nil, err
		}
	}
	if !s.cfg.writable(dn) {
		s.unresolved(ctx, person, "outside_write_ous", "a new account would be created at "+dn+", outside ad.write_ous")
		return nil, nil
	}
	if s.cfg.DryRun {
		s.m.dryRun.Inc()
		s.log.Info("dry-run: would create", slog.String("uuid", person), slog.String("dn", dn), slog.String("sam_account_name", sam))
		return nil, nil
	}
	intent := &Link{Person: person, State: Pending, DN: dn, SAM: sam, Cause: "reconcile", Time: s.now()}
	if it != nil {
		intent.ITUser = it.UUID
	}
	if err := s.links.put(ctx, intent); err != nil {
		return nil, err
	}
	desired, err := s.mapping.Render(d)
	if err != nil {
		return nil, err
	}
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{sam})
	uac := uacNormalDisabled
	if active {
		uac = uacNormal
	}
	add.Attribute("userAccountControl", []string{strconv.Itoa(uac)})
	add.Attribute("unicodePwd", []string{unicodePwd(randomPassword())})
	for attr, vals := range desired {
		if strings.EqualFold(attr, "cn") || len(vals) == 0 {
			continue
		}
		add.Attribute(attr, vals)
	}
	if err := s.limiter.wait(ctx); err != nil {
		return nil, err
	}
	if err := w.dir.conn.Add(add); err != nil {
		if retryable(err) {
			return nil, err
		}
		s.deadLetter(ctx, person, dn, fmt.Errorf("AD rejected the create of %s (sAMAccountName %s): %w", dn, sam, err))
		return nil, nil
	}
	s.m.writes.WithLabelValues("create").Inc()
	a, err := w.dir.byDN(dn)
	if err != nil || a == nil {
		return nil, fmt.Errorf("read back the new account %s: %v", dn, err) // the intent resolves it on retry
	}
	s.log.Info("account created", slog.String("uuid", person), slog.String("dn", dn), slog.String("object_guid", a.GUID), slog.Bool("enabled", active))
	done := *intent
	done.State, done.GUID, done.Time = Created, a.GUID, s.now()
	if err := s.links.put(ctx, &done); err != nil {
		return nil, err
	}
	// Who this person manages shows the new account as manager.
	s.touched(view.Touch{Owners: view.Owners{Persons: []string{person}}, Type: "ituser"})
	return a, nil
}

// freeSAM renders the sAMAccountName rules with N = 1, 2, … until one is
// free and not forbidden.
func (w *work) freeSAM(d *Data) (string, error) {
	forbidden := map[string]bool{}
	for _, f := range w.s.cfg.Create.Forbidden {
		forbidden[strings.ToLower(f)] = true
	}
	for _, rule := range w.s.sams {
		for n := 1; n <= 99; n++ {
			dd := *d
			dd.N = n
			var b bytes.Buffer
			if err := rule.t.Execute(&b, &dd); err != nil {
				return "", fmt.Errorf("ad.create.sam_account_name: %w", err)
			}
			sam := strings.TrimSpace(b.String())
			if len(sam) > 20 {
				sam = sam[:20] // AD's limit
			}
			if sam == "" || forbidden[strings.ToLower(sam)] {
				continue
			}
			taken, err := w.dir.samTaken(sam)
			if err != nil {
				return "", err
			}
			if !taken {
				return sam, nil
			}
			if !strings.Contains(rule.t.Root.String(), ".N") {
				break // the rule has no counter: the next rule
			}
		}
	}
	return "", fmt.Errorf("no free sAMAccountName for %q: every ad.create.sam_account_name rule is taken", d.Person.Name)
}

// freeDN returns CN=name,ou, with " 2", " 3", … while taken.
func (w *work) freeDN(name, ou string) (string, error) {
	if name == "" {
		name = "unnamed"
	}
	for i := 1; i <= 50; i++ {
		cn := name
		if i > 1 {
			cn = fmt.Sprintf("%s %d", name, i)
		}
		dn := "CN=" + ldap.EscapeDN(cn) + "," + ou
		a, err := w.dir.byDN(dn)
		if err != nil {
			return "", err
		}
		if a == nil {
			return dn, nil
		}
	}
	return "", fmt.Errorf("no free CN for %q in %s", name, ou)
}

// deleted handles a person gone from MO: with ad.delete, the account the
// sink created for it is deleted; otherwise nothing happens.
func (w *work) deleted(ctx context.Context, person string) error {
	s := w.s
	k := s.links.get(person)
	if !s.cfg.Delete || k == nil || k.State != Created || k.GUID == "" {
		return nil
	}
	a, err := w.dir.byGUID(k.GUID)
	if err != nil || a == nil {
		return err
	}
	if !s.cfg.writable(a.DN) {
		s.unresolved(ctx, person, "outside_write_ous", "the account to delete, "+a.DN+", is outside ad.write_ous")
		return nil
	}
	if s.cfg.DryRun {
		s.m.dryRun.Inc()
		s.log.Info("dry-run: would delete", slog.String("uuid", person), slog.String("dn", a.DN))
		return nil
	}
	if err := s.limiter.wait(ctx); err != nil {
		return err
	}
	if err := w.dir.conn.Del(ldap.NewDelRequest(a.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return err
	}
	s.m.writes.WithLabelValues("delete").Inc()
	gone := *k
	gone.State, gone.Time = Deleted, s.now()
	return s.links.put(ctx, &gone)
}

// unicodePwd encodes a password as AD wants it: quoted, UTF-16LE.
func unicodePwd(p string) string {
	u := utf16.Encode([]rune(`"` + p + `"`))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return string(b)
}

// randomPassword satisfies AD's complexity rule (three of four classes)
// and length; nobody knows it: the account is set up by the IdM process.
func randomPassword() string {
	const classes = "ABCDEFGHJKLMNPQRSTUVWXYZ|abcdefghijkmnopqrstuvwxyz|23456789|!#%+-=?"
	sets := strings.Split(classes, "|")
	var b strings.Builder
	for i := 0; i < 24; i++ {
		set := sets[i%len(sets)]
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		b.WriteByte(set[n.Int64()])
	}
	return b.String()
}

// limiter spaces LDAP writes to at most rate per second (a token bucket
// of one second's burst); rate < 0 is unlimited.
type limiter struct {
	mu    sync.Mutex
	rate  float64
	next  time.Time
	burst time.Duration
}

func newLimiter(rate float64) *limiter { return &limiter{rate: rate, burst: time.Second} }

func (l *limiter) wait(ctx context.Context) error {
	if l.rate < 0 {
		return nil
	}
	gap := time.Duration(float64(time.Second) / l.rate)
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now.Add(-l.burst)) {
		l.next = now.Add(-l.burst)
	}
	at := l.next
	l.next = l.next.Add(gap)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
