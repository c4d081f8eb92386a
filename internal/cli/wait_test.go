package cli_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// enqueued waits until the phones' enqueued events are recorded: the
// command's request is in.
func (h *harness) enqueued(ids ...string) {
	h.t.Helper()
	j := fleet.NewJournal(h.r.Client(h.t), 0)
	eventually(h.t, 30*time.Second, func() bool {
		st, err := j.States(context.Background(), ids...)
		if err != nil {
			return false
		}
		for _, s := range st {
			if s.State != fleet.StateQueued {
				return false
			}
		}
		return true
	}, func() string { return "the phones were not enqueued" })
}

// enqueue --wait over ready, dead and never-finishing phones, a phone
// already pending (a duplicate) and one given twice prints each set and
// exits 1.
func TestEnqueueWaitReportsEachPhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("", "enqueue", "5577005") // someone else's, still pending
	b := h.start(h.env, "enqueue", "--wait", "--json", "--wait-timeout", "2s",
		"5577001", "5577002", "5577003", "5577004", "5577005", "5577001")
	h.enqueued("5577001", "5577002", "5577003", "5577004")
	h.journal(fleet.Event{Phone: "5577001", Event: fleet.EventStarted, Attempt: 1},
		fleet.Event{Phone: "5577001", Event: fleet.EventReady, Attempt: 1},
		fleet.Event{Phone: "5577002", Event: fleet.EventDead, Attempt: 1, Code: 42001, Reason: "geelark", Msg: "cloud phone does not exist"},
		fleet.Event{Phone: "5577003", Event: fleet.EventStarted, Attempt: 1},
		fleet.Event{Phone: "5577005", Event: fleet.EventReady, Attempt: 1})
	code := b.wait(t)
	want := `{"enqueued":4,"duplicates":2,"ready":["5577001","5577005"],` +
		`"dead":[{"id":"5577002","code":42001,"reason":"geelark","msg":"cloud phone does not exist"}],` +
		`"unfinished":["5577003","5577004"]}` + "\n"
	if got := b.stdout.String(); got != want {
		t.Fatalf("enqueue --wait --json printed\n%s\nwant\n%s", got, want)
	}
	if code != 1 {
		t.Fatalf("exit %d with phones dead and unfinished, want 1; stderr %q", code, b.stderr)
	}
}

// With boot confirmation off (PHONESTART_BOOT_TIMEOUT=0) a started phone
// is done; all done and ready exits 0.
func TestEnqueueWaitAllReadyExitsZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.start(h.with(map[string]string{"PHONESTART_BOOT_TIMEOUT": "0"}), "enqueue", "--wait", "5577001", "5577002")
	h.enqueued("5577001", "5577002")
	h.journal(fleet.Event{Phone: "5577001", Event: fleet.EventStarted, Attempt: 1},
		fleet.Event{Phone: "5577002", Event: fleet.EventStarted, Attempt: 2})
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit %d, want 0; stdout %q stderr %q", code, b.stdout, b.stderr)
	}
	if out := b.stdout.String(); !strings.Contains(out, "ready 2, dead 0, unfinished 0") {
		t.Errorf("enqueue --wait printed %q", out)
	}
}

// SIGINT ends the wait, not the phones: what is known is printed, exit 1,
// and the unfinished phone is still queued.
func TestEnqueueWaitSIGINT(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := startProcess(t, map[string]string{"REDIS_URL": h.r.URL}, "enqueue", "--wait", "--json", "5577001", "5577002")
	h.enqueued("5577001", "5577002")
	h.journal(fleet.Event{Phone: "5577001", Event: fleet.EventReady, Attempt: 1})
	code, _ := p.signal(t, syscall.SIGINT, 30*time.Second)
	want := `{"enqueued":2,"duplicates":0,"ready":["5577001"],"dead":[],"unfinished":["5577002"]}` + "\n"
	if got := p.stdout.String(); got != want {
		t.Fatalf("after SIGINT enqueue --wait printed %q, want %q; stderr %q", got, want, p.stderr)
	}
	if code != 1 {
		t.Fatalf("exit %d after SIGINT, want 1", code)
	}
	if st := h.taskState("5577002"); st != "pending" {
		t.Errorf("phone 5577002 is %s after the wait was interrupted, want still pending", st)
	}
}

func TestEnqueueWaitFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if o := h.run("", "enqueue", "--wait-timeout", "1m", "5577001"); o.code != 2 {
		t.Errorf("--wait-timeout without --wait: %v", o)
	}
	if o := h.run("", "enqueue", "--wait", "--wait-timeout", "0s", "5577001"); o.code != 2 {
		t.Errorf("--wait-timeout 0s: %v", o)
	}
	h.assertNoTasks()
}
