package ad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
	"github.com/os2mo-cdc/mocdc/sinks/outbox"
	"github.com/os2mo-cdc/mocdc/sinks/view"
)

// Creates go through sinks/outbox (DESIGN §6a):
//
//	worker: person has no account ─► create request ─► <prefix>.ad.creates (1 partition)
//	outbox (one instance: the owner of mo.person partition 0):
//	   Handle: intend "create/<person>/<n>" with a DN and sAMAccountName no other
//	           person's intent claimed — intents, claims and the consumed request
//	           offsets in ONE transaction
//	   Perform: look for the intent's account in AD, else LDAP add; read its objectGUID
//	   done record + Link "created" (objectGUID) on <prefix>.ad.accounts, in ONE transaction
//
// A person gets at most one create intent that is not dead (Handle looks at
// every earlier one), so requests repeated by any number of reconciles or
// instances make one intent. Each intent claims its DN and sAMAccountName
// in the outbox state, so no two persons' intents share either — two
// persons of one name requested at once get different names. An object in
// AD with the intent's DN and sAMAccountName is therefore the intent's
// own: when AD refuses the add because the DN or sAMAccountName exists,
// Perform looks for it and records it done. A crash anywhere (before or
// after the add, before the done record) never makes a second account,
// and there is no window to count (the performer opens none).
// CreatesTopic carries create requests to the outbox: <prefix>.ad.creates.
func CreatesTopic(t event.Topics) string { return prefix(t) + ".ad.creates" }

// OutboxTopic is the create outbox's state topic: <prefix>.ad.outbox.
func OutboxTopic(t event.Topics) string { return prefix(t) + ".ad.outbox" }

// maxCreateAttempts bounds the create intents of one person that may end
// dead (the DN or sAMAccountName was taken meanwhile, AD rejected it).
const maxCreateAttempts = 3

// createRequest is a record of the creates topic: a reconcile found the
// person without an account and chose where and how to make it.
type createRequest struct {
	Version int    `json:"version"`
	Person  string `json:"person"`
	ITUser  string `json:"ituser,omitempty"`
	// DNs and SAMs are the proposals (free when the request was made, in
	// order of preference); DN and SAM the names Handle chose (the intent).
	DNs  []string `json:"dns,omitempty"`
	SAMs []string `json:"sam_account_names,omitempty"`
	DN   string   `json:"dn,omitempty"`
	SAM  string   `json:"sam_account_name,omitempty"`
	// Attrs are the rendered attributes the account is added with (cn is
	// in the DN).
	Attrs   map[string][]string `json:"attributes,omitempty"`
	Enabled bool                `json:"enabled"`
	// Causes are the MO records whose reconcile found the account missing
	// (none for a resync).
	Causes []outbox.Source `json:"causes,omitempty"`
	Time   time.Time       `json:"time"`
}

// createResult is what Perform keeps with the done record.
type createResult struct {
	GUID  string `json:"object_guid"`
	DN    string `json:"dn"`
	SAM   string `json:"sam_account_name"`
	Found bool   `json:"found,omitempty"` // the account was there already (an earlier attempt)
}

// createHandler turns requests into intents (outbox.Handler, Committer).
type createHandler struct{ s *Sink }

func createKey(person string, n int) string { return "create/" + person + "/" + strconv.Itoa(n) }

func (h *createHandler) Handle(_ context.Context, tx *outbox.Tx, recs []*kgo.Record) error {
	for _, r := range recs {
		var req createRequest
		if err := json.Unmarshal(r.Value, &req); err != nil || req.Person == "" || len(req.DNs) == 0 || len(req.SAMs) == 0 {
			tx.DeadLetter(r, StageAD, fmt.Sprintf("undecodable AD create request (want JSON with person, dns, sam_account_names): %v", err))
			continue
		}
		key := ""
		for n := 0; n < maxCreateAttempts; n++ {
			k := createKey(req.Person, n)
			e, ok := tx.Effect(k)
			if !ok {
				key = k
				break
			}
			if e.Status != outbox.Dead {
				break // intended, being made or made: never a second
			}
		}
		if key == "" {
			continue
		}
		req.DN, req.SAM = claim(tx, "dn/", req.Person, req.DNs), claim(tx, "sam/", req.Person, req.SAMs)
		if req.DN == "" || req.SAM == "" {
			tx.DeadLetter(r, StageAD, "every DN or sAMAccountName this create proposes is claimed by another person's create; the next reconcile of the person proposes others")
			continue
		}
		tx.Put("dn/"+strings.ToLower(req.DN), []byte(req.Person))
		tx.Put("sam/"+strings.ToLower(req.SAM), []byte(req.Person))
		b, err := json.Marshal(&req)
		if err != nil {
			return err
		}
		tx.Intend(key, b, append(req.Causes, outbox.SourceOf(r))...)
	}
	return nil
}

