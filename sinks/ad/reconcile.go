package ad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

var kerrTopicExists = kerr.TopicAlreadyExists

// StageAD is the dead-letter stage of what the AD sink could not do.
const StageAD = "ad"

// maxAnswerRetries caps retries of an error AD answered with a result
// code we treat as transient (busy, unavailable, other): after that it is
// dead-lettered. Network errors are retried without end.
const maxAnswerRetries = 8

// worker reconciles queued persons on its own connection until ctx ends.
func (s *Sink) worker(ctx context.Context) error {
	w := &work{s: s}
	defer w.close()
	for {
		if err := s.waitWindow(ctx); err != nil {
			return nil
		}
		p, ok := s.queue.Get(ctx)
		if !ok {
			return nil
		}
		if p == positionMarker {
			s.queue.Done(p)
			select {
			case s.marker <- struct{}{}:
			default:
			}
			continue
		}
		err := w.retrying(ctx, p)
		s.queue.Done(p)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, errBind) {
				return err // the password changed under us: stop, say why
			}
		}
	}
}

// waitWindow blocks while the maintenance window is open.
func (s *Sink) waitWindow(ctx context.Context) error {
	logged := false
	for s.cfg.Maintenance.Contains(s.now()) {
		if !logged {
			s.log.Info("maintenance window: no writes until it ends; changes are queued", slog.String("end", s.cfg.Maintenance.End))
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil
}

// work is one worker's connection and per-person state.
type work struct {
	s   *Sink
	dir *directory
	// dns caches account DNs found during one reconcile (managers).
	dns map[string]string
	// causes are the MO records that queued the person being reconciled.
	causes []outbox.Source
}

func (w *work) close() {
	if w.dir != nil {
		w.dir.conn.Close()
		w.dir = nil
	}
}

func (w *work) connect(ctx context.Context) error {
	if w.dir != nil && !w.dir.conn.IsClosing() {
		return nil
	}
	w.close()
	c, err := dial(ctx, &w.s.cfg, w.s.tls)
	if err != nil {
		return err
	}
	w.dir = &directory{cfg: &w.s.cfg, conn: c, absent: w.s.absent}
	w.dir.readAttrs(w.s.mapping.Attributes())
	return nil
}

// retrying reconciles one person until it succeeds, AD rejects something
// for good (dead-lettered inside), or ctx ends.
func (w *work) retrying(ctx context.Context, person string) error {
	answered := 0
	for attempt := 0; ; attempt++ {
		err := w.connect(ctx)
		if err == nil {
			w.dns = map[string]string{}
			err = w.reconcile(ctx, person)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errBind) {
			w.s.log.Error("AD refused the bind; the sink stops", slog.Any("err", err))
			return err
		}
		var le *ldap.Error
		if errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork {
			answered++
		} else {
			w.close()
		}
		if !retryable(err) || answered > maxAnswerRetries {
			w.s.m.reconciles.WithLabelValues("failed").Inc()
			w.s.deadLetter(ctx, person, "", err)
			return nil
		}
		w.s.m.retries.Inc()
		w.s.log.Warn("AD unavailable; retrying", slog.String("uuid", person), slog.Int("attempt", attempt+1), slog.Any("err", err))
		if werr := w.s.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return werr
		}
	}
}

// target is one account to keep in step: the AD IT user that links it
// (nil for none) and the account as read.
type target struct {
	it   *view.Object
	acct *account
}

// reconcile re-derives one person's accounts and writes what differs.
func (w *work) reconcile(ctx context.Context, person string) error {
	s := w.s
	now := s.now()
	s.mu.Lock()
	commit, hadCommit := s.pending[person]
	delete(s.pending, person)
	s.mu.Unlock()
	w.causes = nil
	if hadCommit && commit.src.Topic != "" {
		w.causes = []outbox.Source{commit.src}
	}
	if s.v.Get(mo.Person, person) == nil {
		return w.deleted(ctx, person)
	}
	targets, err := w.find(ctx, person, now)
	if err != nil || len(targets) == 0 {
		return err
	}
	wrote := false
	for _, t := range targets {
		n, err := w.apply(ctx, person, t, now)
		if err != nil {
			return err
		}
		wrote = wrote || n > 0
	}
	if wrote && hadCommit {
		s.m.latency.Observe(time.Since(commit.commit).Seconds())
		s.m.inSink.Observe(time.Since(commit.read).Seconds())
	}
	return nil
}

// find determines the person's accounts (integrations.md §1): the
// accounts whose objectGUID an AD IT user names; else the one the sink
// created or linked before; else a CPR search in the search OUs. Missing
// or ambiguous: no write, counted and reported. With create configured, a
// person with a current or future engagement and no account gets one.
func (w *work) find(ctx context.Context, person string, now time.Time) ([]target, error) {
	s := w.s
	its := s.r.adITUsers(person, now)
	var out []target
	var dangling []*view.Object
	for _, it := range its {
		guid := s.r.guidOf(it, now)
		if guid == "" {
			dangling = append(dangling, it)
			continue
		}
		a, err := w.dir.byGUID(guid)
		if err != nil && retryable(err) {
			return nil, err
		}
		if a == nil {
			// Counted, not reported yet: OS2mo's integration ends such
			// links, and the CPR search below may still find the account.
			dangling = append(dangling, it)
			s.m.unresolved.WithLabelValues("dangling_link").Inc()
			continue
		}
		out = append(out, target{it, a})
	}
	if len(out) > 0 {
		return out, nil
	}
	var it *view.Object
	if len(dangling) > 0 {
		it = dangling[0]
	} else if len(its) > 0 {
		it = its[0]
	}
	if k := s.links.get(person); k != nil && k.GUID != "" && k.State != Deleted {
		a, err := w.dir.byGUID(k.GUID)
		if err != nil {
			return nil, err
		}
		if a != nil {
			return []target{{it, a}}, nil
		}
	}
	engs, active := s.r.engagements(person, it, now)
	if it == nil && len(s.v.PersonEngagementsEver(person)) == 0 {
		return nil, nil // never employed, no IT user: no account expected
	}
	cpr := s.r.personData(person, now).CPR
	if s.cfg.CPRAttribute != "" && cpr != "" {
		as, err := w.dir.byCPR(cpr)
		if err != nil {
			return nil, err
		}
		switch {
		case len(as) == 1:
			if err := w.found(ctx, person, it, as[0]); err != nil {
				return nil, err
			}
			return []target{{it, as[0]}}, nil
		case len(as) > 1:
			dns := make([]string, len(as))
			for i, a := range as {
				dns[i] = a.DN
			}
			s.unresolved(ctx, person, "ambiguous", fmt.Sprintf("%d accounts have %s=<the person's CPR>: %s; none is written", len(as), s.cfg.CPRAttribute, strings.Join(dns, "; ")))
			return nil, nil
		}
	}
	if len(engs) == 0 {
		return nil, nil
	}
	if s.cfg.Create != nil {
		a, err := w.create(ctx, person, it, now, active)
		if err != nil || a == nil {
			return nil, err
		}
		return []target{{it, a}}, nil
	}
	why := "the person has an engagement but no AD account (no linked objectGUID, none by CPR) and ad.create is off"
	for _, d := range dangling {
		why += fmt.Sprintf("; IT user %s names objectGUID %q, which no AD account has", d.UUID, s.r.guidOf(d, now))
	}
	s.unresolved(ctx, person, "missing", why)
	return nil, nil
}

// found records an account the CPR search found on the accounts topic
// (once): the next reconcile finds it by GUID, and MO can learn the link.
func (w *work) found(ctx context.Context, person string, it *view.Object, a *account) error {
	s := w.s
	if k := s.links.get(person); k != nil && k.GUID == a.GUID && k.State != Deleted {
		return nil
	}
	if s.cfg.DryRun {
		return nil
	}
	k := &Link{Person: person, State: Found, GUID: a.GUID, DN: a.DN, SAM: a.SAM, Cause: "cpr search", Time: s.now()}
	if it != nil {
		k.ITUser = it.UUID
	}
	return s.links.put(ctx, k)
}

// accountDN implements lookup for the manager attribute: the DN of a
// person's first account, "" when it has none.
func (w *work) accountDN(person string) (string, error) {
	if dn, ok := w.dns[person]; ok {
		return dn, nil
	}
	dn := ""
	now := w.s.now()
	for _, it := range w.s.r.adITUsers(person, now) {
		if g := w.s.r.guidOf(it, now); g != "" {
			a, err := w.dir.byGUID(g)
			if err != nil && retryable(err) {
				return "", err
			}
			if a != nil {
				dn = a.DN
				break
			}
		}
	}
	if dn == "" {
		if k := w.s.links.get(person); k != nil && k.GUID != "" && k.State != Deleted {
			a, err := w.dir.byGUID(k.GUID)
			if err != nil {
				return "", err
			}
			if a != nil {
				dn = a.DN
			}
		}
	}
	if dn == "" && w.s.cfg.CPRAttribute != "" {
		if cpr := w.s.r.personData(person, now).CPR; cpr != "" {
			as, err := w.dir.byCPR(cpr)
			if err != nil {
				return "", err
			}
			if len(as) == 1 {
				dn = as[0].DN
			}
		}
	}
	w.dns[person] = dn
	return dn, nil
}

// apply renders one account, diffs it with what AD holds and writes the
// difference; it returns the number of writes.
func (w *work) apply(ctx context.Context, person string, t target, now time.Time) (int, error) {
	s := w.s
	d, active, err := s.r.data(person, t.it, now, w)
	if err != nil {
		return 0, err
	}
	desired, err := s.mapping.Render(d)
	if err != nil {
		s.m.reconciles.WithLabelValues("failed").Inc()
		s.deadLetter(ctx, person, t.acct.DN, err)
		return 0, nil
	}
	var enabled *bool
	if *s.cfg.ManageEnabled {
		enabled = &active
	}
	p, err := diffAccount(t.acct, desired, s.placement(d), enabled)
	if err != nil {
		return 0, err
	}
	if p.empty() {
		s.m.reconciles.WithLabelValues("unchanged").Inc()
		return 0, nil
	}
	if !s.cfg.writable(t.acct.DN) {
		s.unresolved(ctx, person, "outside_write_ous", fmt.Sprintf("account %s is outside ad.write_ous; not written: %s", t.acct.DN, p))
		return 0, nil
	}
	s.m.reconciles.WithLabelValues("changed").Inc()
	return w.write(ctx, person, p)
}

// placement is the OU the account belongs in, "" to leave it.
func (s *Sink) placement(d *Data) string {
	pl := s.cfg.Placement
	if pl == nil {
		return ""
	}
	if d.Engagement != nil {
		path := s.v.UnitPath(d.Engagement.Unit.UUID, s.now())
		for i := len(path) - 1; i >= 0; i-- {
			o := path[i]
			if ou, ok := pl.Units[o.UUID]; ok {
				return ou
			}
			if ou, ok := pl.Units[o.At(s.now()).Str("user_key")]; ok && ou != "" {
				return ou
			}
		}
	}
	return pl.Default
}

// write performs a plan: modify DN first (rename/move), then one modify
// with every attribute change. An attribute AD rejects is dead-lettered
// with AD's message and the others are written one by one.
func (w *work) write(ctx context.Context, person string, p *plan) (int, error) {
	s := w.s
	if s.cfg.DryRun {
		s.m.dryRun.Inc()
		s.log.Info("dry-run: would write", slog.String("uuid", person), slog.String("ldap", p.String()))
		return 0, nil
	}
	s.failpoint("write")
	n := 0
	dn := p.DN
	if p.NewRDN != "" || p.NewSuperior != "" {
		if p.NewSuperior != "" && !s.cfg.writable(p.NewSuperior) {
			s.unresolved(ctx, person, "outside_write_ous", fmt.Sprintf("target OU %s is outside ad.write_ous", p.NewSuperior))
			return 0, nil
		}
		newDN, err := w.modifyDN(ctx, p)
		if err != nil {
			if retryable(err) {
				return n, err
			}
			if moved(err) {
				return n, fmt.Errorf("%w: %s: %w", errMoved, dn, err)
			}
			s.deadLetter(ctx, person, dn, fmt.Errorf("AD rejected %s: %w", p, err))
		} else {
			n++
			dn = newDN
		}
	}
	if len(p.Changes) == 0 {
		return n, nil
	}
	if err := w.modify(ctx, dn, p.Changes); err != nil {
		if retryable(err) {
			return n, err
		}
		if moved(err) {
			return n, fmt.Errorf("%w: %s: %w", errMoved, dn, err)
		}
		// One attribute may be the culprit: write them one at a time so
		// the rest still lands, and dead-letter what AD rejects.
		for _, c := range p.Changes {
			if err := w.modify(ctx, dn, []change{c}); err != nil {
				if retryable(err) {
					return n, err
				}
				s.deadLetter(ctx, person, dn, fmt.Errorf("AD rejected %s=%q on %s: %w", c.Attr, c.New, dn, err))
				continue
			}
			n++
		}
		return n, nil
	}
	return n + 1, nil
}

func (w *work) modify(ctx context.Context, dn string, cs []change) error {
	if err := w.s.limiter.wait(ctx); err != nil {
		return err
	}
	if err := w.dir.conn.Modify(modifyRequest(dn, cs)); err != nil {
		return err
	}
	w.s.m.writes.WithLabelValues("modify").Inc()
	for _, c := range cs {
		w.s.m.attrs.WithLabelValues(c.Attr).Inc()
	}
	return nil
}

// modifyDN renames and/or moves; a CN taken in the target OU gets " 2",
// " 3", … as OS2mo's integration does.
func (w *work) modifyDN(ctx context.Context, p *plan) (string, error) {
	attr, val, parent, err := splitDN(p.DN)
	if err != nil {
		return "", err
	}
	rdn := p.NewRDN
	if rdn == "" {
		rdn = attr + "=" + ldap.EscapeDN(val)
	}
	sup := p.NewSuperior
	if sup == "" {
		sup = parent
	}
	base := strings.TrimPrefix(rdn, "CN=")
	for i := 1; i <= 20; i++ {
		try := rdn
		if i > 1 {
			try = rdn + ldap.EscapeDN(fmt.Sprintf(" %d", i))
		}
		if err := w.s.limiter.wait(ctx); err != nil {
			return "", err
		}
		req := ldap.NewModifyDNRequest(p.DN, try, true, "")
		if p.NewSuperior != "" {
			req.NewSuperior = sup
		}
		err := w.dir.conn.ModifyDN(req)
		if err == nil {
			w.s.m.writes.WithLabelValues("modify_dn").Inc()
			return try + "," + sup, nil
		}
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free CN for %q in %s", base, sup)
}

// unresolved counts and reports (a dead letter, see deadLetter) a person whose account cannot be determined or written.
func (s *Sink) unresolved(ctx context.Context, person, reason, detail string) {
	s.m.unresolved.WithLabelValues(reason).Inc()
	s.m.reconciles.WithLabelValues("unresolved").Inc()
	s.deadLetter(ctx, person, "", fmt.Errorf("%s: %s", reason, detail))
}

// deadLetter writes a record to the dead-letter topic: the person, the
// account and the reason (AD's own message for a rejected write). The same
// reason for the same person is written once per process.
func (s *Sink) deadLetter(ctx context.Context, person, dn string, reason error) {
	// Once per person and reason per process: every resync would repeat it.
	key := person + "\x00" + reason.Error()
	s.mu.Lock()
	seen := s.lettered[key]
	s.lettered[key] = true
	s.mu.Unlock()
	if seen {
		return
	}
	payload, _ := json.Marshal(map[string]string{"person": person, "dn": dn})
	dl := event.DeadLetter{Version: event.Version, Reason: reason.Error(), Stage: StageAD, Payload: payload}
	b, _ := json.Marshal(dl)
	s.m.deadLetters.Inc()
	s.log.Error("AD sink: no write for this person", slog.String("uuid", person), slog.String("dn", dn), slog.Any("reason", reason))
	for attempt := 0; ; attempt++ {
		err := s.dl.ProduceSync(ctx, &kgo.Record{Topic: s.deps.Topics.DeadLetter(), Key: []byte(person), Value: b}).FirstErr()
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("write dead letter failed; retrying", slog.Any("err", err))
		if s.cfg.Retry.Wait(ctx, attempt) != nil {
			return
		}
	}
}
