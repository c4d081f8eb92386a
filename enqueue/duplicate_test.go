package enqueue_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// A phone whose start is under way is a duplicate: it is not enqueued
// again, and it joins the second request, whose outcome for it is that
// start's.
func TestStartTwiceReportsDuplicatesThatJoinTheRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	first := e.start(enqueue.Request{IDs: []string{"p1", "p2"}})

	second := e.start(enqueue.Request{IDs: []string{"p1", "p2"}})
	if second.Enqueued != 0 || !slices.Equal(sorted(second.Duplicates), []string{"p1", "p2"}) {
		t.Errorf("second start: report %+v, want 0 enqueued and p1, p2 as duplicates", second)
	}
	third := e.start(enqueue.Request{IDs: []string{"p3", "p2"}})
	if third.Enqueued != 1 || !slices.Equal(third.Duplicates, []string{"p2"}) {
		t.Errorf("start of p3, p2: report %+v, want 1 enqueued and p2 as duplicate", third)
	}
	if q := e.queue(tasks.Queue); q.Pending != 3 {
		t.Errorf("queue has %d pending, want 3: one task a phone", q.Pending)
	}
	if first.Request == second.Request || second.Request == third.Request {
		t.Errorf("requests %s, %s, %s: want each its own", first.Request, second.Request, third.Request)
	}

	e.Ready("p2")
	for _, rep := range []enqueue.Report{first, second, third} {
		if out := e.outcome(rep.Request); !slices.Contains(readyIDs(out), "p2") || out.Ended {
			t.Errorf("request %s after p2 was ready: %+v, want p2 ready, the request open", rep.Request, out)
		}
	}
	e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", "p1")
	for _, rep := range []enqueue.Report{first, second} {
		if out := e.outcome(rep.Request); !out.Ended || !slices.Equal(deadIDs(out), []string{"p1"}) {
			t.Errorf("request %s after p1 died: %+v, want it ended, p1 dead", rep.Request, out)
		}
	}
	if out := e.outcome(third.Request); out.Ended || !slices.Equal(out.Unfinished, []string{"p3"}) {
		t.Errorf("request %s: %+v, want it open on p3", third.Request, out)
	}
}

func TestStartSameIDTwiceInOneRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	rep := e.start(enqueue.Request{IDs: []string{"p1", "p2", "p1"}})
	if rep.Enqueued != 2 || !slices.Equal(rep.Duplicates, []string{"p1"}) {
		t.Errorf("report %+v, want 2 enqueued and p1 once as duplicate", rep)
	}
	if q := e.queue(tasks.Queue); q.Pending != 2 {
		t.Errorf("queue has %d pending, want 2", q.Pending)
	}
	if out := e.outcome(rep.Request); !slices.Equal(out.Unfinished, []string{"p1", "p2"}) {
		t.Errorf("outcome lists %v unfinished, want p1 and p2 once each", out.Unfinished)
	}
}

// A phone whose last start or stop ended, however it ended, is started
// again: a new generation of its record, with a task of its own.
func TestStartAgainAfterTheLastEnded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// end brings phone p1, whose start is enqueued, to an end.
		end   func(e *env)
		state string
	}{
		{"ready", func(e *env) { e.Ready("p1") }, fleet.StateReady},
		{"dead", func(e *env) { e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", "p1") }, fleet.StateDead},
		{"cancelled", func(e *env) {
			if _, err := e.enq.Cancel(context.Background(), enqueue.CancelRequest{IDs: []string{"p1"}}); err != nil {
				e.t.Fatal(err)
			}
		}, fleet.StateCancelled},
		{"stopped", func(e *env) {
			e.Ready("p1")
			e.stop(enqueue.StopRequest{IDs: []string{"p1"}})
			e.Stopped("p1")
		}, fleet.StateStopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, enqueue.Config{})
			e.start(enqueue.Request{IDs: []string{"p1"}})
			tc.end(e)
			old := e.phone("p1")
			if old.State != tc.state {
				t.Fatalf("before: %s, want %s", old.State, tc.state)
			}

			rep := e.start(enqueue.Request{IDs: []string{"p1"}})

			if rep.Enqueued != 1 || len(rep.Duplicates) != 0 {
				t.Errorf("report %+v, want 1 enqueued and no duplicates", rep)
			}
			p := e.phone("p1")
			if p.State != fleet.StateQueued || p.Gen <= old.Gen || p.Attempt != 0 {
				t.Errorf("record %+v, want queued afresh, generation above %d", p, old.Gen)
			}
			if ti := e.task("p1"); ti.State != asynq.TaskStatePending || ti.Retried != 0 {
				t.Errorf("task %v retried %d, want a fresh pending task", ti.State, ti.Retried)
			}
			if out := e.outcome(rep.Request); !slices.Equal(out.Unfinished, []string{"p1"}) {
				t.Errorf("new request's outcome %+v, want p1 unfinished, not its earlier end", out)
			}
		})
	}
}