// claim returns the first name no other person's intent claimed.
func claim(tx *outbox.Tx, kind, person string, names []string) string {
	for _, n := range names {
		if owner, ok := tx.Get(kind + strings.ToLower(n)); !ok || string(owner) == person {
			return n
		}
	}
	return ""
}

func (h *createHandler) Committed([]*kgo.Record) { h.s.failpoint("intent") }
func (h *createHandler) Aborted([]*kgo.Record)   {}

// creator performs create intents on a connection of its own
// (outbox.Performer, Publisher).
type creator struct {
	s   *Sink
	mu  sync.Mutex
	dir *directory
}

func (c *creator) connect(ctx context.Context) (*directory, error) {
	if c.dir != nil && !c.dir.conn.IsClosing() {
		return c.dir, nil
	}
	conn, err := dial(ctx, &c.s.cfg, c.s.tls)
	if err != nil {
		return nil, err
	}
	c.dir = &directory{cfg: &c.s.cfg, conn: conn, absent: c.s.absent}
	c.dir.readAttrs(nil)
	return c.dir, nil
}

func (c *creator) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != nil {
		c.dir.conn.Close()
		c.dir = nil
	}
}

// Perform makes the account of one intent, or finds it made.
func (c *creator) Perform(ctx context.Context, e outbox.Effect) ([]byte, error) {
	return c.PerformWindow(ctx, e, func() error { return nil })
}

// PerformWindow is Perform without the outbox's performing record: a
// repeated add finds the account made (AD refuses a second with its DN),
// so a crash leaves nothing to recover (outbox.WindowPerformer; open is
// never called).
func (c *creator) PerformWindow(ctx context.Context, e outbox.Effect, _ func() error) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	if s.cfg.Maintenance.Contains(s.now()) {
		return nil, outbox.Later(30*time.Second, errors.New("maintenance window: no writes until it ends"))
	}
	s.failpoint("perform")
	var req createRequest
	if err := json.Unmarshal(e.Payload, &req); err != nil {
		return nil, outbox.Permanent(fmt.Errorf("create intent %s: %w", e.Key, err))
	}
	if !s.cfg.writable(req.DN) {
		return nil, outbox.Permanent(fmt.Errorf("create of %s: outside ad.write_ous", req.DN))
	}
	dir, err := c.connect(ctx)
	if err != nil {
		if errors.Is(err, errBind) {
			return nil, err // retried; the workers stop the sink with the reason
		}
		return nil, err
	}
	add := ldap.NewAddRequest(req.DN, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{req.SAM})
	uac := uacNormalDisabled
	if req.Enabled {
		uac = uacNormal
	}
	add.Attribute("userAccountControl", []string{strconv.Itoa(uac)})
	add.Attribute("unicodePwd", []string{unicodePwd(randomPassword())})
	for attr, vals := range req.Attrs {
		if strings.EqualFold(attr, "cn") || len(vals) == 0 {
			continue
		}
		add.Attribute(attr, vals)
	}
	if err := s.limiter.wait(ctx); err != nil {
		return nil, err
	}
	if err := dir.conn.Add(add); err != nil {
		if retryable(err) {
			c.dir.conn.Close()
			return nil, err
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) || ldap.IsErrorWithCode(err, ldap.LDAPResultConstraintViolation) {
			// An earlier attempt (before a crash, or whose answer was
			// lost), or another performer of this very intent (an
			// instance paused past its session), made it.
			if a, ferr := c.made(dir, &req); ferr != nil || a != nil {
				return c.result(a, true, ferr)
			}
		}
		return nil, outbox.Permanent(fmt.Errorf("AD rejected the create of %s (sAMAccountName %s): %w", req.DN, req.SAM, err))
	}
	s.m.writes.WithLabelValues("create").Inc()
	a, err := dir.byDN(req.DN)
	if err == nil && a == nil {
		err = fmt.Errorf("the new account %s is not there", req.DN)
	}
	if err != nil {
		return nil, fmt.Errorf("read back the new account %s: %w", req.DN, err) // the retry finds it (made)
	}
	s.log.Info("account created", slog.String("uuid", req.Person), slog.String("dn", a.DN), slog.String("object_guid", a.GUID), slog.Bool("enabled", req.Enabled))
	s.failpoint("added")
	return c.result(a, false, nil)
}

