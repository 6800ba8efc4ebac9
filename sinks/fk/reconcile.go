package fk

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/os2mo-cdc/mocdc/schema/event"
	"github.com/os2mo-cdc/mocdc/schema/mo"
)

// write is one request the diff decided on.
type write struct {
	kind, key, fkUUID, owner string
	del                      bool
	body                     []byte // the MO-rendered payload; its digest is recorded
	digest                   string
	ou                       *OrgUnit
	depth                    int
}

// reconcile renders every owner d names, compares each FK object with the
// digest of what was last sent, and sends only the differences: unit
// upserts parents first, then users, then unit deletes children first.
// Accepted writes are recorded in s.st (committed by the caller); a 4xx
// is dead-lettered with the server's message. Any other error ends the
// reconcile (the caller retries the owners).
func (s *Sink) reconcile(ctx context.Context, d *dirtySet, resync bool) (int, error) {
	now := s.deps.Now()
	p := newPass(&s.cfg, s.v, now)
	units, persons := s.expand(p, d)
	var unitUps, userWrites, unitDels []write
	for _, u := range units {
		ups, dels := s.diffOwner(p, kindUnit, u, resync)
		unitUps, unitDels = append(unitUps, ups...), append(unitDels, dels...)
	}
	for _, pe := range persons {
		ups, dels := s.diffOwner(p, kindUser, pe, resync)
		userWrites = append(append(userWrites, ups...), dels...)
	}
	s.m.owners.Add(float64(len(units) + len(persons)))
	for reason, n := range p.skipped {
		s.m.skipped.WithLabelValues(reason).Add(float64(n))
	}
	sort.SliceStable(unitUps, func(i, j int) bool { return unitUps[i].depth < unitUps[j].depth })
	sort.SliceStable(unitDels, func(i, j int) bool { return unitDels[i].depth > unitDels[j].depth })
	if n := len(unitUps) + len(userWrites) + len(unitDels); n > 0 || d.all {
		s.log.Debug("fk reconcile", slog.Int("units", len(units)), slog.Int("persons", len(persons)), slog.Int("writes", n))
	}
	if err := s.intend(ctx, unitUps, userWrites, unitDels); err != nil {
		return 0, err
	}
	for _, stage := range [][]write{unitUps, userWrites, unitDels} {
		if err := s.send(ctx, stage, d.commits); err != nil {
			return 0, err
		}
	}
	return len(unitUps) + len(userWrites) + len(unitDels), nil
}

