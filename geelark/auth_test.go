package geelark_test

import (
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestAuthModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      func(base string) geelark.Config
		wantCode int
		wantAuth string
	}{
		{"key", func(b string) geelark.Config {
			return geelark.Config{BaseURL: b, AppID: testAppID, APIKey: testAPIKey}
		}, 0, "key"},
		{"token", func(b string) geelark.Config { return geelark.Config{BaseURL: b, Token: testToken} }, 0, "token"},
		{"wrong key", func(b string) geelark.Config {
			return geelark.Config{BaseURL: b, AppID: testAppID, APIKey: testAPIKey + "x"}
		}, 40003, ""},
		{"wrong app ID", func(b string) geelark.Config {
			return geelark.Config{BaseURL: b, AppID: "app-other", APIKey: testAPIKey}
		}, 40003, ""},
		{"wrong token", func(b string) geelark.Config { return geelark.Config{BaseURL: b, Token: testToken + "x"} }, 40003, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{})
			c := newClient(t, tt.cfg(srv.URL), nil)
			res, err := start(t, c, "p1")
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Auth != tt.wantAuth {
				t.Fatalf("fake saw %+v, want one call authenticated as %q", calls, tt.wantAuth)
			}
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("StartPhones: %v", err)
				}
				if res.Outcomes[0].Status != geelark.StatusStarted || res.TraceID != calls[0].TraceID {
					t.Errorf("result %+v, want p1 started under traceId %s", res, calls[0].TraceID)
				}
				return
			}
			ae := apiError(t, err)
			if ae.Code != tt.wantCode || ae.Class() != geelark.ClassAccount {
				t.Errorf("APIError code %d class %s, want %d %s", ae.Code, ae.Class(), tt.wantCode, geelark.ClassAccount)
			}
			if geelark.IsOutcomeUnknown(err) {
				t.Error("a refused call is reported as outcome unknown")
			}
			if ae.TraceID != calls[0].TraceID || res == nil || res.TraceID != calls[0].TraceID {
				t.Errorf("traceIds: error %q, result %+v, fake %q", ae.TraceID, res, calls[0].TraceID)
			}
			if srv.Attempts("p1") != 0 {
				t.Error("a refused call processed a phone")
			}
		})
	}
}

func TestKeyModeClockSkew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		skew     time.Duration
		wantCode int
	}{
		{0, 0},
		{-4 * time.Minute, 0},
		{4 * time.Minute, 0},
		{-6 * time.Minute, 40003},
		{6 * time.Minute, 40003},
	}
	for _, tt := range tests {
		t.Run(tt.skew.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{Now: func() time.Time { return t0 }})
			c := keyClient(t, srv, func(cfg *geelark.Config) {
				cfg.Now = func() time.Time { return t0.Add(tt.skew) }
			})
			_, err := start(t, c, "p1")
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("clock %v off: %v", tt.skew, err)
				}
				return
			}
			if ae := apiError(t, err); ae.Code != tt.wantCode || ae.Class() != geelark.ClassAccount {
				t.Errorf("clock %v off: code %d class %s, want %d account", tt.skew, ae.Code, ae.Class(), tt.wantCode)
			}
		})
	}
}

// t0 is an arbitrary fixed instant for tests with a clock.
var t0 = time.Date(2024, 5, 29, 8, 54, 52, 166e6, time.UTC)
