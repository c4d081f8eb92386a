package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/api"
)

// postEndpoint is a POST endpoint with a token that may call it, one that
// may not, and a good body.
type postEndpoint struct {
	path, token, outOfScope string
	good                    func(ids []string) map[string]any
}

var postEndpoints = []postEndpoint{
	{"/v1/starts", "starter", "reader", func(ids []string) map[string]any { return map[string]any{"ids": ids} }},
	{"/v1/stops", "stopper", "starter", func(ids []string) map[string]any { return map[string]any{"ids": ids} }},
	{"/v1/cancels", "canceller", "starter", func(ids []string) map[string]any { return map[string]any{"ids": ids} }},
	{"/v1/dead/requeue", "admin", "starter", func(ids []string) map[string]any { return map[string]any{"ids": ids} }},
}

// badCase is a request refused with status, problem type and field, that
// writes nothing to Redis. docRefuses says the OpenAPI document refuses
// the request too (what a token may do, or who holds it, is not the
// document's to know).
type badCase struct {
	name       string
	token      string // "" uses the endpoint's
	auth       string
	body       any
	header     map[string]string
	status     int
	typ        string
	field      string
	docRefuses bool
}

func postCases(e postEndpoint) []badCase {
	ok := phones(1, 3)
	tooMany := phones(1, api.MaxIDs+1)
	huge := `{"ids":["5577000000000001"],"label":"` + strings.Repeat("x", api.MaxBody) + `"}`
	withField := e.good(ok)
	withField["nope"] = 1
	return []badCase{
		{name: "no token", auth: "-", body: e.good(ok), status: 401, typ: api.ProblemUnauthorized, field: "Authorization", docRefuses: true},
		{name: "unknown token", auth: "Bearer " + api.TokenPrefix + "not-a-token", body: e.good(ok), status: 401, typ: api.ProblemUnauthorized, field: "Authorization"},
		{name: "basic auth", auth: "Basic dXNlcjpwYXNz", body: e.good(ok), status: 401, typ: api.ProblemUnauthorized, field: "Authorization", docRefuses: true},
		{name: "out of scope", token: e.outOfScope, body: e.good(ok), status: 403, typ: api.ProblemForbidden},
		{name: "bad ID", body: e.good([]string{ok[0], "5577 0001"}), status: 400, typ: api.ProblemInvalid, field: "ids[2]", docRefuses: true},
		{name: "ID too long", body: e.good([]string{strings.Repeat("7", 65)}), status: 400, typ: api.ProblemInvalid, field: "ids[1]", docRefuses: true},
		{name: "no IDs", body: e.good([]string{}), status: 400, typ: api.ProblemInvalid, field: "ids", docRefuses: true},
		{name: "10,001 IDs", body: e.good(tooMany), status: 413, typ: api.ProblemTooLarge, field: "ids", docRefuses: true},
		{name: "bad JSON", body: `{"ids":["5577000000000001"`, status: 400, typ: api.ProblemMalformed, docRefuses: true},
		{name: "not an object", body: `["5577000000000001"]`, status: 400, typ: api.ProblemMalformed, docRefuses: true},
		{name: "trailing data", body: `{"ids":["5577000000000001"]} {}`, status: 400, typ: api.ProblemMalformed},
		{name: "ids not an array", body: `{"ids":"5577000000000001"}`, status: 400, typ: api.ProblemInvalid, field: "ids", docRefuses: true},
		{name: "unknown field", body: withField, status: 400, typ: api.ProblemInvalid, field: "nope", docRefuses: true},
		{name: "field in other case", body: `{"IDS":["5577000000000001"]}`, status: 400, typ: api.ProblemInvalid, field: "IDS", docRefuses: true},
		{name: "body over 1 MiB", body: huge, status: 413, typ: api.ProblemTooLarge, docRefuses: true},
		{name: "not JSON", body: "ids=1", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status: 415, typ: api.ProblemMediaType, field: "Content-Type", docRefuses: true},
		{name: "bad Idempotency-Key", body: e.good(ok), header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)},
			status: 400, typ: api.ProblemInvalid, field: "Idempotency-Key", docRefuses: true},
	}
}

