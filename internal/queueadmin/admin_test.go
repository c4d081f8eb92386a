package queueadmin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

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
	ledger := fleet.NewLedger(rdb, 0)
	for _, id := range []string{"a1", "a2"} {
		// What a worker does with a dead phone: a ledger entry, and
		// asynq's archive for its web UI.
		if err := insp.ArchiveTask(tasks.Queue, id); err != nil {
			t.Fatal(err)
		}
		if err := ledger.Add(ctx, fleet.DeadPhone{ID: id, Code: 42001, Reason: fleet.ReasonGeeLark, Attempts: 1, Options: opts,
			StopAfter: 2 * time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	adm := queueadmin.New(rdb, enq)
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
	if ti.State != asynq.TaskStatePending || ti.Retried != 0 || p.Options.Key() != opts.Key() || p.StopAfter != 2*time.Hour {
		t.Fatalf("requeued task: state %v retried %d options %+v stop after %v", ti.State, ti.Retried, p.Options, p.StopAfter)
	}
	n, err = adm.Purge(ctx, true, nil)
	if err != nil || n != 1 {
		t.Fatalf("purge --all: %d %v", n, err)
	}
	if c, _ := adm.Counts(ctx); c.Dead != 0 || c.Pending != 2 {
		t.Fatalf("after purge: %+v", c)
	}
}

// The ledger has no cap: 25,000 dead phones (more than asynq's archive
// keeps) are all listed, page by page, and --all requeues every one.
func TestLedgerKeepsAndRequeuesTwentyFiveThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("25,000 phones: not in -short")
	}
	r := redistest.New(t)
	rdb := r.Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	adm := queueadmin.New(rdb, enq)
	const n = 25000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("dead%06d", i)
	}
	if _, err := enq.Start(ctx, enqueue.Request{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	dead := make([]fleet.DeadPhone, n)
	for i, id := range ids {
		dead[i] = fleet.DeadPhone{ID: id, Code: 42001, Reason: fleet.ReasonGeeLark, Attempts: 1}
	}
	if err := fleet.NewLedger(rdb, 0).Add(ctx, dead...); err != nil {
		t.Fatal(err)
	}
	// Drop the tasks the way asynq's archive drops its oldest.
	if _, err := asynq.NewInspectorFromRedisClient(rdb).DeleteAllPendingTasks(tasks.Queue); err != nil {
		t.Fatal(err)
	}
	seen, after := 0, ""
	for {
		page, next, err := adm.DeadPage(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			if d.ID != ids[seen] || d.Code != 42001 || d.Reason != fleet.ReasonGeeLark {
				t.Fatalf("entry %d: %+v", seen, d)
			}
			seen++
		}
		if next == "" {
			break
		}
		after = next
	}
	if seen != n {
		t.Fatalf("listed %d dead phones, want %d", seen, n)
	}
	got, err := adm.Requeue(ctx, true, nil)
	if err != nil || got != n {
		t.Fatalf("requeue --all: %d, %v; want %d", got, err, n)
	}
	c, err := adm.Counts(ctx)
	if err != nil || c.Dead != 0 || c.Pending != n {
		t.Fatalf("after requeue --all: %+v %v", c, err)
	}
}