// A phone whose start is under way, at whatever stage, is not enqueued
// again, and its record is left as it was.
func TestStartWhileUnderWayIsDuplicate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// begin enqueues phone p1 and brings its start to state.
		begin func(e *env)
		state string
	}{
		{"queued", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}})
		}, fleet.StateQueued},
		{"scheduled", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}, In: time.Hour})
		}, fleet.StateScheduled},
		{"sending", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}})
			e.Claim(fleet.ActionStart, "p1")
		}, fleet.StateSending},
		{"retrying", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}})
			e.Retry(47002, "p1")
		}, fleet.StateRetry},
		{"booting", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}})
			e.Boot("p1")
		}, fleet.StateBooting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, enqueue.Config{})
			tc.begin(e)
			before := e.phone("p1")
			if before.State != tc.state {
				t.Fatalf("before: %s, want %s", before.State, tc.state)
			}

			rep := e.start(enqueue.Request{IDs: []string{"p1", "p2"}})

			if rep.Enqueued != 1 || !slices.Equal(rep.Duplicates, []string{"p1"}) {
				t.Errorf("report %+v, want p2 enqueued and p1 as duplicate", rep)
			}
			after := e.phone("p1")
			if after.State != before.State || after.Gen != before.Gen || after.Task != before.Task || after.Attempt != before.Attempt {
				t.Errorf("p1's record went from %+v\nto %+v; want it left as it was", before, after)
			}
			if !slices.Contains(after.Requests, rep.Request) {
				t.Errorf("p1 belongs to %v, want the new request %s among them", after.Requests, rep.Request)
			}
		})
	}
}

// Producers that enqueue the same phones at once, each with a client and
// connection of its own, make one new record generation and one task a
// phone between them; every other sight of a phone is a duplicate, and
// every request has every phone.
func TestTwoProducersEnqueueEachPhoneOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	const producers = 4
	clients := make([]*enqueue.Client, producers)
	for i := range clients {
		enq, err := enqueue.New(enqueue.Config{Redis: e.r.Client(t), Parallelism: 16})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = enq
	}
	ids := phoneIDs("race", 700) // two chunks of records
	for round := range 3 {
		before := map[string]int64{}
		for _, id := range ids {
			before[id] = e.phone(id).Gen
		}
		var wg sync.WaitGroup
		reps := make([]enqueue.Report, producers)
		for i, enq := range clients {
			wg.Go(func() {
				rep, err := enq.Start(context.Background(), enqueue.Request{IDs: ids})
				if err != nil {
					t.Error(err)
				}
				reps[i] = rep
			})
		}
		wg.Wait()
		enqueued, dups := 0, 0
		for _, rep := range reps {
			enqueued += rep.Enqueued
			dups += len(rep.Duplicates)
			if out := e.outcome(rep.Request); len(out.Unfinished) != len(ids) {
				t.Fatalf("round %d: request %s has %d phones, want all %d", round, rep.Request, len(out.Unfinished), len(ids))
			}
		}
		if enqueued != len(ids) || dups != (producers-1)*len(ids) {
			t.Fatalf("round %d: %d producers enqueued %d and found %d duplicates, want %d and %d",
				round, producers, enqueued, dups, len(ids), (producers-1)*len(ids))
		}
		for _, id := range ids {
			p := e.phone(id)
			if p.Gen <= before[id] || p.Task != 1 || p.State != fleet.StateQueued {
				t.Fatalf("round %d: %s is %+v, want queued, one new generation", round, id, p)
			}
			e.task(id) // the new generation's task exists
		}
		if q := e.queue(tasks.Queue); q.Size != len(ids) {
			t.Fatalf("round %d: queue holds %d tasks, want one a phone, %d", round, q.Size, len(ids))
		}
		// The phones start, and their tasks are done: the next round
		// enqueues them afresh.
		e.Ready(ids...)
		if _, err := e.insp.DeleteAllPendingTasks(tasks.Queue); err != nil {
			t.Fatal(err)
		}
	}
}

// A start replaces a stop still waiting for its time (the later request
// wins; the stop's request ends "cancelled" for the phone), and its stop
// task is deleted.
func TestStartReplacesAWaitingStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	stop := e.stop(enqueue.StopRequest{IDs: []string{"p1"}, In: time.Hour})
	if q := e.queue(tasks.StopQueue); q.Scheduled != 1 {
		t.Fatalf("stop queue %+v, want the stop scheduled", q)
	}
	rep := e.start(enqueue.Request{IDs: []string{"p1"}})
	if rep.Enqueued != 1 || rep.CancelledStops != 1 {
		t.Fatalf("report %+v, want p1 enqueued and its stop cancelled", rep)
	}
	if p := e.phone("p1"); p.State != fleet.StateQueued || p.Action != fleet.ActionStart {
		t.Fatalf("record %+v, want a queued start", p)
	}
	if out := e.outcome(stop.Request); !out.Ended || !slices.Equal(out.Cancelled, []string{"p1"}) {
		t.Fatalf("stop request: %+v, want it ended, p1 cancelled", out)
	}
	if q := e.queue(tasks.StopQueue); q.Size != 0 {
		t.Fatalf("stop queue %+v, want the replaced stop's task deleted", q)
	}
}
