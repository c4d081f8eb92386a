package cli_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// workerEnv is the environment of a fast worker against fake in key mode.
func (h *harness) workerEnv(fake *geelarktest.Server) map[string]string {
	return h.with(map[string]string{
		"GEELARK_BASE_URL":      fake.URL,
		"GEELARK_APP_ID":        "test-app",
		"GEELARK_API_KEY":       secretKey,
		"PHONESTART_RETRY_BASE": "10ms",
		"PHONESTART_RETRY_MAX":  "50ms",
		"PHONESTART_BATCH_WAIT": "50ms",
		"PHONESTART_LOG_FORMAT": "json",
	})
}

func TestWorkerDeadLetterRequeueAndPurge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)

	dead := []string{"4200100001", "4200100002", "4200100003"}
	flaky := "4700200001"
	good := []string{"5577000001", "5577000002"}
	for _, id := range dead {
		fake.Script(id, geelarktest.Script{Code: 42001}) // every attempt
	}
	fake.Script(flaky, geelarktest.Script{Code: 47002, Times: 2})
	all := append(append(slices.Clone(dead), flaky), good...)
	began := time.Now()
	h.mustRun("", append([]string{"enqueue"}, all...)...)

	env := h.workerEnv(fake)
	env["PHONESTART_BOOT_POLL"] = "200ms" // the fake's phones are up at once
	w := h.startWorker(env)
	settled := func() bool {
		c := h.status()
		if total(c) != len(dead) || c["dead"] != len(dead) {
			return false
		}
		for _, p := range h.records(append([]string{flaky}, good...)...) {
			if p.State != fleet.StateReady {
				return false
			}
		}
		return true
	}
	eventually(t, 60*time.Second, settled, func() string {
		return fmt.Sprintf("status %v; worker log:\n%s", h.status(), w.stderr)
	})

	for _, id := range append([]string{flaky}, good...) {
		if n := fake.Starts(id); n != 1 {
			t.Errorf("phone %s started %d times, want 1", id, n)
		}
	}
	if n := fake.Attempts(flaky); n != 3 {
		t.Errorf("phone %s (47002 twice) tried %d times, want 3", flaky, n)
	}

	// dead list: the 42001 phones, each with its code, message, one attempt
	// and when it failed.
	list := h.deadList()
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
		lo, hi := began.Truncate(time.Second).Add(-time.Second), time.Now().Add(time.Second)
		if d.Action != fleet.ActionStart || d.Code != 42001 || d.Reason != fleet.ReasonGeeLark || d.Msg == "" || d.Attempts != 1 ||
			d.FailedAt.Before(lo) || d.FailedAt.After(hi) {
			t.Errorf("dead phone %+v: want a start, code 42001 from GeeLark, a message, 1 attempt, failed at within [%v, %v]", d, lo, hi)
		}
	}
	if slices.Sort(ids); !slices.Equal(ids, dead) {
		t.Fatalf("dead list --json has %v, want %v", ids, dead)
	}
	o := h.mustRun("", "dead", "list")
	for _, id := range dead {
		if !strings.Contains(o.stdout, id) || !strings.Contains(o.stdout, "42001") {
			t.Errorf("dead list printed %q, want %s with 42001", o.stdout, id)
		}
	}

	// Requeue or purge of a phone that is not dead is an error and changes
	// nothing, even beside one that is.
	for _, args := range [][]string{
		{"dead", "requeue", good[0]},
		{"dead", "requeue", dead[0], "5577999999"},
		{"dead", "purge", dead[1], good[1]},
	} {
		o := h.run("", args...)
		if o.code == 0 || !strings.Contains(o.stderr, "not dead-lettered") {
			t.Errorf("phonestart %q: want an error naming the phone that is not dead-lettered, got %v", args, o)
		}
	}
	if got := len(h.deadList()); got != len(dead) {
		t.Fatalf("after refused requeues and purges: %d dead phones, want %d", got, len(dead))
	}
	if c := h.status(); c["dead"] != len(dead) || total(c) != len(dead) {
		t.Fatalf("after refused requeues and purges: status %v", c)
	}

	// Requeue one that now starts.
	fake.Script(dead[0], geelarktest.Script{Code: 0})
	o = h.mustRun("", "dead", "requeue", dead[0])
	if !strings.Contains(o.stdout, "requeued 1 phone") {
		t.Fatalf("dead requeue printed %q", o.stdout)
	}
	eventually(t, 60*time.Second, func() bool {
		return fake.Starts(dead[0]) == 1 && h.state(dead[0]) == fleet.StateReady
	}, func() string {
		return fmt.Sprintf("requeued phone %s: %d starts, %s", dead[0], fake.Starts(dead[0]), h.state(dead[0]))
	})
	for _, d := range h.deadList() {
		if d.ID == dead[0] {
			t.Fatalf("requeued and started phone %s is still dead-lettered: %+v", dead[0], d)
		}
	}
	if c := h.status(); c["dead"] != len(dead)-1 {
		t.Fatalf("status after requeue: %v, want %d dead", c, len(dead)-1)
	}

	// Purge the rest.
	o = h.mustRun("", "dead", "purge", "--all", "--yes")
	if !strings.Contains(o.stdout, fmt.Sprintf("purged %d phones", len(dead)-1)) {
		t.Fatalf("dead purge --all printed %q", o.stdout)
	}
	if list := h.deadList(); len(list) != 0 {
		t.Fatalf("dead list after purge --all: %+v", list)
	}
	if o := h.mustRun("", "dead", "list", "--json"); strings.TrimSpace(o.stdout) != "[]" {
		t.Fatalf("dead list --json of none printed %q, want []", o.stdout)
	}
	if c := h.status(); c["dead"] != 0 {
		t.Fatalf("status after purge --all: %v", c)
	}

	if code := w.stop(); code != 0 {
		t.Fatalf("worker exited %d when its context was cancelled; log:\n%s", code, w.stderr)
	}
	calls := fake.Calls()
	if len(calls) < 3 {
		t.Errorf("the fake saw %d calls; the phones needed at least 3", len(calls))
	}
	assertCallLog(t, w.stderr.String(), calls)
	assertNoSecret(t, w.stdout.String()+w.stderr.String())
}

