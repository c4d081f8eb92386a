package cli_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/tasks"
)

// holdPhones runs an asynq server on the test's Redis that keeps phones
// "active..." in hand until the test ends and fails phones "retry..." so
// that they wait an hour to be retried. It returns once they are so.
func (h *harness) holdPhones(active, retry []string) {
	h.t.Helper()
	release := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(h.r.Client(h.t), asynq.Config{
		Queues:         map[string]int{tasks.Queue: 1},
		Concurrency:    len(active) + len(retry) + 1,
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Hour },
		LogLevel:       asynq.FatalLevel,
	})
	err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		p, err := tasks.ParseStartPhone(task.Payload())
		if err != nil {
			return err
		}
		if strings.HasPrefix(p.ID, "retry") {
			return errors.New("out of resources")
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errors.New("released")
	}))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { close(release); srv.Shutdown() })
	eventually(h.t, 20*time.Second, func() bool {
		c := h.status()
		return c["active"] == len(active) && c["retry"] == len(retry)
	}, func() string { return "phones not active and retrying" })
	// Keep later phones from being taken.
	srv.Stop()
}

func TestCancelRemovesWaitingStartsOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	active := []string{"active01", "active02"}
	retry := []string{"retry01", "retry02", "retry03"}
	h.mustRun("", append([]string{"enqueue"}, append(active, retry...)...)...)
	h.holdPhones(active, retry)
	h.mustRun("", "enqueue", "pend01", "pend02", "pend03", "pend04")
	h.mustRun("", "enqueue", "--in", "2h", "sched01", "sched02")
	if c := h.status(); c["pending"] != 4 || c["scheduled"] != 2 || c["retry"] != 3 || c["active"] != 2 {
		t.Fatalf("status before cancel: %v", c)
	}

	// Arguments: a pending, a scheduled, a retrying, an active phone, one
	// never enqueued and one given twice.
	o := h.mustRun("", "cancel", "--json", "pend01", "sched01", "retry01", "active01", "nosuch01", "pend01")
	if o.stdout != `{"cancelled":3,"not_found":1,"active":1}`+"\n" {
		t.Fatalf("cancel --json printed %q", o.stdout)
	}
	for id, want := range map[string]string{
		"pend01": "missing", "sched01": "missing", "retry01": "missing", "active01": "active",
		"pend02": "pending", "sched02": "scheduled", "retry02": "retry",
	} {
		if s := h.taskState(id); s != want {
			t.Errorf("phone %s is %s after cancel, want %s", id, s, want)
		}
	}

	// A file, as exported, and the sentence form.
	p := filepath.Join(t.TempDir(), "ids.txt")
	content := "\uFEFF# the rest\r\npend02\r\n\r\npend03  # x\r\nsched02\r\nretry02\r\nactive02\r\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	o = h.mustRun("", "cancel", "--file", p)
	if !strings.Contains(o.stdout, "cancelled 4 phones") || !strings.Contains(o.stdout, "being started now, not cancelled: active02") {
		t.Fatalf("cancel --file printed %q", o.stdout)
	}
	if c := h.status(); c["pending"] != 1 || c["scheduled"] != 0 || c["retry"] != 1 || c["active"] != 2 {
		t.Fatalf("status after cancel: %v, want pend04 pending, retry03 retrying, 2 active", c)
	}

	// Standard input.
	o = h.mustRun("pend04\nretry03\n", "cancel", "--json", "--file", "-")
	if o.stdout != `{"cancelled":2,"not_found":0,"active":0}`+"\n" {
		t.Fatalf("cancel --file - printed %q", o.stdout)
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
	if c := h.status(); c["pending"] != 2 {
		t.Fatalf("status %v: a refused cancel removed phones", c)
	}
}
