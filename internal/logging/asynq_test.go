package logging_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/logging"
)

func TestAsynqLinesGoThroughZapWithoutRetryExhausted(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	al := logging.Asynq(log)
	al.Info("Starting processing")
	al.Warn("Retry exhausted for task id=5577001")
	al.Warn("Failed to write server state data: UNKNOWN: redis command error")
	al.Error("Could not dequeue task")
	out := buf.String()
	if strings.Contains(out, "Retry exhausted") {
		t.Errorf("asynq's retry-exhausted warning was logged:\n%s", out)
	}
	for _, want := range []string{`"level":"info","ts":`, "Starting processing", `"level":"warn"`, "Failed to write server state",
		`"level":"error"`, "Could not dequeue", `"logger":"asynq"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("%d lines, want 3:\n%s", n, out)
	}
}
