package fkdouble

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// APIKey, when set, must be sent in the apiKey header (else 401), as
	// OS2sync's ApiKey setting does.
	APIKey string
	// DefaultCVR, when set, overrides the CVR header (OS2sync's
	// DefaultMunicipality); when empty every request must send a CVR.
	DefaultCVR string
	// ApplyEvery is how often the scheduler applies queued writes.
	// Default 20ms (the real SyncJob runs every few seconds).
	ApplyEvery time.Duration
}

// Server is the contract double. Create it with New, serve it with
// Handler, stop its scheduler with Close. Safe for concurrent use.
type Server struct {
	cfg Config

	mu       sync.Mutex
	cond     *sync.Cond
	tenants  map[string]*tenant
	queue    []op
	applying bool
	stats    Stats
	failures []Failure
	jobs     map[string]int // hierarchy job id → polls so far
	stop     chan struct{}
	stopOnce sync.Once
	mux      *http.ServeMux
}

type tenant struct {
	ous   map[string]OrgUnit
	users map[string]User
	// lastSuccess is the hash of the last applied update per "kind/uuid":
	// the server's cache, consulted by updates without bypassCache.
	lastSuccess map[string]string
}

type op struct {
	cvr, kind, operation, uuid, hash string
	ou                               *OrgUnit
	user                             *User
}

// New returns a running double with no data.
func New(cfg Config) *Server {
	if cfg.ApplyEvery <= 0 {
		cfg.ApplyEvery = 20 * time.Millisecond
	}
	s := &Server{cfg: cfg, tenants: map[string]*tenant{}, jobs: map[string]int{}, stop: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	s.stats.Requests = map[string]int{}
	m := http.NewServeMux()
	m.HandleFunc("POST /api/orgUnit", s.postOrgUnit)
	m.HandleFunc("POST /api/orgUnit/{$}", s.postOrgUnit)
	m.HandleFunc("GET /api/orgUnit/all", s.listOrgUnits)
	m.HandleFunc("GET /api/orgUnit/{uuid}", s.get("orgUnit"))
	m.HandleFunc("DELETE /api/orgUnit/{uuid}", s.enqueueByUUID("orgUnit", "DELETE"))
	m.HandleFunc("POST /api/orgUnit/passiver/{uuid}", s.enqueueByUUID("orgUnit", "PASSIVER"))
	m.HandleFunc("POST /api/user", s.postUser)
	m.HandleFunc("POST /api/user/{$}", s.postUser)
	m.HandleFunc("GET /api/user/{uuid}", s.get("user"))
	m.HandleFunc("DELETE /api/user/{uuid}", s.enqueueByUUID("user", "DELETE"))
	m.HandleFunc("POST /api/user/passiver/{uuid}", s.enqueueByUUID("user", "PASSIVER"))
	m.HandleFunc("GET /api/hierarchy", s.startHierarchy)
	m.HandleFunc("GET /api/hierarchy/{id}", s.pollHierarchy)
	// The double's own routes, for tests and operators; not OS2sync's.
	m.HandleFunc("GET /_double/state", s.serveState)
	m.HandleFunc("GET /_double/stats", s.serveStats)
	m.HandleFunc("GET /_double/failures", s.serveFailures)
	s.mux = m
	go s.schedule()
	return s
}

// Handler serves the OS2sync API and the double's /_double/ routes.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		s.mux.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/_double/") {
			return
		}
		route := r.Pattern
		if route == "" {
			route = r.Method + " (unknown route)"
		}
		s.mu.Lock()
		s.stats.Requests[route]++
		if rec.status >= 400 && r.Method != http.MethodGet {
			s.stats.Rejected++
		}
		s.mu.Unlock()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Close stops the scheduler; queued writes stay unapplied.
func (s *Server) Close() { s.stopOnce.Do(func() { close(s.stop) }) }

// authorize applies OS2sync's BaseController.AuthorizeAndFetchCvr: the API
// key first (401), then the CVR (the configured default wins; none at all
// is an unhandled exception, so 500).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.cfg.APIKey != "" && r.Header.Get("apiKey") != s.cfg.APIKey {
		http.Error(w, "", http.StatusUnauthorized)
		return "", false
	}
	cvr := r.Header.Get("CVR")
	if s.cfg.DefaultCVR != "" {
		cvr = s.cfg.DefaultCVR
	}
	if cvr == "" {
		http.Error(w, "No CVR supplied or configured!", http.StatusInternalServerError)
		return "", false
	}
	return cvr, true
}

func (s *Server) tenant(cvr string) *tenant {
	t := s.tenants[cvr]
	if t == nil {
		t = &tenant{ous: map[string]OrgUnit{}, users: map[string]User{}, lastSuccess: map[string]string{}}
		s.tenants[cvr] = t
	}
	return t
}

