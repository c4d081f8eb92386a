package geelarktest_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	const app, key, token = "app-1", "key-1", "token-1"
	key0 := func(ts time.Time) http.Header { return keyHeaders(app, key, ts) }
	tests := []struct {
		name     string
		headers  func() http.Header
		wantCode int
		wantAuth string
	}{
		{"token", func() http.Header { return tokenHeaders(token) }, 0, "token"},
		{"wrong token", func() http.Header { return tokenHeaders("token-2") }, 40003, ""},
		{"token without Bearer", func() http.Header {
			h := tokenHeaders(token)
			h.Set("Authorization", token)
			return h
		}, 40003, ""},
		{"token without traceId", func() http.Header {
			h := tokenHeaders(token)
			h.Del("traceId")
			return h
		}, 40002, ""},
		{"no credentials", func() http.Header {
			h := http.Header{}
			h.Set("traceId", "db6094ab-3797-4186-84d5-b0b58eebad56")
			return h
		}, 40003, ""},
		{"key", func() http.Header { return key0(t0) }, 0, "key"},
		{"key, traceId without dashes", func() http.Header {
			h := key0(t0)
			tr := strings.ReplaceAll(h.Get("traceId"), "-", "")
			return resign(h, app, key, tr)
		}, 0, "key"},
		{"key without traceId", func() http.Header {
			h := key0(t0)
			h.Del("traceId")
			return h
		}, 40002, ""},
		{"wrong appId", func() http.Header { return keyHeaders("app-2", key, t0) }, 40003, ""},
		{"wrong key", func() http.Header { return keyHeaders(app, "key-2", t0) }, 40003, ""},
		{"lowercase sign", func() http.Header {
			h := key0(t0)
			h.Set("sign", strings.ToLower(h.Get("sign")))
			return h
		}, 40003, ""},
		{"nonce not from traceId", func() http.Header {
			h := key0(t0)
			h.Set("nonce", "abcdef")
			return h
		}, 40003, ""},
		{"ts 4m59s behind", func() http.Header { return key0(t0.Add(-4*time.Minute - 59*time.Second)) }, 0, "key"},
		{"ts 4m59s ahead", func() http.Header { return key0(t0.Add(4*time.Minute + 59*time.Second)) }, 0, "key"},
		{"ts 5m01s behind", func() http.Header { return key0(t0.Add(-5*time.Minute - time.Second)) }, 40003, ""},
		{"ts 5m01s ahead", func() http.Header { return key0(t0.Add(5*time.Minute + time.Second)) }, 40003, ""},
		{"ts in seconds", func() http.Header {
			h := key0(t0)
			return resignTS(h, app, key, strconv.FormatInt(t0.Unix(), 10))
		}, 40003, ""},
		{"ts not a number", func() http.Header { return resignTS(key0(t0), app, key, "now") }, 40003, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := geelarktest.New(geelarktest.Config{AppID: app, APIKey: key, Token: token,
				Now: func() time.Time { return t0 }})
			r := call(t, f, tt.headers(), idsBody("p1"))
			if *r.Code != tt.wantCode {
				t.Fatalf("code %d (%s), want %d", *r.Code, r.Msg, tt.wantCode)
			}
			calls := f.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls recorded, want 1", len(calls))
			}
			if c := calls[0]; c.Auth != tt.wantAuth || c.Code != tt.wantCode {
				t.Errorf("call recorded Auth %q Code %d, want %q %d", c.Auth, c.Code, tt.wantAuth, tt.wantCode)
			}
			wantStarts := 0
			if tt.wantCode == 0 {
				wantStarts = 1
			}
			if got := f.Starts("p1"); got != wantStarts {
				t.Errorf("Starts(p1) = %d, want %d", got, wantStarts)
			}
		})
	}
}

// resign replaces the traceId of key-mode headers h and signs them again.
func resign(h http.Header, app, key, traceID string) http.Header {
	h.Set("traceId", traceID)
	h.Set("nonce", traceID[:6])
	return resignTS(h, app, key, h.Get("ts"))
}

// resignTS replaces the ts of key-mode headers h and signs them again.
func resignTS(h http.Header, app, key, ts string) http.Header {
	h.Set("ts", ts)
	h.Set("sign", geelark.Sign(app, h.Get("traceId"), ts, h.Get("nonce"), key))
	return h
}

func TestDefaultCredentials(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	for _, h := range []http.Header{
		tokenHeaders(geelarktest.DefaultToken),
		keyHeaders(geelarktest.DefaultAppID, geelarktest.DefaultAPIKey, time.Now()),
	} {
		if r := call(t, f, h, idsBody("p1")); *r.Code != 0 {
			t.Errorf("default credentials refused: %d %s", *r.Code, r.Msg)
		}
	}
}
