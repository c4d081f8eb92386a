package queueadmin_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/internal/redistest"
)

// A requeue and a purge are steps of a phone's life: each shows in the
// events stream and in the phone's state.
func TestRequeueAndPurgeRecordEvents(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	ledger := fleet.NewLedger(rdb, 0)
	for _, id := range []string{"r1", "p1"} {
		if err := ledger.Add(ctx, fleet.DeadPhone{ID: id, Code: 42001, Reason: fleet.ReasonGeeLark}); err != nil {
			t.Fatal(err)
		}
	}
	adm := queueadmin.New(rdb, enq)
	j := fleet.NewJournal(rdb, 0)
	mark, _ := j.Last(ctx)
	if n, err := adm.Requeue(ctx, false, []string{"r1"}); err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	if n, err := adm.Purge(ctx, false, []string{"p1"}); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	evs, err := j.Read(ctx, mark, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Phone+" "+e.Event)
	}
	want := []string{"r1 requeued", "r1 enqueued", "p1 purged"}
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
	st, err := j.States(ctx, "r1", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if st[0].State != fleet.StateQueued || st[1].State != fleet.StatePurged {
		t.Fatalf("states %+v, want r1 queued and p1 purged", st)
	}
}

// Counts includes the phones that are booting.
func TestCountsBooting(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	now := time.Now()
	if err := fleet.NewBoots(rdb).Begin(ctx, now, fleet.Boot{ID: "b1", Attempt: 1, StartedAt: now},
		fleet.Boot{ID: "b2", Attempt: 1, StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	c, err := queueadmin.New(rdb, enq).Counts(ctx)
	if err != nil || c.Booting != 2 {
		t.Fatalf("Counts = %+v, %v; want 2 booting", c, err)
	}
}
