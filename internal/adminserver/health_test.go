package adminserver_test

import (
	"github.com/phonestart/phonestart/internal/adminserver/admintest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

func TestHealthzAnswersWhileTheProcessIsUp(t *testing.T) {
	e := admintest.New(t)
	if code, body := e.Get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if e.R.Mini != nil {
		e.R.Mini.Close() // Redis has nothing to do with liveness
		if code, body := e.Get("/healthz"); code != 200 {
			t.Fatalf("/healthz without Redis: %d %q", code, body)
		}
	}
}

func TestReadyzFollowsRedis(t *testing.T) {
	e := admintest.New(t)
	if e.R.Mini == nil {
		t.Skip("needs the embedded Redis, which the test can stop and restart (REDIS_URL is set)")
	}
	if code, body := e.Get("/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up: %d %q", code, body)
	}
	e.R.Mini.Close()
	took, body := waitReadyz(e, 503, 5*time.Second)
	t.Logf("unready %v after Redis went away: %q", took.Round(time.Millisecond), strings.TrimSpace(body))
	if !strings.Contains(body, "Redis") {
		t.Errorf("/readyz reason %q does not name Redis", body)
	}
	if err := e.R.Mini.Restart(); err != nil {
		t.Fatal(err)
	}
	took, _ = waitReadyz(e, 200, 5*time.Second)
	t.Logf("ready %v after Redis came back", took.Round(time.Millisecond))
}

func TestReadyzIsUnreadyWhileAnAccountErrorPausesTheFleet(t *testing.T) {
	e := admintest.New(t)
	ids := admintest.PhoneIDs("broke", 5)
	e.Fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 41001}) // balance not enough
	if _, err := e.Enq.Start(t.Context(), enqueue.Request{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	e.StartWorker(nil)
	_, body := waitReadyz(e, 503, 10*time.Second)
	if !strings.Contains(body, "41001") || !strings.Contains(body, "account-wide") {
		t.Fatalf("/readyz reason %q does not name the account-wide code", body)
	}
	if strings.Contains(body, geelarktest.DefaultAPIKey) || strings.Contains(body, geelarktest.DefaultAppID) {
		t.Fatalf("/readyz shows a credential: %q", body)
	}
	// The pause gauges show the pause as the worker last read it: the
	// worker that set it reads it back right after writing it, which
	// /readyz (reading Redis) may beat by a moment.
	var code int
	var metrics string
	for began := time.Now(); time.Since(began) < 5*time.Second; time.Sleep(50 * time.Millisecond) {
		code, metrics = e.Get("/metrics")
		if code == 200 && strings.Contains(metrics, "\nphonestart_paused 1\n") {
			break
		}
	}
	if code != 200 || !strings.Contains(metrics, "\nphonestart_paused 1\n") ||
		!strings.Contains(metrics, "\nphonestart_pause_code 41001\n") {
		t.Fatalf("/metrics during the pause: %d\n%s", code, grep(metrics, "phonestart_pause"))
	}
}

// A rate-limit pause lifts by itself: the worker stays ready while it is
// in force. An account-wide one needs a person: the worker is unready.
func TestReadyzStaysReadyDuringARateLimitPause(t *testing.T) {
	for _, tc := range []struct {
		code  int
		ready bool
	}{
		{geelark.CodeTooManyRequests, true},
		{geelark.CodeHourlyLimitLocked, true},
		{41001, false}, // balance not enough
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			e := admintest.New(t)
			store, err := fleet.NewStore(e.RDB, fleet.StoreConfig{})
			if err != nil {
				t.Fatal(err)
			}
			pauses := store.Pauses(nil)
			if _, _, err := pauses.Set(t.Context(), tc.code, geelark.Lookup(tc.code).Meaning, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			code, body := e.Get("/readyz")
			p, on, err := pauses.Fresh(t.Context())
			if err != nil || !on || p.Code != tc.code {
				t.Fatalf("pause %+v in force %v (%v): the test did not pause the fleet", p, on, err)
			}
			if got := code == 200; got != tc.ready {
				t.Fatalf("/readyz during a %d pause: %d %q, want ready %v", tc.code, code, body, tc.ready)
			}
			if !tc.ready && !strings.Contains(body, strconv.Itoa(tc.code)) {
				t.Fatalf("/readyz reason %q does not name the code", body)
			}
			if _, _, err := pauses.Lift(t.Context(), "", "test"); err != nil {
				t.Fatal(err)
			}
			if code, body := e.Get("/readyz"); code != 200 {
				t.Fatalf("/readyz once the pause was lifted: %d %q", code, body)
			}
		})
	}
}

// waitReadyz polls /readyz until it answers code, and returns how long that
// took and the body.
func waitReadyz(e *admintest.Env, code int, timeout time.Duration) (time.Duration, string) {
	e.T.Helper()
	began := time.Now()
	var last string
	for time.Since(began) < timeout {
		got, body := e.Get("/readyz")
		if got == code {
			return time.Since(began), body
		}
		last = body
		time.Sleep(50 * time.Millisecond)
	}
	e.T.Fatalf("/readyz did not answer %d within %v; last: %q", code, timeout, last)
	return 0, ""
}
