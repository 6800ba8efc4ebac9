package ad

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
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

// create requests the account of a person that has none: it proposes a few
// DNs and sAMAccountNames (free now), renders the attributes and sends them
// to the create outbox (outbox.go), which makes the account once. The
// reconcile ends without a target; the link the outbox publishes brings
// the person back (linked). An account the sink created that is gone from
// AD is not made again: it is reported.
func (w *work) create(ctx context.Context, person string, it *view.Object, now time.Time, active bool) (*account, error) {
	s := w.s
	if k := s.links.get(person); k != nil && k.State == Created {
		s.unresolved(ctx, person, "created_account_gone", fmt.Sprintf("the account the sink created (%s, objectGUID %s) is no longer in AD; it is not created again (remove the person's record from %s to allow it)", k.DN, k.GUID, AccountsTopic(s.deps.Topics)))
		return nil, nil
	}
	if k := s.links.get(person); k != nil && k.State == Failed && k.Cause == createKey(person, maxCreateAttempts-1) {
		s.unresolved(ctx, person, "create_failed", fmt.Sprintf("%d creates of the account failed; the last: %s", maxCreateAttempts, k.Reason))
		return nil, nil
	}
	if s.awaiting(person) {
		return nil, nil // its request is open: until its link comes, or it times out
	}
	d, _, err := s.r.data(person, it, now, w)
	if err != nil {
		return nil, err
	}
	// The names chosen below are reserved for the person (proposals.go);
	// unless the request is sent, they are freed again.
	sent := false
	defer func() {
		if !sent {
			s.releaseNames(person)
		}
	}()
	sams, err := w.freeSAMs(d, proposals, person)
	if err != nil {
		return nil, err
	}
	ou := s.placement(d)
	if ou == "" {
		ou = s.cfg.Create.OU
	}
	dns, err := w.freeDNs(cleanCN(d.Person.Name), ou, proposals, person)
	if err != nil {
		return nil, err
	}
	dn, sam := dns[0], sams[0]
	if !s.cfg.writable(dn) {
		s.unresolved(ctx, person, "outside_write_ous", "a new account would be created at "+dn+", outside ad.write_ous")
		return nil, nil
	}
	if s.cfg.DryRun {
		s.m.dryRun.Inc()
		s.log.Info("dry-run: would create", slog.String("uuid", person), slog.String("dn", dn), slog.String("sam_account_name", sam))
		return nil, nil
	}
	desired, err := s.mapping.Render(d)
	if err != nil {
		return nil, err
	}
	req := &createRequest{Person: person, DNs: dns, SAMs: sams, Attrs: map[string][]string{}, Enabled: active, Causes: w.causes}
	if it != nil {
		req.ITUser = it.UUID
	}
	for attr, vals := range desired {
		if !strings.EqualFold(attr, "cn") && len(vals) > 0 {
			req.Attrs[attr] = vals
		}
	}
	sent = true // (request frees them when it fails)
	return nil, s.request(ctx, req)
}

// proposals is how many free DNs and sAMAccountNames a create request
// proposes: the outbox takes the first that no other person's create has
// claimed (namesakes requested at once by two instances; within one
// instance a namesake's open request is skipped already).
const proposals = 3

// freeSAMs renders the sAMAccountName rules with N = 1, 2, … and returns
// up to n that are free, not forbidden and not proposed for another
// person by an open request (at least one, or an error).
func (w *work) freeSAMs(d *Data, n int, person string) ([]string, error) {
	forbidden := map[string]bool{}
	for _, f := range w.s.cfg.Create.Forbidden {
		forbidden[strings.ToLower(f)] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, rule := range w.s.sams {
		for i := 1; i <= 99 && len(out) < n; i++ {
			dd := *d
			dd.N = i
			var b bytes.Buffer
			if err := rule.t.Execute(&b, &dd); err != nil {
				return nil, fmt.Errorf("ad.create.sam_account_name: %w", err)
			}
			sam := strings.TrimSpace(b.String())
			if len(sam) > 20 {
				sam = sam[:20] // AD's limit
			}
			if sam == "" || forbidden[strings.ToLower(sam)] || seen[strings.ToLower(sam)] {
				continue
			}
			seen[strings.ToLower(sam)] = true
			taken, err := w.dir.samTaken(sam)
			if err != nil {
				return nil, err
			}
			if !taken && w.s.reserveName("sam/", sam, person) {
				out = append(out, sam)
			}
			if !strings.Contains(rule.t.Root.String(), ".N") {
				break // the rule has no counter: the next rule
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no free sAMAccountName for %q: every ad.create.sam_account_name rule is taken", d.Person.Name)
	}
	return out, nil
}

// freeDNs returns up to n free CN=name,ou, with " 2", " 3", … for those
// taken or proposed for another person by an open request.
func (w *work) freeDNs(name, ou string, n int, person string) ([]string, error) {
	if name == "" {
		name = "unnamed"
	}
	var out []string
	for i := 1; i <= 50 && len(out) < n; i++ {
		cn := name
		if i > 1 {
			cn = fmt.Sprintf("%s %d", name, i)
		}
		dn := "CN=" + ldap.EscapeDN(cn) + "," + ou
		a, err := w.dir.byDN(dn)
		if err != nil {
			return nil, err
		}
		if a == nil && w.s.reserveName("dn/", dn, person) {
			out = append(out, dn)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no free CN for %q in %s", name, ou)
	}
	return out, nil
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
