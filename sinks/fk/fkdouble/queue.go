package fkdouble

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// schedule is OS2sync's SyncJob: every ApplyEvery it takes what is queued
// and applies the org units first, then the users, each in queue order. A
// write that FK Organisation would refuse (a malformed uuid or date) lands
// in the failure table; the API had already answered 200.
func (s *Server) schedule() {
	t := time.NewTicker(s.cfg.ApplyEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.applyQueued()
	}
}

// applyQueued applies everything queued now.
func (s *Server) applyQueued() {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	s.queue = nil
	s.applying = len(batch) > 0
	for _, kind := range []string{"orgUnit", "user"} {
		for _, o := range batch {
			if o.kind == kind {
				s.apply(o)
			}
		}
	}
	s.applying = false
	s.cond.Broadcast()
}

// apply applies one queued write; s.mu is held.
func (s *Server) apply(o op) {
	t := s.tenant(o.cvr)
	key := o.kind + "/" + o.uuid
	fail := func(err string) {
		s.stats.Failed++
		s.failures = append(s.failures, Failure{CVR: o.cvr, Kind: o.kind, Operation: o.operation, Uuid: o.uuid, Error: err})
	}
	if !guid.MatchString(o.uuid) {
		fail(fmt.Sprintf("%q is not a uuid", o.uuid))
		return
	}
	switch o.operation {
	case "DELETE", "PASSIVER":
		var found bool
		if o.kind == "orgUnit" {
			_, found = t.ous[o.uuid]
			delete(t.ous, o.uuid)
		} else {
			_, found = t.users[o.uuid]
			delete(t.users, o.uuid)
		}
		delete(t.lastSuccess, key)
		if !found {
			fail("no " + o.kind + " with uuid " + o.uuid + " in FK Organisation")
			return
		}
	case "UPDATE":
		if o.ou != nil {
			if err := checkOU(o.ou); err != "" {
				fail(err)
				return
			}
			ou := *o.ou
			if ou.Type == "" {
				ou.Type = "DEPARTMENT"
			}
			ou.Timestamp = time.Now().UTC().Truncate(time.Millisecond)
			t.ous[o.uuid] = ou
		} else {
			if err := checkUser(o.user); err != "" {
				fail(err)
				return
			}
			u := *o.user
			u.Timestamp = time.Now().UTC().Truncate(time.Millisecond)
			t.users[o.uuid] = u
		}
		t.lastSuccess[key] = o.hash
	}
	s.stats.Applied++
}

func checkOU(ou *OrgUnit) string {
	for name, p := range map[string]*string{"ParentOrgUnitUuid": ou.ParentOrgUnitUuid, "PayoutUnitUuid": ou.PayoutUnitUuid, "ManagerUuid": ou.ManagerUuid} {
		if p != nil && !guid.MatchString(*p) {
			return fmt.Sprintf("%s %q is not a uuid", name, *p)
		}
	}
	for name, l := range map[string][]string{"Tasks": ou.Tasks, "ItSystems": ou.ItSystems, "ContactForTasks": ou.ContactForTasks, "ContactPlaces": ou.ContactPlaces} {
		for _, u := range l {
			if !guid.MatchString(u) {
				return fmt.Sprintf("%s: %q is not a uuid", name, u)
			}
		}
	}
	return ""
}

func checkUser(u *User) string {
	for _, p := range u.Positions {
		if !guid.MatchString(*p.OrgUnitUuid) {
			return fmt.Sprintf("position OrgUnitUuid %q is not a uuid", *p.OrgUnitUuid)
		}
		for _, d := range []*string{p.StartDate, p.StopDate} {
			if d == nil {
				continue
			}
			if _, err := time.Parse("2006-01-02", *d); err != nil {
				return fmt.Sprintf("position date %q is not yyyy-MM-dd", *d)
			}
		}
	}
	return ""
}

// Drain waits until every write queued so far is applied (or ctx ends).
func (s *Server) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for len(s.queue) > 0 || s.applying {
			s.cond.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cond.Broadcast()
		return ctx.Err()
	}
}

// State returns a copy of FK Organisation's state for cvr as of now
// (queued writes not yet applied are not in it; Drain first).
func (s *Server) State(cvr string) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(cvr)
	st := State{OrgUnits: make(map[string]OrgUnit, len(t.ous)), Users: make(map[string]User, len(t.users))}
	for k, v := range t.ous {
		st.OrgUnits[k] = v
	}
	for k, v := range t.users {
		st.Users[k] = v
	}
	return st
}

// Put stores an object directly, as if FK Organisation had it from
// elsewhere (tests of fields only FK has, e.g. LOSShortName).
func (s *Server) Put(cvr string, ou *OrgUnit, u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(cvr)
	if ou != nil {
		t.ous[ou.Uuid] = *ou
	}
	if u != nil {
		t.users[u.Uuid] = *u
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stats
	c.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	return c
}

// Failures returns the writes the scheduler refused.
func (s *Server) Failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Failure(nil), s.failures...)
}

// serveState is GET /_double/state?cvr=C: the state after draining the
// queue (at most 10 s).
func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		http.Error(w, "queue did not drain: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	cvr := r.URL.Query().Get("cvr")
	if cvr == "" {
		cvr = s.cfg.DefaultCVR
	}
	writeJSON(w, s.State(cvr))
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Stats()) }

func (s *Server) serveFailures(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Failures()) }
