package cli_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/cli"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/logging/logtest"
)

// A scripted worker run, as an operator meets it: full calls, dead and
// retried phones, Redis going away and coming back, an account error,
// SIGTERM. Every line of its log must be one JSON object with one key per
// name, and no info line may be too long to read.
func TestWorkerLogIsOneJSONObjectALineWithoutDuplicateKeys(t *testing.T) {
	t.Parallel()
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
		return c["dead"] == 3 && c["queued"]+c["retry"]+c["sending"] == 0
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
	for _, want := range []string{`"msg":"connecting"`, `"msg":"admin server listening"`, `"msg":"API budget above`, `"code":40003`,
		`"batch_wait":"50ms"`} { // a duration as the console writes it, not 0.05
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

// JSON and console logs write a duration alike, as Go writes it: a reader
// of either sees "500ms", never a bare 0.5 of unstated unit.
func TestJSONAndConsoleLogsWriteDurationsAlike(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "console"} {
		var b bytes.Buffer
		log, err := cli.NewLogger(&b, format)
		if err != nil {
			t.Fatal(err)
		}
		log.With(zap.Duration("retry_in", 90*time.Second)).Info("worker started", zap.Duration("batch_wait", 500*time.Millisecond))
		log.Sugar().Infow("asynq line", "latency", 1500*time.Millisecond)
		if err := log.Sync(); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		sep := ":"
		if format == "console" {
			sep = ": "
		}
		for _, want := range []string{`"batch_wait"` + sep + `"500ms"`, `"retry_in"` + sep + `"1m30s"`, `"latency"` + sep + `"1.5s"`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s log does not have %s:\n%s", format, want, out)
			}
		}
		if format == "json" {
			for _, line := range logLines(t, out) {
				if _, ok := line["msg"]; !ok {
					t.Errorf("json log line without msg: %v", line)
				}
			}
		}
	}
}
