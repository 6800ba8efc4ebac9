package fkdouble

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	unitA = "11111111-1111-4111-8111-111111111111"
	unitB = "22222222-2222-4222-8222-222222222222"
	userA = "33333333-3333-4333-8333-333333333333"
)

type call struct {
	method, path, body string
	headers            map[string]string
}

func do(t *testing.T, srv *httptest.Server, c call) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
	req.Header.Set("CVR", "12345678")
	req.Header.Set("apiKey", "secret")
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestDoubleAnswersAsOS2sync: every answer the contract promises — status
// and, for validation errors, OS2sync's own message.
func TestDoubleAnswersAsOS2sync(t *testing.T) {
	s := New(Config{APIKey: "secret", ApplyEvery: time.Hour}) // nothing is applied during this test
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	user := func(extra string) string {
		return `{"Uuid":"` + userA + `","UserId":"bob","Person":{"Name":"Bob","Cpr":null},"Positions":[{"Name":"Lærer","OrgUnitUuid":"` + unitA + `"}]` + extra + `}`
	}
	cases := []struct {
		name   string
		c      call
		status int
		body   string
	}{
		{"orgUnit upsert is queued", call{"POST", "/api/orgUnit/", `{"Uuid":"` + unitA + `","Name":"A"}`, nil}, 200, ""},
		{"orgUnit without name", call{"POST", "/api/orgUnit", `{"Uuid":"` + unitA + `"}`, nil}, 400, "name is null"},
		{"orgUnit without uuid", call{"POST", "/api/orgUnit", `{"Name":"A"}`, nil}, 400, "uuid is null"},
		{"unknown field", call{"POST", "/api/orgUnit", `{"Uuid":"` + unitA + `","Name":"A","Colour":"red"}`, nil}, 400, `invalid OrgUnitRegistration: json: unknown field "Colour"`},
		{"queued, not yet applied: 404", call{"GET", "/api/orgUnit/" + unitA, "", nil}, 404, "404 page not found"},
		{"user upsert", call{"POST", "/api/user", user(""), nil}, 200, ""},
		{"user without positions", call{"POST", "/api/user", `{"Uuid":"` + userA + `","UserId":"bob","Person":{"Name":"Bob"},"Positions":[]}`, nil}, 400, "Positions is null or empty"},
		{"position without unit", call{"POST", "/api/user", `{"Uuid":"` + userA + `","UserId":"bob","Person":{"Name":"Bob"},"Positions":[{"Name":"x"}]}`, nil}, 400, "Position Name or OrgUnitUUID is null"},
		{"user without UserId", call{"POST", "/api/user", `{"Uuid":"` + userA + `","Person":{"Name":"Bob"},"Positions":[{"Name":"x","OrgUnitUuid":"` + unitA + `"}]}`, nil}, 400, "UserId is null or empty"},
		{"user without name", call{"POST", "/api/user", `{"Uuid":"` + userA + `","UserId":"bob","Person":{},"Positions":[{"Name":"x","OrgUnitUuid":"` + unitA + `"}]}`, nil}, 400, "Person.Name is null or empty"},
		{"user without person", call{"POST", "/api/user", `{"Uuid":"` + userA + `","UserId":"bob"}`, nil}, 500, "Object reference not set to an instance of an object (Person is null)"},
		{"os2sync-export's DateTime field", call{"POST", "/api/user", user(`,"DateTime":null`), nil}, 400, `invalid UserRegistration: json: unknown field "DateTime"`},
		{"wrong api key", call{"POST", "/api/user", user(""), map[string]string{"apiKey": "nope"}}, 401, ""},
		{"no CVR", call{"POST", "/api/user", user(""), map[string]string{"CVR": ""}}, 500, "No CVR supplied or configured!"},
		{"delete is queued", call{"DELETE", "/api/user/" + userA, "", nil}, 200, ""},
		{"unknown route", call{"GET", "/api/nothing", "", nil}, 404, "404 page not found"},
		{"hierarchy job", call{"GET", "/api/hierarchy/" + unitB, "", nil}, 404, "404 page not found"},
	}
	for _, c := range cases {
		status, body := do(t, srv, c.c)
		if status != c.status || (c.body != "" && body != c.body) {
			t.Errorf("%s: got %d %q, want %d %q", c.name, status, body, c.status, c.body)
		}
	}
	st := s.Stats()
	if st.Queued != 3 || st.Applied != 0 {
		t.Errorf("queued %d applied %d, want 3 and 0", st.Queued, st.Applied)
	}
}

