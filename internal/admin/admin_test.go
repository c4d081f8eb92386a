package admin_test

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/admin"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

func TestParseLastErr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		code int
		msg  string
	}{
		"geelark 42001: env not found":               {42001, "env not found"},
		"geelark 47002: resources: try again: later": {47002, "resources: try again: later"},
		"geelark unknown: missing from the reply":    {0, "missing from the reply"},
		"tasks: bad phone:start payload":             {0, "tasks: bad phone:start payload"},
	} {
		code, msg := admin.ParseLastErr(in)
		if code != want.code || msg != want.msg {
			t.Errorf("%q: got %d %q, want %d %q", in, code, msg, want.code, want.msg)
		}
	}
}

// A requeued phone gets its own options back and a fresh set of attempts.
func TestRequeueRestoresOptionsAndAttempts(t *testing.T) {
	r := redistest.New(t)
	rdb := r.Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	zero := 0
	opts := geelark.StartOptions{Width: 300, Center: &zero}
	if _, err := enq.Start(ctx, enqueue.Request{IDs: []string{"a1", "a2", "a3"}, Options: opts}); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, id := range []string{"a1", "a2"} {
		if err := insp.ArchiveTask(tasks.Queue, id); err != nil {
			t.Fatal(err)
		}
	}
	adm := admin.New(rdb, enq)
	c, err := adm.Counts(ctx)
	if err != nil || c.Dead != 2 || c.Pending != 1 {
		t.Fatalf("counts %+v %v", c, err)
	}
	if _, err := adm.Requeue(ctx, false, []string{"a1", "a3"}); err == nil {
		t.Fatal("requeue of a phone that is not dead was accepted")
	}
	if c, _ := adm.Counts(ctx); c.Dead != 2 {
		t.Fatalf("a refused requeue changed the queue: %+v", c)
	}
	n, err := adm.Requeue(ctx, false, []string{"a1"})
	if err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	ti, err := insp.GetTaskInfo(tasks.Queue, "a1")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tasks.ParseStartPhone(ti.Payload)
	if ti.State != asynq.TaskStatePending || ti.Retried != 0 || p.Options.Key() != opts.Key() {
		t.Fatalf("requeued task: state %v retried %d options %+v", ti.State, ti.Retried, p.Options)
	}
	n, err = adm.Purge(ctx, true, nil)
	if err != nil || n != 1 {
		t.Fatalf("purge --all: %d %v", n, err)
	}
	if c, _ := adm.Counts(ctx); c.Dead != 0 || c.Pending != 2 {
		t.Fatalf("after purge: %+v", c)
	}
}
