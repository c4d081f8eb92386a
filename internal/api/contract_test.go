package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/api"
)

// TestContractTour calls every operation of the OpenAPI document with a
// good request, each request and answer checked against the document: an
// operation added to the document without a handler, or a handler whose
// answer drifted from it, fails here.
func TestContractTour(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ids := phones(1, 3)
	good := func(r req, status int) exchange {
		t.Helper()
		x := h.do(r)
		if x.Status != status || x.ReqErr != nil {
			t.Fatalf("%s %s: %d %s (document: %v)", r.method, r.path, x.Status, x.Body, x.ReqErr)
		}
		return x
	}
	in := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rep, _ := h.postStart(map[string]any{"ids": ids, "at": in, "options": map[string]any{"hide_sidebar": true, "width": 0, "center": 0},
		"label": "tour", "notify_url": "https://hooks.example.com/x", "notify_each": true, "stop_after": "90m"}, nil)
	good(req{method: http.MethodPost, path: "/v1/stops", token: "stopper", body: map[string]any{"ids": ids[:1], "in": "2h"}}, 202)
	good(req{method: http.MethodPost, path: "/v1/cancels", token: "canceller", body: map[string]any{"ids": ids[1:2]}}, 200)
	good(req{method: http.MethodGet, path: "/v1/requests/" + rep.Request + "?wait=10ms", token: "reader"}, 200)
	good(req{method: http.MethodGet, path: "/v1/phones/" + ids[2], token: "reader"}, 200)
	h.kill("start", ids[2])
	good(req{method: http.MethodGet, path: "/v1/dead?limit=10", token: "reader"}, 200)
	good(req{method: http.MethodPost, path: "/v1/dead/requeue", token: "admin", body: map[string]any{"all": true}}, 202)
	good(req{method: http.MethodGet, path: "/v1/status", token: "reader"}, 200)
	good(req{method: http.MethodGet, path: "/v1/pause", token: "reader"}, 200)
	good(req{method: http.MethodPost, path: "/v1/pause/lift", token: "admin", header: map[string]string{"If-Match": "*"}}, 200)
	good(req{method: http.MethodGet, path: "/v1/openapi.json"}, 200)
	h.openSSE("?label=tour&last_event_id=0", "").close()

	seen := make([]string, 0, len(h.seen))
	for op := range h.seen {
		seen = append(seen, op)
	}
	slices.Sort(seen)
	if ops := h.operations(); !slices.Equal(seen, ops) {
		t.Errorf("operations called %v, want every operation of the document %v", seen, ops)
	}
}
