package adminhttp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestHealthzAnswersWhileTheProcessIsUp(t *testing.T) {
	e := newEnv(t)
	if code, body := e.get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if e.r.Mini != nil {
		e.r.Mini.Close() // Redis has nothing to do with liveness
		if code, body := e.get("/healthz"); code != 200 {
			t.Fatalf("/healthz without Redis: %d %q", code, body)
		}
	}
}

func TestReadyzFollowsRedis(t *testing.T) {
	e := newEnv(t)
	if e.r.Mini == nil {
		t.Skip("needs the embedded Redis, which the test can stop and restart (REDIS_URL is set)")
	}
	if code, body := e.get("/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up: %d %q", code, body)
	}
	e.r.Mini.Close()
	took, body := e.waitReadyz(503, 5*time.Second)
	t.Logf("unready %v after Redis went away: %q", took.Round(time.Millisecond), strings.TrimSpace(body))
	if !strings.Contains(body, "Redis") {
		t.Errorf("/readyz reason %q does not name Redis", body)
	}
	if err := e.r.Mini.Restart(); err != nil {
		t.Fatal(err)
	}
	took, _ = e.waitReadyz(200, 5*time.Second)
	t.Logf("ready %v after Redis came back", took.Round(time.Millisecond))
}

func TestReadyzIsUnreadyWhileAnAccountErrorPausesTheFleet(t *testing.T) {
	e := newEnv(t)
	ids := phoneIDs("broke", 5)
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 41001}) // balance not enough
	if _, err := e.enq.Start(t.Context(), enqueue.Request{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	e.startWorker(nil)
	_, body := e.waitReadyz(503, 10*time.Second)
	if !strings.Contains(body, "41001") || !strings.Contains(body, "account-wide") {
		t.Fatalf("/readyz reason %q does not name the account-wide code", body)
	}
	if strings.Contains(body, geelarktest.DefaultAPIKey) || strings.Contains(body, geelarktest.DefaultAppID) {
		t.Fatalf("/readyz shows a credential: %q", body)
	}
	if code, metrics := e.get("/metrics"); code != 200 || !strings.Contains(metrics, "\nphonestart_paused 1\n") ||
		!strings.Contains(metrics, "\nphonestart_pause_code 41001\n") {
		t.Fatalf("/metrics during the pause: %d\n%s", code, grep(metrics, "phonestart_pause"))
	}
}

// A rate-limit pause lifts by itself: the worker stays ready.
func TestReadyzStaysReadyDuringARateLimitPause(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40007})
	if _, err := e.enq.Start(t.Context(), enqueue.Request{IDs: phoneIDs("busy", 3)}); err != nil {
		t.Fatal(err)
	}
	e.startWorker(nil)
	deadline := time.Now().Add(10 * time.Second)
	for len(e.fake.Calls()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no call made")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the pause is written after the reply
	if code, body := e.get("/readyz"); code != 200 {
		t.Fatalf("/readyz during a 40007 pause: %d %q", code, body)
	}
}

// waitReadyz polls /readyz until it answers code, and returns how long that
// took and the body.
func (e *env) waitReadyz(code int, timeout time.Duration) (time.Duration, string) {
	e.t.Helper()
	began := time.Now()
	var last string
	for time.Since(began) < timeout {
		got, body := e.get("/readyz")
		if got == code {
			return time.Since(began), body
		}
		last = body
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("/readyz did not answer %d within %v; last: %q", code, timeout, last)
	return 0, ""
}
