package geelarktest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// t0 is an arbitrary fixed instant for tests with a clock.
var t0 = time.Date(2024, 5, 29, 8, 54, 52, 166e6, time.UTC)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// reply is the decoded body of a start reply.
type reply struct {
	TraceID string `json:"traceId"`
	Code    *int   `json:"code"`
	Msg     string `json:"msg"`
	Data    *struct {
		TotalAmount    int `json:"totalAmount"`
		SuccessAmount  int `json:"successAmount"`
		FailAmount     int `json:"failAmount"`
		SuccessDetails []struct {
			ID             string `json:"id"`
			URL            string `json:"url"`
			ChargingMethod string `json:"chargingMethod"`
		} `json:"successDetails"`
		FailDetails []struct {
			Code int    `json:"code"`
			ID   string `json:"id"`
			Msg  string `json:"msg"`
		} `json:"failDetails"`
	} `json:"data"`
}

// keyHeaders returns key-mode headers signed with appID and apiKey at ts.
func keyHeaders(appID, apiKey string, ts time.Time) http.Header {
	traceID := uuid.NewString()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("traceId", traceID)
	h.Set("appId", appID)
	h.Set("ts", geelark.Timestamp(ts))
	h.Set("nonce", geelark.Nonce(traceID))
	h.Set("sign", geelark.Sign(appID, traceID, geelark.Timestamp(ts), geelark.Nonce(traceID), apiKey))
	return h
}

// tokenHeaders returns token-mode headers.
func tokenHeaders(token string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("traceId", uuid.NewString())
	h.Set("Authorization", "Bearer "+token)
	return h
}

// goodHeaders are valid token-mode headers for a Fake with a default Config.
func goodHeaders() http.Header { return tokenHeaders(geelarktest.DefaultToken) }

// serve sends one start call straight to h and returns the HTTP status and
// the raw body.
func serve(t *testing.T, h http.Handler, hdr http.Header, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, geelark.StartPath, strings.NewReader(body))
	req.Header = hdr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// call sends one start call straight to h and decodes the reply, which must
// be HTTP 200 JSON.
func call(t *testing.T, h http.Handler, hdr http.Header, body string) reply {
	t.Helper()
	status, raw := serve(t, h, hdr, body)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d, want 200; body %q", status, raw)
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("reply is not JSON: %v; body %q", err, raw)
	}
	if r.Code == nil {
		t.Fatalf("reply has no code: %q", raw)
	}
	return r
}

// idsBody returns a start body for ids.
func idsBody(ids ...string) string {
	b, _ := json.Marshal(map[string]any{"ids": ids})
	return string(b)
}