// intend records, before anything is sent, that each object about to be
// written may change in FK: its entry's digest is cleared (kept with its
// owner) and committed. After a crash between a send and the commit of
// its digest, the next reconcile then sees the object as unknown —
// upserted again if still wanted (an A→B→A change is not lost), deleted
// again if not (a new object never stays in FK unknown to the sink).
func (s *Sink) intend(ctx context.Context, stages ...[]write) error {
	if s.cfg.DryRun {
		return nil
	}
	n := 0
	for _, ws := range stages {
		for _, w := range ws {
			if e, ok := s.st.entries[w.key]; ok && e.Digest == "" {
				continue // already recorded as uncertain
			}
			s.st.sent(w.key, entry{Owner: w.owner})
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return s.commit(ctx)
}

// expand turns the dirty set into the units and persons to render.
func (s *Sink) expand(p *pass, d *dirtySet) (units, persons []string) {
	us, ps := map[string]bool{}, map[string]bool{}
	if d.all {
		for _, o := range s.v.All(mo.OrgUnit) {
			us[o.UUID] = true
		}
		for _, o := range s.v.All(mo.Person) {
			ps[o.UUID] = true
		}
		for owner, keys := range s.st.owners { // owners gone from MO: their FK objects are deleted
			for k := range keys {
				if kind, _ := splitKey(k); kind == kindUnit {
					us[owner] = true
				} else {
					ps[owner] = true
				}
			}
		}
	}
	for u := range d.units {
		us[u] = true
	}
	for u := range d.wide {
		us[u] = true
		for _, o := range s.v.Subtree(u, p.now) {
			us[o.UUID] = true
			for _, e := range s.v.Referrers(o.UUID, mo.Engagement, "org_unit", nil) {
				for i := range e.Versions {
					if pe := e.Versions[i].Str("person"); pe != "" {
						ps[pe] = true
					}
				}
			}
		}
	}
	for pe := range d.persons {
		ps[pe] = true
	}
	for pe := range d.managers {
		for _, m := range s.v.Referrers(pe, mo.Manager, "person", nil) {
			for i := range m.Versions {
				if u := m.Versions[i].Str("org_unit"); u != "" {
					us[u] = true
				}
			}
		}
	}
	return sortedKeys(us), sortedKeys(ps)
}

// diffOwner renders one owner and returns the upserts and deletes its FK
// objects need.
func (s *Sink) diffOwner(p *pass, kind, owner string, resync bool) (ups, dels []write) {
	want := map[string]write{}
	if kind == kindUnit {
		if ou := p.renderUnit(owner); ou != nil {
			body := mustJSON(ou)
			want[stateKey(kind, ou.Uuid)] = write{kind: kind, fkUUID: ou.Uuid, owner: owner, body: body, digest: digest(body), ou: ou, depth: p.depth(owner)}
		}
	} else {
		for _, u := range p.renderPerson(owner) {
			body := mustJSON(u)
			want[stateKey(kind, u.Uuid)] = write{kind: kind, fkUUID: u.Uuid, owner: owner, body: body, digest: digest(body)}
		}
	}
	// Release this owner's claims, then claim what it wants now unless
	// another owner's latest render has it (a duplicate FK uuid in MO).
	for k, o := range s.claims {
		if o == owner {
			if _, still := want[k]; !still {
				delete(s.claims, k)
			}
		}
	}
	for _, k := range sortedKeys(want) {
		w := want[k]
		w.key = k
		if other, ok := s.claims[k]; ok && other != owner {
			s.m.skipped.WithLabelValues("duplicate_fk_uuid").Inc()
			if c := k + " " + owner; !s.reported[c] { // once per process, not at every render
				s.reported[c] = true
				s.log.Error("two MO objects map to one FK uuid (fix it in MO: two accounts with one objectGUID, or one FK IT user for two); the second is not sent until the first lets go of it",
					slog.String("fk_uuid", w.fkUUID), slog.String("kind", kind), slog.String("uuid", owner), slog.String("holder", other))
			}
			delete(want, k)
			continue
		}
		s.claims[k] = owner
		if e, ok := s.st.entries[k]; ok && e.Digest == w.digest && !resync {
			s.m.unchanged.Inc()
			continue
		}
		ups = append(ups, w)
	}
	for k := range s.st.owners[owner] {
		kd, uuid := splitKey(k)
		if _, keep := want[k]; keep || kd != kind {
			continue
		}
		if kind == kindUnit && (owner == s.cfg.TopUnit || uuid == s.cfg.TopUnit) {
			continue // the top unit is never deleted
		}
		w := write{kind: kind, key: k, fkUUID: uuid, owner: owner, del: true}
		if kind == kindUnit {
			w.depth = p.depth(owner)
		}
		dels = append(dels, w)
	}
	sort.Slice(dels, func(i, j int) bool { return dels[i].key < dels[j].key })
	return ups, dels
}

// send performs one stage's writes concurrently (Concurrency at a time).
func (s *Sink) send(ctx context.Context, ws []write, commits map[string]time.Time) error {
	if len(ws) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.OS2sync.Concurrency)
	for _, w := range ws {
		if s.cfg.DryRun {
			s.log.Info("dry run: would send", slog.String("op", op(w)), slog.String("what", describe(w.kind, w.fkUUID, w.owner)), slog.String("body", string(w.body)))
			continue
		}
		g.Go(func() error {
			err := s.sendOne(gctx, w)
			if r, rejected := isRejected(err); rejected {
				s.reject(w, r)
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", op(w), describe(w.kind, w.fkUUID, w.owner), err)
			}
			s.stateMu.Lock()
			if w.del {
				s.st.deleted(w.key)
				s.m.writes.WithLabelValues(w.kind, "delete").Inc()
			} else {
				s.st.sent(w.key, entry{Owner: w.owner, Digest: w.digest})
				s.m.writes.WithLabelValues(w.kind, "upsert").Inc()
			}
			if c, ok := commits[w.owner]; ok {
				s.m.commitToFK.Observe(time.Since(c).Seconds())
			}
			s.stateMu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

func op(w write) string {
	if w.del {
		return "delete"
	}
	return "upsert"
}

// sendOne sends one write. A unit upsert first reads the unit from FK and
// keeps what only FK has (LOSShortName always; Tasks, ShortKey,
// PayoutUnitUuid, ContactPlaces, ContactOpenHours and SOR when MO has no
// value), as os2mo-os2sync-export does.
func (s *Sink) sendOne(ctx context.Context, w write) error {
	switch {
	case w.del:
		return s.cl.Delete(ctx, w.kind, w.fkUUID)
	case w.kind == kindUser:
		return s.cl.UpsertUser(ctx, w.body)
	}
	cur, found, err := s.cl.GetOrgUnit(ctx, w.fkUUID)
	if err != nil {
		return err
	}
	ou := *w.ou
	if found {
		ou.LOSShortName = cur.LOSShortName
		if len(ou.Tasks) == 0 && len(cur.Tasks) > 0 {
			ou.Tasks = cur.Tasks
		}
		if len(ou.ContactPlaces) == 0 && len(cur.ContactPlaces) > 0 {
			ou.ContactPlaces = cur.ContactPlaces
		}
		for _, f := range []struct{ mine, theirs **string }{
			{&ou.ShortKey, &cur.ShortKey}, {&ou.PayoutUnitUuid, &cur.PayoutUnitUuid},
			{&ou.ContactOpenHours, &cur.ContactOpenHours}, {&ou.SOR, &cur.SOR},
		} {
			if *f.mine == nil {
				*f.mine = *f.theirs
			}
		}
		ou.normalise()
	}
	return s.cl.UpsertOrgUnit(ctx, mustJSON(&ou))
}

// reject records a write OS2sync refused: a dead letter with the server's
// message and the body, and the digest marked rejected so that the same
// payload is not sent again.
func (s *Sink) reject(w write, r *RejectedError) {
	dl := event.DeadLetter{Version: event.Version, Stage: "fk",
		Reason: fmt.Sprintf("%s: %s", describe(w.kind, w.fkUUID, w.owner), r.Error())}
	if w.body != nil {
		dl.Payload = json.RawMessage(w.body)
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.st.deadLetter(w.key, mustJSON(dl))
	if w.del {
		s.st.deleted(w.key)
	} else {
		s.st.sent(w.key, entry{Owner: w.owner, Digest: w.digest, Rejected: true})
	}
	s.m.rejected.Inc()
	s.log.Error("OS2sync rejected a write; it is in the dead-letter topic",
		slog.String("what", describe(w.kind, w.fkUUID, w.owner)), slog.Int("status", r.Status), slog.String("reason", r.Body))
}