// startCases are the bad inputs only POST /v1/starts has.
func startCases() []badCase {
	id := []string{"5577000000000001"}
	b := func(kv ...any) map[string]any {
		m := map[string]any{"ids": id}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	return []badCase{
		{name: "width", body: b("options", map[string]any{"width": 900}), status: 400, typ: api.ProblemInvalid, field: "options.width", docRefuses: true},
		{name: "center", body: b("options", map[string]any{"center": 2}), status: 400, typ: api.ProblemInvalid, field: "options.center", docRefuses: true},
		{name: "unknown option", body: b("options", map[string]any{"zoom": 2}), status: 400, typ: api.ProblemInvalid, field: "options.zoom", docRefuses: true},
		{name: "option type", body: b("options", map[string]any{"width": "wide"}), status: 400, typ: api.ProblemInvalid, field: "options.width", docRefuses: true},
		{name: "at unparseable", body: b("at", "tomorrow"), status: 400, typ: api.ProblemInvalid, field: "at", docRefuses: true},
		{name: "at past", body: b("at", "2001-01-01T00:00:00Z"), status: 400, typ: api.ProblemInvalid, field: "at"},
		{name: "at and in", body: b("at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "in", "1h"), status: 400, typ: api.ProblemInvalid, field: "at"},
		{name: "in", body: b("in", "soon"), status: 400, typ: api.ProblemInvalid, field: "in", docRefuses: true},
		{name: "in negative", body: b("in", "-1h"), status: 400, typ: api.ProblemInvalid, field: "in", docRefuses: true},
		{name: "stop_after", body: b("stop_after", "2 hours"), status: 400, typ: api.ProblemInvalid, field: "stop_after", docRefuses: true},
		{name: "label", body: b("label", "etl 42"), status: 400, typ: api.ProblemInvalid, field: "label", docRefuses: true},
		{name: "notify_url", body: b("notify_url", "ftp://hooks.example.com/x"), status: 400, typ: api.ProblemInvalid, field: "notify_url"},
		{name: "notify_url user", body: b("notify_url", "https://u:p@hooks.example.com/x"), status: 400, typ: api.ProblemInvalid, field: "notify_url"},
		{name: "notify_each alone", body: b("notify_each", true), status: 400, typ: api.ProblemInvalid, field: "notify_each"},
	}
}

// TestPostBadInputs sends every POST endpoint each bad input: each is
// refused with its documented status and a problem naming the field, the
// OpenAPI document agrees (where it can know), and Redis is left as it was.
func TestPostBadInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	for _, e := range postEndpoints {
		cases := postCases(e)
		if e.path == "/v1/starts" {
			cases = append(cases, startCases()...)
		}
		for _, c := range cases {
			t.Run(e.path+"/"+c.name, func(t *testing.T) {
				h.t = t
				before := h.state()
				r := req{method: http.MethodPost, path: e.path, token: e.token, body: c.body, header: c.header}
				if c.token != "" {
					r.token = c.token
				}
				switch c.auth {
				case "-":
					r.token = ""
				case "":
				default:
					r.token, r.auth = "", c.auth
				}
				x := h.do(r)
				checkRefused(t, x, c)
				if after := h.state(); after != before {
					t.Errorf("Redis changed:\nbefore\n%s\nafter\n%s", before, after)
				}
			})
		}
	}
}

// TestIdempotencyKeyOtherBody replays a key with another body on every POST
// endpoint: 409 naming the key, and nothing done.
func TestIdempotencyKeyOtherBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	for i, e := range postEndpoints {
		t.Run(e.path, func(t *testing.T) {
			h.t = t
			key := fmt.Sprintf("key-%d", i)
			first := h.do(req{method: http.MethodPost, path: e.path, token: e.token, body: e.good(phones(100*i, 2)),
				header: map[string]string{"Idempotency-Key": key}})
			if first.Status/100 != 2 || first.ReqErr != nil {
				t.Fatalf("first POST: %d %s (document: %v)", first.Status, first.Body, first.ReqErr)
			}
			before := h.state()
			x := h.do(req{method: http.MethodPost, path: e.path, token: e.token, body: e.good(phones(100*i+50, 2)),
				header: map[string]string{"Idempotency-Key": key}})
			checkRefused(t, x, badCase{status: 409, typ: api.ProblemKeyReused, field: "Idempotency-Key"})
			if after := h.state(); after != before {
				t.Errorf("Redis changed:\nbefore\n%s\nafter\n%s", before, after)
			}
			// The same key and body on another path is another request too.
			other := postEndpoints[(i+1)%len(postEndpoints)]
			hdr := map[string]string{"Idempotency-Key": "admin-" + key}
			first = h.do(req{method: http.MethodPost, path: e.path, token: "admin", body: e.good(phones(100*i+20, 2)), header: hdr})
			if first.Status/100 != 2 {
				t.Fatalf("first POST: %d %s", first.Status, first.Body)
			}
			x = h.do(req{method: http.MethodPost, path: other.path, token: "admin", body: e.good(phones(100*i+20, 2)), header: hdr})
			checkRefused(t, x, badCase{status: 409, typ: api.ProblemKeyReused, field: "Idempotency-Key"})
		})
	}
}

func checkRefused(t *testing.T, x exchange, c badCase) {
	t.Helper()
	if x.Status != c.status {
		t.Fatalf("status %d, want %d; body %s", x.Status, c.status, x.Body)
	}
	p := x.problem(t)
	if p.Type != c.typ || p.Field != c.field {
		t.Errorf("problem type %q field %q, want %q %q: %s", p.Type, p.Field, c.typ, c.field, p.Detail)
	}
	if c.docRefuses && x.ReqErr == nil {
		t.Errorf("the OpenAPI document allows this request, which the server refuses")
	}
	if !c.docRefuses && x.ReqErr != nil {
		t.Errorf("the OpenAPI document refuses this request: %v", x.ReqErr)
	}
	if x.Status == 401 && x.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

// TestGetBadInputs: the GET endpoints refuse no token (401), a token
// without read (403), bad IDs and parameters (400 naming them), and answer
// 404 for what does not exist.
func TestGetBadInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	cases := []struct {
		path, token string
		status      int
		typ, field  string
		docRefuses  bool
	}{
		{"/v1/status", "", 401, api.ProblemUnauthorized, "Authorization", true},
		{"/v1/status", "stopper", 403, api.ProblemForbidden, "", false},
		{"/v1/pause", "stopper", 403, api.ProblemForbidden, "", false},
		{"/v1/dead", "canceller", 403, api.ProblemForbidden, "", false},
		{"/v1/events", "stopper", 403, api.ProblemForbidden, "", false},
		{"/v1/requests/mic1x2a9-3f9a0c12bd4e", "", 401, api.ProblemUnauthorized, "Authorization", true},
		{"/v1/requests/mic1x2a9-3f9a0c12bd4e", "stopper", 403, api.ProblemForbidden, "", false},
		{"/v1/requests/not_a_request", "reader", 400, api.ProblemInvalid, "request", true},
		{"/v1/requests/mic1x2a9-3f9a0c12bd4e", "reader", 404, api.ProblemNotFound, "request", false},
		{"/v1/requests/mic1x2a9-3f9a0c12bd4e?wait=soon", "reader", 400, api.ProblemInvalid, "wait", true},
		{"/v1/phones/5577000000000001", "reader", 404, api.ProblemNotFound, "id", false},
		{"/v1/phones/5577%C2%A00001", "reader", 400, api.ProblemInvalid, "id", true},
		{"/v1/phones/5577000000000001", "", 401, api.ProblemUnauthorized, "Authorization", true},
		{"/v1/dead?limit=0", "reader", 400, api.ProblemInvalid, "limit", true},
		{"/v1/dead?limit=1001", "reader", 400, api.ProblemInvalid, "limit", true},
		{"/v1/events?request=nope", "reader", 400, api.ProblemInvalid, "request", true},
		{"/v1/events?label=a%20b", "reader", 400, api.ProblemInvalid, "label", true},
		{"/v1/events?phone=a%20b", "reader", 400, api.ProblemInvalid, "phone", true},
		{"/v1/events?last_event_id=yesterday", "reader", 400, api.ProblemInvalid, "last_event_id", true},
	}
	for _, c := range cases {
		t.Run(c.path+"/"+c.token, func(t *testing.T) {
			h.t = t
			before := h.state()
			x := h.do(req{method: http.MethodGet, path: c.path, token: c.token})
			checkRefused(t, x, badCase{status: c.status, typ: c.typ, field: c.field, docRefuses: c.docRefuses})
			if after := h.state(); after != before {
				t.Errorf("Redis changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
}

// TestUnroutedAreProblems: an unknown path is 404 and a wrong method 405
// with Allow, both as problems.
func TestUnroutedAreProblems(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/v1/nope", 404, ""},
		{http.MethodGet, "/v1/starts", 405, "POST"},
		{http.MethodDelete, "/v1/requests/mic1x2a9-3f9a0c12bd4e", 405, "GET, HEAD"},
	} {
		r, _ := http.NewRequest(c.method, h.ts.URL+c.path, nil)
		r.Header.Set("Authorization", "Bearer "+h.tokens["admin"])
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
			resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %s Allow %q, want %d problem Allow %q", c.method, c.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), c.status, c.allow)
		}
	}
}
