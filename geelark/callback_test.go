package geelark_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestVerifyCallback(t *testing.T) {
	t.Parallel()
	now := t0
	signed := func(appID, key string, ts time.Time) http.Header {
		h := http.Header{}
		geelarktest.SignCallback(h, appID, key, ts)
		return h
	}
	without := func(name string) http.Header {
		h := signed(testAppID, testAPIKey, now)
		h.Del(name)
		return h
	}
	tests := []struct {
		name   string
		h      http.Header
		check  geelark.CallbackCheck // 0: accepted
		header string
	}{
		{"good", signed(testAppID, testAPIKey, now), 0, ""},
		{"signed 5 minutes ago", signed(testAppID, testAPIKey, now.Add(-geelark.MaxCallbackAge)), 0, ""},
		{"signed 5 minutes ahead", signed(testAppID, testAPIKey, now.Add(geelark.MaxCallbackAge)), 0, ""},
		{"lowercase sign", func() http.Header {
			h := signed(testAppID, testAPIKey, now)
			h.Set("sign", strings.ToLower(h.Get("sign")))
			return h
		}(), 0, ""},
		{"no appId", without("appId"), geelark.CheckHeader, "appId"},
		{"no traceId", without("traceId"), geelark.CheckHeader, "traceId"},
		{"no ts", without("ts"), geelark.CheckHeader, "ts"},
		{"no nonce", without("nonce"), geelark.CheckHeader, "nonce"},
		{"no sign", without("sign"), geelark.CheckHeader, "sign"},
		{"no headers", http.Header{}, geelark.CheckHeader, "appId"},
		{"token mode", http.Header{"Traceid": {"t"}, "Authorization": {"Bearer " + testToken}}, geelark.CheckTokenMode, ""},
		{"another app", signed("other-app", testAPIKey, now), geelark.CheckAppID, ""},
		{"ts in seconds", func() http.Header {
			h := signed(testAppID, testAPIKey, now)
			h.Set("ts", "17x")
			return h
		}(), geelark.CheckTimestamp, ""},
		{"10 minutes old", signed(testAppID, testAPIKey, now.Add(-10*time.Minute)), geelark.CheckTooOld, ""},
		{"a millisecond too old", signed(testAppID, testAPIKey, now.Add(-geelark.MaxCallbackAge-time.Millisecond)), geelark.CheckTooOld, ""},
		{"10 minutes ahead", signed(testAppID, testAPIKey, now.Add(10*time.Minute)), geelark.CheckTooNew, ""},
		{"wrong key", signed(testAppID, "not-the-key", now), geelark.CheckSignature, ""},
		{"body of another call", func() http.Header {
			h := signed(testAppID, testAPIKey, now)
			h.Set("traceId", "00000000-0000-4000-8000-000000000000") // sign no longer covers it
			return h
		}(), geelark.CheckSignature, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := geelark.VerifyCallback(tt.h, testAppID, testAPIKey, now)
			if tt.check == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *geelark.CallbackError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v (%T), want a *CallbackError", err, err)
			}
			if ce.Check != tt.check || ce.Header != tt.header {
				t.Errorf("refused for %s %q, want %s %q (%v)", ce.Check, ce.Header, tt.check, tt.header, err)
			}
			for _, s := range append(secrets, tt.h.Get("sign")) {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows a secret or the sign", err)
				}
			}
		})
	}
}

func TestParseCallbackEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want geelark.CallbackEvent
		bad  bool
	}{
		{"documented start event", `{"type":1,"id":"528086321789535232","result":true,
			"username":"admin@geelark.com","ip":"62.141.247.218","eventTime":1766567054}`,
			geelark.CallbackEvent{Type: 1, ID: "528086321789535232", Result: true, Username: "admin@geelark.com",
				IP: "62.141.247.218", EventTime: time.Unix(1766567054, 0).UTC()}, false},
		{"failed start", `{"type":1,"id":"p1","result":false,"eventTime":1766567054}`,
			geelark.CallbackEvent{Type: 1, ID: "p1", EventTime: time.Unix(1766567054, 0).UTC()}, false},
		{"numeric id", `{"type":1,"id":528086321789535232,"result":true}`,
			geelark.CallbackEvent{Type: 1, ID: "528086321789535232", Result: true}, false},
		{"documented stop event", `{"type":8,"id":"p1","username":"GeeLark","ip":"1.2.3.4","eventTime":1766567054,"useMin":12}`,
			geelark.CallbackEvent{Type: 8, ID: "p1", Username: "GeeLark", IP: "1.2.3.4", UseMin: 12,
				EventTime: time.Unix(1766567054, 0).UTC()}, false},
		{"another type is read, not judged", `{"type":6,"taskId":"t1","result":true}`,
			geelark.CallbackEvent{Type: 6, Result: true}, false},
		{"start without id", `{"type":1,"result":true}`, geelark.CallbackEvent{}, true},
		{"start without result", `{"type":1,"id":"p1"}`, geelark.CallbackEvent{}, true},
		{"no type", `{"id":"p1","result":true}`, geelark.CallbackEvent{}, true},
		{"not JSON", `type=1&id=p1`, geelark.CallbackEvent{}, true},
		{"empty", ``, geelark.CallbackEvent{}, true},
		{"huge", `{"type":1,"id":"` + strings.Repeat("1", 70<<10) + `","result":true}`, geelark.CallbackEvent{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := geelark.ParseCallbackEvent([]byte(tt.body))
			if tt.bad {
				var ce *geelark.CallbackError
				if !errors.As(err, &ce) || ce.Check != geelark.CheckBody {
					t.Fatalf("got %+v, %v; want a *CallbackError with CheckBody", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev != tt.want {
				t.Errorf("event %+v, want %+v", ev, tt.want)
			}
		})
	}
}

// receiver is a webhook that checks callbacks as the admin server will.
type receiver struct {
	mu       sync.Mutex
	events   []geelark.CallbackEvent
	refusals []error
	now      func() time.Time
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	err := geelark.VerifyCallback(req.Header, testAppID, testAPIKey, r.now())
	var ev geelark.CallbackEvent
	if err == nil {
		ev, err = geelark.ParseCallbackEvent(body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.refusals = append(r.refusals, err)
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	r.events = append(r.events, ev)
}

// A fake with callbacks tells a registered webhook when each boot ends,
// signed so that VerifyCallback accepts it; a stopped boot sends nothing.
func TestCallbacksEndToEnd(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	rcv := &receiver{now: clk.Now}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	srv := newServer(t, geelarktest.Config{Now: clk.Now, Callbacks: true, CallbackEvery: -1,
		Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: 3 * time.Second} }})
	srv.ScriptBoot("falls", geelarktest.Boot{Time: 10 * time.Second, FallBack: true})
	srv.ScriptBoot("never", geelarktest.Boot{Never: true})
	c := keyClient(t, srv, func(cfg *geelark.Config) { cfg.Now = clk.Now })
	ctx := context.Background()
	if err := c.SetCallback(ctx, hook.URL+"/geelark/callback"); err != nil {
		t.Fatal(err)
	}
	if got := srv.CallbackURL(); got != hook.URL+"/geelark/callback" {
		t.Fatalf("callback URL %q", got)
	}
	mustStart(t, c, "boots", "falls", "never", "stopped")
	if _, err := c.StopPhones(ctx, []string{"stopped"}); err != nil {
		t.Fatal(err)
	}
	deliver := func(want int) {
		t.Helper()
		n, err := srv.DeliverCallbacks(ctx)
		if n != want || err != nil {
			t.Fatalf("DeliverCallbacks = %d, %v; want %d", n, err, want)
		}
	}
	deliver(0)
	clk.Advance(3 * time.Second)
	deliver(1)
	deliver(0) // each event once
	clk.Advance(time.Hour)
	deliver(1)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.refusals) > 0 {
		t.Fatalf("the receiver refused good callbacks: %v", rcv.refusals)
	}
	want := []geelark.CallbackEvent{
		{Type: 1, ID: "boots", Result: true, EventTime: t0.Add(3 * time.Second).Truncate(time.Second).UTC()},
		{Type: 1, ID: "falls", Result: false, EventTime: t0.Add(10 * time.Second).Truncate(time.Second).UTC()},
	}
	if len(rcv.events) != len(want) {
		t.Fatalf("events %+v, want %+v", rcv.events, want)
	}
	for i, ev := range rcv.events {
		ev.Username, ev.IP = "", ""
		if ev != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, ev, want[i])
		}
	}
}

func TestSetCallbackRefused(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40015})
	err := tokenClient(t, srv, nil).SetCallback(context.Background(), "https://example.com/cb")
	if ae := apiError(t, err); ae.Code != 40015 || ae.TraceID == "" {
		t.Errorf("refused set: %+v", ae)
	}
	if srv.CallbackURL() != "" {
		t.Errorf("a refused set left URL %q", srv.CallbackURL())
	}
}
