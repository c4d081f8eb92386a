package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// A stop cancels the phone's waiting start and says so.
func TestStopCancelsWaitingStarts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "--in", "1h", "5577001")
	o := h.mustRun("", "stop", "--json", "5577001", "5577002", "5577002")
	if got := strings.TrimSpace(o.stdout); got != `{"stopped":2,"cancelled_starts":1,"duplicates":1}` {
		t.Fatalf("stop --json printed %s", got)
	}
	c := h.status()
	if c["scheduled"] != 0 || c["stop_pending"] != 2 {
		t.Fatalf("status after stop: %v, want the start gone and 2 stops pending", c)
	}
	o = h.mustRun("", "stop", "--in", "2h", "5577001", "5577003")
	if !strings.Contains(o.stdout, "stopping 1 phone, 0 waiting starts cancelled, 1 duplicate") {
		t.Errorf("stop printed %q", o.stdout)
	}
	if c := h.status(); c["stop_scheduled"] != 1 {
		t.Errorf("status after stop --in: %v, want 1 stop scheduled", c)
	}
	if o := h.mustRun("", "status"); !strings.Contains(o.stdout, "stopping   3 (pending 2, scheduled 1, retry 0, active 0)") {
		t.Errorf("status printed %q", o.stdout)
	}
}

// Bad input stops nothing.
func TestStopRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, args := range [][]string{
		{"stop", "5577001", "bad id"},
		{"stop"},
		{"stop", "--at", "2020-01-01T00:00:00Z", "5577001"},
		{"stop", "--at", "tomorrow", "5577001"},
		{"stop", "--in", "1h", "--at", "2030-01-01T00:00:00Z", "5577001"},
	} {
		if o := h.run("", args...); o.code != 2 || o.stderr == "" {
			t.Errorf("%q: %v, want exit 2 with a message", args, o)
		}
	}
	if c := h.status(); c["stop_pending"]+c["stop_scheduled"] != 0 {
		t.Errorf("status %v: something was stopped", c)
	}
}

// A dead stop is listed with action stop, and requeued as a stop.
func TestDeadStopIsRequeuedAsAStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ledger := fleet.NewLedger(h.r.Client(t), 0)
	ctx := context.Background()
	if err := ledger.Add(ctx, fleet.DeadPhone{ID: "5577009", Action: fleet.ActionStop, Code: 43005, Reason: fleet.ReasonGeeLark,
		Msg: "executing a task", Attempts: 10, FailedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var dead []map[string]any
	if err := json.Unmarshal([]byte(h.mustRun("", "dead", "list", "--json").stdout), &dead); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0]["action"] != "stop" {
		t.Fatalf("dead list --json: %v, want one entry with action stop", dead)
	}
	h.mustRun("", "dead", "requeue", "5577009")
	if c := h.status(); c["stop_pending"] != 1 || c["pending"] != 0 || c["dead"] != 0 {
		t.Fatalf("status after requeue: %v, want one stop pending, no start", c)
	}
}

// A start cancels the waiting stop, and a stop schedule stops its phones.
func TestStartCancelsStopAndStopScheduleRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "stop", "--in", "1h", "5577001")
	if o := h.mustRun("", "enqueue", "5577001"); !strings.Contains(o.stdout, "cancelled the waiting stops of 1 phone") {
		t.Errorf("enqueue printed %q", o.stdout)
	}
	if c := h.status(); c["stop_scheduled"] != 0 || c["pending"] != 1 {
		t.Fatalf("status %v: want the stop gone, the start pending", c)
	}
	file := filepath.Join(t.TempDir(), "schedules.yaml")
	yaml := "schedules:\n  - name: evening\n    action: stop\n    cron: \"0 19 * * *\"\n    ids: [\"5577001\", \"5577002\"]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if o := h.mustRun("", "schedule", "list", "--file", file); !strings.Contains(o.stdout, "evening  (0 19 * * *, UTC)  stop") {
		t.Errorf("schedule list printed %q", o.stdout)
	}
	o := h.mustRun("", "schedule", "run", "evening", "--file", file)
	if !strings.Contains(o.stdout, "schedule evening: selected 2, stopping 2, 1 waiting start cancelled, 0 duplicates") {
		t.Errorf("schedule run printed %q", o.stdout)
	}
	if c := h.status(); c["stop_pending"] != 2 || c["pending"] != 0 {
		t.Errorf("status %v: want 2 stops pending, no start", c)
	}
}
