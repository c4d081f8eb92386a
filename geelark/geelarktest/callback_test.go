package geelarktest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// hook is a webhook that verifies each callback with the default
// credentials and passes on what it accepted.
func hook(t *testing.T, now func() time.Time) (url string, events <-chan geelark.CallbackEvent) {
	t.Helper()
	ch := make(chan geelark.CallbackEvent, 16)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := geelark.VerifyCallback(r.Header, geelarktest.DefaultAppID, geelarktest.DefaultAPIKey, now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ev, err := geelark.ParseCallbackEvent(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ch <- ev
	}))
	t.Cleanup(s.Close)
	return s.URL, ch
}

func TestSendCallback(t *testing.T) {
	t.Parallel()
	url, events := hook(t, func() time.Time { return t0 })
	f := geelarktest.New(geelarktest.Config{Now: func() time.Time { return t0 }})
	t.Cleanup(f.Close)
	ev := geelark.CallbackEvent{Type: geelark.CallbackStart, ID: "p1", Result: true, EventTime: t0.Truncate(time.Second)}
	if err := f.SendCallback(context.Background(), url, ev); err != nil {
		t.Fatal(err)
	}
	if got := <-events; got != ev {
		t.Errorf("received %+v, want %+v", got, ev)
	}
	// A fake whose clock is 10 minutes behind signs callbacks the hook
	// refuses as too old.
	late := geelarktest.New(geelarktest.Config{Now: func() time.Time { return t0.Add(-10 * time.Minute) }})
	t.Cleanup(late.Close)
	if err := late.SendCallback(context.Background(), url, ev); err == nil {
		t.Error("a stale callback was accepted")
	}
	sent := late.SentCallbacks()
	if len(sent) != 1 || sent[0].StatusCode != http.StatusUnauthorized || sent[0].Err != "" || sent[0].URL != url {
		t.Errorf("SentCallbacks = %+v, want one answered 401", sent)
	}
	if err := f.SendCallback(context.Background(), "http://127.0.0.1:1/none", ev); err == nil {
		t.Error("a callback to a closed port reported no error")
	} else if s := f.SentCallbacks(); len(s) != 2 || s[1].StatusCode != 0 || s[1].Err == "" {
		t.Errorf("SentCallbacks = %+v, want the failure recorded", s)
	}
}

// Without Config.Callbacks, or without a URL, no event goes out.
func TestDeliverCallbacksOff(t *testing.T) {
	t.Parallel()
	url, events := hook(t, time.Now)
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		callbacks bool
		setURL    bool
	}{{"callbacks off", false, true}, {"no URL", true, false}} {
		srv, c := server(t, geelarktest.Config{Callbacks: tt.callbacks, CallbackEvery: -1})
		if tt.setURL {
			if err := c.SetCallback(ctx, url); err != nil {
				t.Fatal(err)
			}
		}
		startIDs(t, c, "p1")
		if n, err := srv.DeliverCallbacks(ctx); n != 0 || err != nil {
			t.Errorf("%s: DeliverCallbacks = %d, %v; want 0", tt.name, n, err)
		}
		if tt.callbacks {
			// The event was dropped, not kept for a URL set later.
			if err := c.SetCallback(ctx, url); err != nil {
				t.Fatal(err)
			}
			if n, _ := srv.DeliverCallbacks(ctx); n != 0 {
				t.Errorf("%s: %d old events sent once a URL was set", tt.name, n)
			}
		}
	}
	select {
	case ev := <-events:
		t.Errorf("event %+v sent", ev)
	default:
	}
}

// With the loop on, a boot's end reaches the webhook without the test
// calling anything.
func TestCallbackLoop(t *testing.T) {
	t.Parallel()
	url, events := hook(t, time.Now)
	srv, c := server(t, geelarktest.Config{Callbacks: true, CallbackEvery: 5 * time.Millisecond})
	if err := c.SetCallback(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	startIDs(t, c, "p1")
	select {
	case ev := <-events:
		if ev.Type != geelark.CallbackStart || ev.ID != "p1" || !ev.Result {
			t.Errorf("event %+v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	srv.Close() // ends the loop; closing twice is harmless
}
