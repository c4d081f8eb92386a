package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// stopJSON is what `stop --json` prints.
type stopJSON struct {
	Request         string `json:"request"`
	Stopped         int    `json:"stopped"`
	CancelledStarts int    `json:"cancelled_starts"`
	Duplicates      int    `json:"duplicates"`
}

// wantStopped checks that `stop --json` printed exactly
// {"request":ID,"stopped":N,"cancelled_starts":M,"duplicates":K} with
// these counts, and returns the request.
func wantStopped(t *testing.T, stdout string, stopped, cancelledStarts, dups int) string {
	t.Helper()
	var v stopJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || !fleet.ValidRequestID(v.Request) || !strings.HasPrefix(stdout, `{"request":"`) ||
		v.Stopped != stopped || v.CancelledStarts != cancelledStarts || v.Duplicates != dups {
		t.Fatalf("stop --json printed %q (%v), want a request with %d stopped, %d cancelled starts, %d duplicates",
			stdout, err, stopped, cancelledStarts, dups)
	}
	return v.Request
}

// A stop cancels the phone's waiting start and says so.
func TestStopCancelsWaitingStarts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "--in", "1h", "5577001")
	wantStopped(t, h.mustRun("", "stop", "--json", "5577001", "5577002", "5577002").stdout, 2, 1, 1)
	c := h.status()
	if c["scheduled"] != 0 || c["stopping"] != 2 {
		t.Fatalf("status after stop: %v, want the start gone and 2 stopping", c)
	}
	before := time.Now()
	o := h.mustRun("", "stop", "--in", "2h", "5577001", "5577003")
	if !strings.Contains(o.stdout, "stopping 1 phone, 0 waiting starts cancelled, 1 duplicate") {
		t.Errorf("stop printed %q", o.stdout)
	}
	if p := h.record("5577003"); p.State != fleet.StateStopping || p.Due.Before(before.Add(2*time.Hour-time.Second)) {
		t.Errorf("after stop --in 2h: phone 5577003 is %s, due %v; want stopping in 2h", p.State, p.Due)
	}
	if o := h.mustRun("", "status"); !strings.Contains(o.stdout, "stopping   3") {
		t.Errorf("status printed %q, want a line stopping   3", o.stdout)
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
	if c := h.status(); c["stopping"] != 0 {
		t.Errorf("status %v: something was stopped", c)
	}
}

// A dead stop is listed with action stop, and requeued as a stop.
func TestDeadStopIsRequeuedAsAStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "stop", "5577009")
	h.die(fleet.ActionStop, 43005, "executing a task", "5577009")
	dead := h.deadList()
	if len(dead) != 1 || dead[0].ID != "5577009" || dead[0].Action != "stop" || dead[0].Code != 43005 {
		t.Fatalf("dead list --json: %+v, want one entry with action stop", dead)
	}
	o := h.mustRun("", "dead", "list")
	if lines := strings.Split(strings.TrimSpace(o.stdout), "\n"); len(lines) != 2 ||
		strings.Fields(lines[0])[1] != "ACTION" || strings.Fields(lines[1])[1] != "stop" {
		t.Fatalf("dead list printed %q, want an ACTION column saying stop", o.stdout)
	}
	h.mustRun("", "dead", "requeue", "5577009")
	if c := h.status(); c["stopping"] != 1 || c["queued"] != 0 || c["dead"] != 0 {
		t.Fatalf("status after requeue: %v, want one stopping, no start", c)
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
	if c := h.status(); c["stopping"] != 0 || c["queued"] != 1 {
		t.Fatalf("status %v: want the stop gone, the start queued", c)
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
	if c := h.status(); c["stopping"] != 2 || c["queued"] != 0 {
		t.Errorf("status %v: want 2 stopping, no start", c)
	}
}