// decodeStrict reads a JSON body into v, rejecting fields the DTO does not
// have. OS2sync itself (Newtonsoft defaults) ignores them; the double is
// stricter on purpose: a field the server silently drops is data lost, so
// a client that sends one has a bug. Names match case-insensitively, as
// Newtonsoft matches them.
func decodeStrict(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

func empty(p *string) bool { return p == nil || *p == "" }

// validateOU is OrgUnitController.ValidateOU.
func validateOU(ou *OrgUnit) string {
	switch {
	case empty(ou.Name):
		return "name is null"
	case ou.Uuid == "":
		return "uuid is null"
	}
	return ""
}

// validateUser is UserController.ValidateUser.
func validateUser(u *User) string {
	switch {
	case u.Person == nil:
		return "" // a NullReferenceException in the real server: see postUser
	case empty(u.Person.Name):
		return "Person.Name is null or empty"
	case empty(u.UserId):
		return "UserId is null or empty"
	case u.Uuid == "":
		return "Uuid is null empty"
	case len(u.Positions) == 0:
		return "Positions is null or empty"
	}
	for _, p := range u.Positions {
		if empty(p.Name) || empty(p.OrgUnitUuid) {
			return "Position Name or OrgUnitUUID is null"
		}
	}
	return ""
}

func (s *Server) postOrgUnit(w http.ResponseWriter, r *http.Request) {
	cvr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	var ou OrgUnit
	if err := decodeStrict(r, &ou); err != nil {
		http.Error(w, "invalid OrgUnitRegistration: "+err.Error(), http.StatusBadRequest)
		return
	}
	if msg := validateOU(&ou); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	s.enqueueUpdate(cvr, "orgUnit", ou.Uuid, r.URL.Query().Get("bypassCache") == "true", &ou, nil)
	writeJSON(w, ou)
}

func (s *Server) postUser(w http.ResponseWriter, r *http.Request) {
	cvr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	var u User
	if err := decodeStrict(r, &u); err != nil {
		http.Error(w, "invalid UserRegistration: "+err.Error(), http.StatusBadRequest)
		return
	}
	if u.Person == nil {
		http.Error(w, "Object reference not set to an instance of an object (Person is null)", http.StatusInternalServerError)
		return
	}
	if msg := validateUser(&u); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	s.enqueueUpdate(cvr, "user", u.Uuid, r.URL.Query().Get("bypassCache") == "true", nil, &u)
	writeJSON(w, u)
}

// enqueueUpdate queues an upsert unless it equals the object's last
// success and bypassCache is off (the server's cache).
func (s *Server) enqueueUpdate(cvr, kind, uuid string, bypass bool, ou *OrgUnit, u *User) {
	var b []byte
	if ou != nil {
		c := *ou
		c.Timestamp, c.Type = time.Time{}, ""
		b, _ = json.Marshal(c)
	} else {
		c := *u
		c.Timestamp = time.Time{}
		b, _ = json.Marshal(c)
	}
	sum := sha256.Sum256(b)
	hash := fmt.Sprintf("%x", sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if !bypass && s.tenant(cvr).lastSuccess[kind+"/"+uuid] == hash {
		s.stats.SkippedByCache++
		return
	}
	s.queue = append(s.queue, op{cvr: cvr, kind: kind, operation: "UPDATE", uuid: uuid, hash: hash, ou: ou, user: u})
	s.stats.Queued++
}

func (s *Server) enqueueByUUID(kind, operation string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cvr, ok := s.authorize(w, r)
		if !ok {
			return
		}
		uuid := r.PathValue("uuid")
		s.mu.Lock()
		s.queue = append(s.queue, op{cvr: cvr, kind: kind, operation: operation, uuid: uuid})
		s.stats.Queued++
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) get(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cvr, ok := s.authorize(w, r)
		if !ok {
			return
		}
		uuid := r.PathValue("uuid")
		s.mu.Lock()
		t := s.tenant(cvr)
		var v any
		if kind == "orgUnit" {
			if ou, ok := t.ous[uuid]; ok {
				v = ou
			}
		} else if u, ok := t.users[uuid]; ok {
			v = u
		}
		s.mu.Unlock()
		if v == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, v)
	}
}

func (s *Server) listOrgUnits(w http.ResponseWriter, r *http.Request) {
	cvr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	out := make([]string, 0, len(s.tenant(cvr).ous))
	for u := range s.tenant(cvr).ous {
		out = append(out, u)
	}
	s.mu.Unlock()
	sort.Strings(out)
	writeJSON(w, out)
}

// startHierarchy and pollHierarchy are the asynchronous hierarchy read:
// a job id, then 404 until the job is done (the first poll), then the
// result.
func (s *Server) startHierarchy(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r); !ok {
		return
	}
	id := newUUID()
	s.mu.Lock()
	s.jobs[id] = 0
	s.mu.Unlock()
	_, _ = io.WriteString(w, id)
}

func (s *Server) pollHierarchy(w http.ResponseWriter, r *http.Request) {
	cvr, ok := s.authorize(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	polls, known := s.jobs[id]
	s.jobs[id] = polls + 1
	if !known || polls == 0 {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	t := s.tenant(cvr)
	type ref struct {
		Uuid string `json:"Uuid"`
	}
	res := struct {
		OUs   []ref `json:"OUs"`
		Users []ref `json:"Users"`
	}{OUs: []ref{}, Users: []ref{}}
	for u := range t.ous {
		res.OUs = append(res.OUs, ref{u})
	}
	for u := range t.users {
		res.Users = append(res.Users, ref{u})
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"Result": res})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
