package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/logging/logtest"
)

// A scripted worker run, as an operator meets it: full calls, dead and
// retried phones, Redis going away and coming back, an account error,
// SIGTERM. Every line of its log must be one JSON object with one key per
// name, and no info line may be too long to read.
func TestWorkerLogIsOneJSONObjectALineWithoutDuplicateKeys(t *testing.T) {
	h := newHarness(t)
	fake := geelarktest.NewServer(geelarktest.Config{AppID: "test-app", APIKey: secretKey})
	t.Cleanup(fake.Close)
	ids := phoneIDs("5577", 250)
	for _, id := range ids[:3] {
		fake.Script(id, geelarktest.Script{Code: 42001})
	}
	fake.Script(ids[3], geelarktest.Script{Code: 47002, Times: 1})
	h.mustRun(strings.Join(ids, "\n"), "enqueue", "--file", "-")

	env := h.workerEnv(fake)
	env["PHONESTART_ADMIN_ADDR"] = "127.0.0.1:0"
	env["PHONESTART_RATE_PER_MINUTE"] = "1000" // above GeeLark's: a warning
	w := h.startWorker(env)
	eventually(t, 30*time.Second, func() bool {
		c := h.status()
		return c["dead"] == 3 && c["pending"]+c["retry"]+c["active"] == 0
	}, func() string { return fmt.Sprintf("status %v; log:\n%s", h.status(), w.stderr) })

	if h.r.Mini != nil {
		// Redis away for a while: go-redis's own lines must come through
		// the same JSON log.
		h.r.Mini.Close()
		eventually(t, 20*time.Second, func() bool { return strings.Contains(w.stderr.String(), "connection refused") },
			func() string { return "no sign of the outage in the log:\n" + w.stderr.String() })
		if err := h.r.Mini.Restart(); err != nil {
			t.Fatal(err)
		}
	}

	fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40003})
	h.mustRun("", "enqueue", "5577990001", "5577990002")
	eventually(t, 30*time.Second, func() bool { return strings.Contains(w.stderr.String(), `"code":40003`) },
		func() string { return "no 40003 in the log:\n" + w.stderr.String() })
	if code := w.stop(); code != 0 {
		t.Fatalf("worker exited %d:\n%s", code, w.stderr)
	}

	log := w.stderr.String()
	lines := strings.Count(log, "\n")
	for _, p := range logtest.Check(log) {
		t.Errorf("%v", p)
	}
	for _, want := range []string{`"msg":"connecting"`, `"msg":"admin server listening"`, `"msg":"API budget above`, `"code":40003`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %s: the run did not go as scripted", want)
		}
	}
	// asynq's "Retry exhausted" line is wrong for a phone dead on its
	// first attempt and has no code: phonestart logs its own.
	if n := strings.Count(log, "Retry exhausted for task"); n > 0 {
		t.Errorf("%d asynq 'Retry exhausted' lines in the log", n)
	}
	if !strings.Contains(log, `"msg":"phone dead-lettered"`) {
		t.Error(`no "phone dead-lettered" line: the run dead-lettered phones`)
	}
	t.Logf("%d log lines checked", lines)
}