// TestDoubleQueueAndCache: writes are applied after the 200, org units
// before users, bad uuids land in the failure table, and an update equal
// to the last success is skipped unless bypassCache.
func TestDoubleQueueAndCache(t *testing.T) {
	s := New(Config{DefaultCVR: "12345678"})
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ou := `{"Uuid":"` + unitA + `","Name":"A","ParentOrgUnitUuid":null}`
	for _, c := range []call{
		{"POST", "/api/user", `{"Uuid":"` + userA + `","UserId":"bob","Person":{"Name":"Bob"},"Positions":[{"Name":"x","OrgUnitUuid":"` + unitA + `","StartDate":"2020-01-01"}]}`, map[string]string{"CVR": "99999999"}},
		{"POST", "/api/orgUnit", ou, nil},
		{"POST", "/api/orgUnit", `{"Uuid":"not-a-uuid","Name":"B"}`, nil},
		{"DELETE", "/api/orgUnit/" + unitB, "", nil},
	} {
		if status, body := do(t, srv, c); status != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, status, body)
		}
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.State("12345678") // the default CVR wins over the header
	if len(st.OrgUnits) != 1 || *st.OrgUnits[unitA].Name != "A" || st.OrgUnits[unitA].Type != "DEPARTMENT" || len(st.Users) != 1 {
		t.Fatalf("state %+v", st)
	}
	if f := s.Failures(); len(f) != 2 {
		t.Fatalf("failures %+v, want the bad uuid and the delete of an unknown unit", f)
	}
	if status, body := do(t, srv, call{"GET", "/api/orgUnit/" + unitA, "", nil}); status != 200 || !strings.Contains(body, `"Type":"DEPARTMENT"`) {
		t.Fatalf("GET after apply: %d %s", status, body)
	}
	do(t, srv, call{"POST", "/api/orgUnit", ou, nil})
	do(t, srv, call{"POST", "/api/orgUnit?bypassCache=true", ou, nil})
	if st := s.Stats(); st.SkippedByCache != 1 || st.Queued != 5 {
		t.Fatalf("cache: skipped %d queued %d, want 1 and 5", st.SkippedByCache, st.Queued)
	}
}

// TestDoubleCacheDropsABA: the last-success cache compares with the last
// APPLIED write, so A, then B (queued), then A again without bypassCache
// leaves FK at B — why the sink sends bypassCache=true and keeps its own
// digest instead.
func TestDoubleCacheDropsABA(t *testing.T) {
	s := New(Config{DefaultCVR: "12345678", ApplyEvery: time.Hour})
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	a := `{"Uuid":"` + unitA + `","Name":"A"}`
	b := `{"Uuid":"` + unitA + `","Name":"B"}`
	post := func(path, body string) {
		if status, msg := do(t, srv, call{"POST", path, body, nil}); status != 200 {
			t.Fatalf("%d %s", status, msg)
		}
	}
	post("/api/orgUnit", a)
	s.applyQueued()
	post("/api/orgUnit", b)
	post("/api/orgUnit", a) // equal to the last success: skipped
	s.applyQueued()
	if got := *s.State("12345678").OrgUnits[unitA].Name; got != "B" {
		t.Fatalf("without bypassCache FK holds %q", got)
	}
	post("/api/orgUnit?bypassCache=true", a)
	s.applyQueued()
	if got := *s.State("12345678").OrgUnits[unitA].Name; got != "A" {
		t.Fatalf("with bypassCache FK holds %q, want A", got)
	}
}