// made looks for the intent's account after AD refused the add: an
// object at its DN with its sAMAccountName is it (no other intent claims
// either). An object at the DN with another sAMAccountName, or the
// sAMAccountName taken at another DN, is someone else's (made outside the
// sink since the request): a permanent error, and the next request gets a
// new intent with other names.
func (c *creator) made(dir *directory, req *createRequest) (*account, error) {
	a, err := dir.byDN(req.DN)
	if err != nil {
		return nil, err
	}
	if a != nil {
		if strings.EqualFold(a.SAM, req.SAM) {
			return a, nil
		}
		return nil, outbox.Permanent(fmt.Errorf("create of %s: the DN was taken meanwhile (by sAMAccountName %s)", req.DN, a.SAM))
	}
	as, err := dir.search(c.s.cfg.BaseDN, ldap.ScopeWholeSubtree, fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(req.SAM)))
	if err != nil {
		return nil, err
	}
	if len(as) > 0 {
		return nil, outbox.Permanent(fmt.Errorf("create of %s: sAMAccountName %s was taken meanwhile (%s)", req.DN, req.SAM, as[0].DN))
	}
	return nil, nil
}

func (c *creator) result(a *account, found bool, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if found {
		c.s.log.Info("create intent found made in AD (an earlier attempt added it); recording it", slog.String("dn", a.DN), slog.String("object_guid", a.GUID))
	}
	return json.Marshal(createResult{GUID: a.GUID, DN: a.DN, SAM: a.SAM, Found: found})
}

// Publish writes the new account's link on the accounts topic with the
// done record: from then on every instance finds the account by its
// objectGUID, and MO can learn it. A dead intent publishes a "failed" link
// with the reason.
func (c *creator) Publish(e outbox.Effect, result []byte) []*kgo.Record {
	var req createRequest
	_ = json.Unmarshal(e.Payload, &req)
	k := Link{Version: 1, Person: req.Person, ITUser: req.ITUser, DN: req.DN, SAM: req.SAM, Cause: e.Key, Time: c.s.now()}
	if e.Status == outbox.Done {
		var r createResult
		_ = json.Unmarshal(result, &r)
		k.State, k.GUID, k.DN, k.SAM = Created, r.GUID, r.DN, r.SAM
	} else {
		k.State, k.Reason = Failed, e.Reason
	}
	b, _ := json.Marshal(k)
	return []*kgo.Record{{Topic: AccountsTopic(c.s.deps.Topics), Partition: 0, Key: []byte(k.Person), Value: b}}
}

// newCreates builds the create outbox.
func (s *Sink) newCreates() (*outbox.Outbox, error) {
	group := s.cfg.Group + ".creates"
	opts := append(append([]kgo.Opt(nil), s.deps.KafkaOpts...), kgo.SessionTimeout(s.cfg.SessionTimeout))
	s.creator = &creator{s: s}
	return outbox.New(outbox.Config{Topic: OutboxTopic(s.deps.Topics), Group: group, TransactionalID: group,
		ReplicationFactor: s.deps.ReplicationFactor, RetryMin: s.cfg.Retry.Min, RetryMax: s.cfg.Retry.Max},
		&createHandler{s: s}, s.creator, outbox.Deps{Name: "ad", Topics: []string{CreatesTopic(s.deps.Topics)},
			DeadLetterTopic: s.deps.Topics.DeadLetter(), KafkaOpts: opts, Logger: s.log, Registry: s.deps.Registry, Now: s.now})
}