// assertCallLog checks the worker's JSON log has one line per start call the
// fake saw, with its trace ID, how many phones it carried and its latency.
// The IDs themselves are logged only at debug level.
func assertCallLog(t *testing.T, log string, calls []geelarktest.Call) {
	t.Helper()
	var logged []string
	for _, line := range logLines(t, log) {
		if line["msg"] != "start call" && line["msg"] != "start call refused" && !strings.HasPrefix(fmt.Sprint(line["msg"]), "start call outcome unknown") {
			continue
		}
		s, _ := line["trace_id"].(string)
		n, _ := line["n"].(float64)
		// A duration as Go writes it, as in the console format: "81ms".
		latency, _ := line["latency"].(string)
		_, err := time.ParseDuration(latency)
		if s == "" || n == 0 || err != nil {
			t.Errorf("call log line %v: want trace_id, n and latency", line)
		}
		if _, ok := line["ids"]; ok {
			t.Errorf("call log line %v lists the IDs at info level", line)
		}
		logged = append(logged, s)
	}
	var sent []string
	for _, c := range calls {
		if c.Path == geelark.StartPath { // not the start-up check's list call
			sent = append(sent, c.TraceID)
		}
	}
	slices.Sort(logged)
	slices.Sort(sent)
	if !slices.Equal(logged, sent) {
		t.Errorf("the log has call lines with trace IDs %v; the fake saw calls with %v", logged, sent)
	}
}

// assertNoSecret checks that output shows neither credential.
func assertNoSecret(t *testing.T, output string) {
	t.Helper()
	for _, secret := range []string{secretKey, secretToken} {
		if strings.Contains(output, secret) {
			t.Errorf("output contains the credential %q", secret)
		}
	}
}
