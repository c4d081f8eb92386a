package cli_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// A worker that loses Redis for a few seconds says so once, and once when
// Redis is back with how long it was away; asynq's failed polls, one a
// second, come out once per kind.
func TestWorkerLogsARedisOutageOnceAndItsEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if h.r.Mini == nil {
		t.Skip("needs the embedded Redis, which the test can stop and restart (REDIS_URL is set)")
	}
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	env := h.workerEnv(fake)
	env["PHONESTART_ADMIN_ADDR"] = "off"
	w := h.startWorker(env)
	eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), `"msg":"worker started"`) },
		func() string { return "the worker did not start:\n" + w.stderr.String() })
	started := len(w.stderr.String())

	addr := h.r.Mini.Addr()
	h.r.Mini.Close()
	down := "Redis at " + addr + " unreachable: "
	eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), down) },
		func() string { return "no line says Redis is unreachable:\n" + w.stderr.String()[started:] })
	// Redis stays away a few seconds: asynq polls every second meanwhile.
	time.Sleep(4 * time.Second)
	if err := h.r.Mini.Restart(); err != nil {
		t.Fatal(err)
	}
	back := "Redis at " + addr + " reachable again after "
	eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), back) },
		func() string { return "no line says Redis is back:\n" + w.stderr.String()[started:] })
	if code := w.stop(); code != 0 {
		t.Fatalf("worker exited %d:\n%s", code, w.stderr)
	}

	log := w.stderr.String()[started:]
	t.Logf("the log from the outage on:\n%s", log)
	var downs, backs int
	asynqKinds := map[string]int{}
	digits := regexp.MustCompile(`[0-9]+`)
	for _, l := range logLines(t, log) {
		msg, _ := l["msg"].(string)
		switch {
		case strings.HasPrefix(msg, down):
			downs++
			if l["level"] != "warn" {
				t.Errorf("outage line %v is not a warning", l)
			}
		case strings.HasPrefix(msg, back):
			backs++
			if away, err := time.ParseDuration(fmt.Sprint(l["away"])); err != nil || away < 4*time.Second {
				t.Errorf("line %v: Redis was away 4s at least", l)
			}
		case l["logger"] == "asynq":
			asynqKinds[digits.ReplaceAllString(msg, "#")]++
		}
	}
	if downs != 1 || backs != 1 {
		t.Errorf("%d lines say Redis is unreachable and %d that it is back, want 1 and 1:\n%s", downs, backs, log)
	}
	for kind, n := range asynqKinds {
		if n > 1 {
			t.Errorf("asynq logged %q %d times in an outage shorter than 10s, want once:\n%s", kind, n, log)
		}
	}
}