// runCreates runs the create outbox while this instance owns partition 0
// of mo.person: one instance at a time performs creates. When the
// partition moves, the new owner's outbox fences this one's (one
// transactional id) and reads every intent it committed.
func (s *Sink) runCreates(ctx context.Context) {
	if s.creates == nil {
		return
	}
	defer s.creator.close()
	topic := s.deps.Topics.Object(mo.Person)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for !s.shard.Owns(topic, 0) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		octx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		s.createsOn.Store(true)
		go func() { done <- s.creates.Run(octx) }()
		var err error
	watch:
		for {
			select {
			case err = <-done:
				break watch
			case <-tick.C:
				if !s.shard.Owns(topic, 0) {
					cancel()
					err = <-done
					break watch
				}
			}
		}
		cancel()
		s.createsOn.Store(false)
		s.creator.close()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("the create outbox stopped (another instance took it over?); it starts again while this instance owns the person partition 0", slog.Any("err", err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// request sends a create request; until the person's link arrives (or
// requestTimeout passes) the person is not requested again.
func (s *Sink) request(ctx context.Context, req *createRequest) error {
	s.mu.Lock()
	_, asked := s.requested[req.Person]
	s.mu.Unlock()
	if asked {
		return nil // until its link comes, or the request times out (sweepRequests)
	}
	req.Version, req.Time = 1, s.now()
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := s.dl.ProduceSync(ctx, &kgo.Record{Topic: CreatesTopic(s.deps.Topics), Partition: 0, Key: []byte(req.Person), Value: b}).FirstErr(); err != nil {
		s.mu.Lock()
		s.release(req.Person)
		s.mu.Unlock()
		return fmt.Errorf("send the create request of %s to %s: %w", req.Person, CreatesTopic(s.deps.Topics), err)
	}
	s.mu.Lock()
	s.requested[req.Person] = time.Now()
	s.mu.Unlock()
	s.log.Info("account missing: create requested", slog.String("uuid", req.Person), slog.String("dn", req.DN), slog.String("sam_account_name", req.SAM))
	s.failpoint("request")
	return nil
}

// linked is the accounts topic's callback: a created (or failed) link
// ends the wait for a request, and the person — and whom the person
// manages — is reconciled against the new account.
func (s *Sink) linked(k *Link) {
	if k.State != Created && k.State != Failed {
		return
	}
	s.mu.Lock()
	delete(s.requested, k.Person)
	s.release(k.Person)
	s.mu.Unlock()
	if s.started.Load() { // (links read before the start resync are covered by it)
		if k.State == Created {
			s.failpoint("done")
		}
		// Created: reconciled against the new account; failed: a new
		// request with fresh names.
		s.touched(view.Touch{Owners: view.Owners{Persons: []string{k.Person}}, Type: mo.ITUser})
	}
}

// requestTimeout is how long a create request waits for its link before
// the person is reconciled (and so requested) again: the outbox drops a
// request whose proposed names namesakes claimed, and a person whose
// intent exists already gets no new link.
const requestTimeout = 30 * time.Second

// sweepRequests queues the persons whose create requests timed out.
func (s *Sink) sweepRequests() {
	var again []string
	s.mu.Lock()
	for p, at := range s.requested {
		if time.Since(at) >= requestTimeout {
			delete(s.requested, p)
			s.release(p)
			again = append(again, p)
		}
	}
	s.mu.Unlock()
	s.enqueue(again, time.Time{}, outbox.Source{}, true)
}

// creating reports whether creates are in flight: requested and not linked
// yet, or intents pending in this instance's outbox.
func (s *Sink) creating() bool {
	s.mu.Lock()
	n := len(s.requested)
	s.mu.Unlock()
	if n > 0 {
		return true
	}
	return s.creates != nil && s.createsOn.Load() && s.creates.Stats().Pending > 0
}

// failpoint is where a test kills the process (a crash at that point).
func (s *Sink) failpoint(name string) {
	if s.crash != nil {
		s.crash(name)
	}
}
