package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/fleet"
)

func TestCancelRemovesWaitingStartsOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	active := []string{"active01", "active02"}
	retry := []string{"retry01", "retry02", "retry03"}
	h.mustRun("", append([]string{"enqueue"}, append(active, retry...)...)...)
	// A worker's start call of the first is out; GeeLark refused the
	// others once, and they wait an hour to be tried again.
	h.claim(fleet.ActionStart, active...)
	h.retry(fleet.ActionStart, 47002, "out of resources", retry...)
	h.mustRun("", "enqueue", "pend01", "pend02", "pend03", "pend04")
	h.mustRun("", "enqueue", "--in", "2h", "sched01", "sched02")
	if c := h.status(); c["queued"] != 4 || c["scheduled"] != 2 || c["retry"] != 3 || c["sending"] != 2 {
		t.Fatalf("status before cancel: %v", c)
	}

	// Arguments: a queued, a scheduled, a retrying, a sending phone, one
	// never enqueued and one given twice.
	o := h.mustRun("", "cancel", "--json", "pend01", "sched01", "retry01", "active01", "nosuch01", "pend01")
	if o.stdout != `{"cancelled":3,"not_found":1,"active":1}`+"\n" {
		t.Fatalf("cancel --json printed %q", o.stdout)
	}
	for id, want := range map[string]string{
		"pend01": "cancelled", "sched01": "cancelled", "retry01": "cancelled", "active01": "sending", "nosuch01": "none",
		"pend02": "queued", "sched02": "scheduled", "retry02": "retry",
	} {
		if s := h.state(id); s != want {
			t.Errorf("phone %s is %s after cancel, want %s", id, s, want)
		}
	}
	// A cancelled phone's task is gone from the queue: no worker spends a
	// look on it.
	for _, id := range []string{"pend01", "sched01", "retry01"} {
		if _, err := h.insp.GetTaskInfo(fleet.MustSpace("").StartQueue(), h.taskID(id)); err == nil {
			t.Errorf("phone %s was cancelled, but its task is still queued", id)
		}
	}
	if o := h.mustRun("", "phone", "sched01"); !strings.Contains(o.stdout, "sched01: cancelled since") {
		t.Errorf("phone sched01 printed %q, want it cancelled", o.stdout)
	}

	// A file, as exported, and the sentence form.
	p := filepath.Join(t.TempDir(), "ids.txt")
	content := "\uFEFF# the rest\r\npend02\r\n\r\npend03  # x\r\nsched02\r\nretry02\r\nactive02\r\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	o = h.mustRun("", "cancel", "--file", p)
	if !strings.Contains(o.stdout, "cancelled 4 phones") || !strings.Contains(o.stdout, "in a call now (or its answer being checked), not cancelled: active02") {
		t.Fatalf("cancel --file printed %q", o.stdout)
	}
	if c := h.status(); c["queued"] != 1 || c["scheduled"] != 0 || c["retry"] != 1 || c["sending"] != 2 {
		t.Fatalf("status after cancel: %v, want pend04 queued, retry03 retrying, 2 sending", c)
	}

	// Standard input.
	o = h.mustRun("pend04\nretry03\n", "cancel", "--json", "--file", "-")
	if o.stdout != `{"cancelled":2,"not_found":0,"active":0}`+"\n" {
		t.Fatalf("cancel --file - printed %q", o.stdout)
	}
}

// A waiting stop is called off as a waiting start is.
func TestCancelRemovesWaitingStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "stop", "--in", "1h", "5577001")
	h.mustRun("", "stop", "5577002")
	if c := h.status(); c["stopping"] != 2 {
		t.Fatalf("status after the stops: %v, want 2 stopping", c)
	}
	if o := h.mustRun("", "cancel", "--json", "5577001", "5577002"); o.stdout != `{"cancelled":2,"not_found":0,"active":0}`+"\n" {
		t.Fatalf("cancel --json of two waiting stops printed %q", o.stdout)
	}
	if c := h.status(); total(c) != 0 {
		t.Fatalf("status after cancel: %v, want nothing waiting", c)
	}
	for _, id := range []string{"5577001", "5577002"} {
		if s := h.state(id); s != fleet.StateCancelled {
			t.Errorf("phone %s is %s after cancel, want cancelled", id, s)
		}
	}
}

func TestCancelRefusesBadInputAndCancelsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577001", "5577002")
	bad := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(bad, []byte("5577001\n# c\n55 77002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cancel"}, "no phone IDs"},
		{[]string{"cancel", "5577001", "bad id"}, "whitespace"},
		{[]string{"cancel", "--file", bad}, "line 3"},
		{[]string{"cancel", "--file", bad, "5577001"}, "not both"},
	} {
		o := h.run("", tc.args...)
		if o.code != 2 || !strings.Contains(o.stderr, tc.want) || !strings.Contains(o.stderr, "nothing was cancelled") &&
			tc.want != "not both" && tc.want != "no phone IDs" {
			t.Errorf("phonestart %q: want exit 2 naming %q; got %v", tc.args, tc.want, o)
		}
	}
	if c := h.status(); c["queued"] != 2 {
		t.Fatalf("status %v: a refused cancel removed phones", c)
	}
}
