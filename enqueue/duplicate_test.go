package enqueue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/tasks"
	"go.uber.org/zap/zaptest"
)

// serve processes the test's phonestart queue with h, retrying a failed
// task right away unless retryIn is set, until the returned stop is called
// or the test ends.
func (e *env) serve(h asynq.HandlerFunc, retryIn time.Duration) (stop func()) {
	e.t.Helper()
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeStartPhone, h)
	srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{
		Concurrency:              1,
		Queues:                   map[string]int{tasks.Queue: 1},
		TaskCheckInterval:        20 * time.Millisecond,
		DelayedTaskCheckInterval: 20 * time.Millisecond,
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return retryIn },
		ShutdownTimeout:          5 * time.Second,
		Logger:                   zaptest.NewLogger(e.t).Sugar(),
		LogLevel:                 asynq.ErrorLevel,
	})
	if err := srv.Start(mux); err != nil {
		e.t.Fatal(err)
	}
	var stopped atomic.Bool
	stop = func() {
		if !stopped.Swap(true) {
			srv.Shutdown()
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// waitState waits until the phone's task is in state.
func (e *env) waitState(id string, state asynq.TaskState) *asynq.TaskInfo {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ti, err := e.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id))
		if err == nil && ti.State == state {
			return ti
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("phone %s: task not %v after 10s: %+v, %v", id, state, ti, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartTwiceReportsDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	e.start(enqueue.Request{IDs: []string{"p1", "p2"}})

	rep := e.start(enqueue.Request{IDs: []string{"p1", "p2"}})
	if rep.Enqueued != 0 || !slices.Equal(sorted(rep.Duplicates), []string{"p1", "p2"}) {
		t.Errorf("second start: report %+v, want 0 enqueued and p1, p2 as duplicates", rep)
	}

	rep = e.start(enqueue.Request{IDs: []string{"p3", "p2"}})
	if rep.Enqueued != 1 || !slices.Equal(rep.Duplicates, []string{"p2"}) {
		t.Errorf("start of p3, p2: report %+v, want 1 enqueued and p2 as duplicate", rep)
	}
	if q := e.queue(); q.Pending != 3 {
		t.Errorf("queue has %d pending, want 3", q.Pending)
	}
}

func TestStartSameIDTwiceInOneRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	rep := e.start(enqueue.Request{IDs: []string{"p1", "p2", "p1"}})
	if rep.Enqueued != 2 || !slices.Equal(rep.Duplicates, []string{"p1"}) {
		t.Errorf("report %+v, want 2 enqueued and p1 once as duplicate", rep)
	}
	if q := e.queue(); q.Pending != 2 {
		t.Errorf("queue has %d pending, want 2", q.Pending)
	}
}

// TestStartAgainAfterFinish checks that a phone whose last start is over,
// however it ended, can be started again, and gets a fresh task.
func TestStartAgainAfterFinish(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// finish brings phone p1's task, enqueued, to its end.
		finish  func(e *env)
		state   asynq.TaskState
		retried int
	}{
		{"completed", func(e *env) {
			stop := e.serve(func(context.Context, *asynq.Task) error { return nil }, 0)
			e.waitState("p1", asynq.TaskStateCompleted)
			stop()
		}, asynq.TaskStateCompleted, 0},
		{"dead-lettered after a retry", func(e *env) {
			var calls atomic.Int32
			stop := e.serve(func(context.Context, *asynq.Task) error {
				if calls.Add(1) == 1 {
					return errors.New("temporary")
				}
				return fmt.Errorf("phone gone: %w", asynq.SkipRetry)
			}, 0)
			e.waitState("p1", asynq.TaskStateArchived)
			stop()
		}, asynq.TaskStateArchived, 1},
		{"archived by an operator", func(e *env) {
			if err := e.insp.ArchiveTask(tasks.Queue, tasks.TaskID("p1")); err != nil {
				e.t.Fatal(err)
			}
		}, asynq.TaskStateArchived, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, enqueue.Config{})
			e.start(enqueue.Request{IDs: []string{"p1"}})
			tc.finish(e)
			old := e.task("p1")
			if old.State != tc.state || old.Retried != tc.retried {
				t.Fatalf("before: task %v after %d retries, want %v after %d", old.State, old.Retried, tc.state, tc.retried)
			}

			rep := e.start(enqueue.Request{IDs: []string{"p1"}})

			if rep.Enqueued != 1 || len(rep.Duplicates) != 0 {
				t.Errorf("report %+v, want 1 enqueued and no duplicates", rep)
			}
			ti := e.task("p1")
			if ti.State != asynq.TaskStatePending || ti.Retried != 0 || ti.LastErr != "" || !ti.CompletedAt.IsZero() {
				t.Errorf("after: task %v, retried %d, last error %q, completed at %v; want a fresh pending task",
					ti.State, ti.Retried, ti.LastErr, ti.CompletedAt)
			}
			if q := e.queue(); q.Size != 1 || q.Pending != 1 {
				t.Errorf("queue holds %d tasks, %d pending; want the one, pending", q.Size, q.Pending)
			}
		})
	}
}

// TestStartWhileInFlightIsDuplicate checks that a phone whose start is
// under way is not enqueued again, whatever stage the start is at.
func TestStartWhileInFlightIsDuplicate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// begin enqueues phone p1 and brings its task to state.
		begin func(e *env)
		state asynq.TaskState
	}{
		{"pending", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}})
		}, asynq.TaskStatePending},
		{"scheduled", func(e *env) {
			e.start(enqueue.Request{IDs: []string{"p1"}, In: time.Hour})
		}, asynq.TaskStateScheduled},
		{"active", func(e *env) {
			release := make(chan struct{})
			e.serve(func(ctx context.Context, _ *asynq.Task) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}, 0)
			e.t.Cleanup(func() { close(release) }) // before the server stops
			e.start(enqueue.Request{IDs: []string{"p1"}})
			e.waitState("p1", asynq.TaskStateActive)
		}, asynq.TaskStateActive},
		{"retrying", func(e *env) {
			stop := e.serve(func(context.Context, *asynq.Task) error {
				return errors.New("temporary")
			}, time.Hour)
			e.start(enqueue.Request{IDs: []string{"p1"}})
			e.waitState("p1", asynq.TaskStateRetry)
			stop()
		}, asynq.TaskStateRetry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, enqueue.Config{})
			tc.begin(e)

			rep := e.start(enqueue.Request{IDs: []string{"p1", "p2"}})

			if rep.Enqueued != 1 || !slices.Equal(rep.Duplicates, []string{"p1"}) {
				t.Errorf("report %+v, want p2 enqueued and p1 as duplicate", rep)
			}
			if st := e.task("p1").State; st != tc.state {
				t.Errorf("p1's task is %v, want it left %v", st, tc.state)
			}
		})
	}
}

// TestStartFinishedPhoneConcurrently checks that when several producers
// ask at once for a phone whose last start is over, one enqueues it and the
// others report it as a duplicate.
func TestStartFinishedPhoneConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	const starts = 8
	producers := make([]*enqueue.Client, starts)
	for i := range producers {
		enq, err := enqueue.New(enqueue.Config{Redis: e.rdb})
		if err != nil {
			t.Fatal(err)
		}
		producers[i] = enq
	}
	for round := range 20 {
		e.start(enqueue.Request{IDs: []string{"p1"}})
		if err := e.insp.ArchiveTask(tasks.Queue, tasks.TaskID("p1")); err != nil {
			t.Fatal(err)
		}
		reps := make(chan enqueue.Report, starts)
		for _, enq := range producers {
			go func() {
				rep, err := enq.Start(context.Background(), enqueue.Request{IDs: []string{"p1"}})
				if err != nil {
					t.Error(err)
				}
				reps <- rep
			}()
		}
		enqueued, dups := 0, 0
		for range starts {
			rep := <-reps
			enqueued += rep.Enqueued
			dups += len(rep.Duplicates)
		}
		if enqueued != 1 || dups != starts-1 {
			t.Fatalf("round %d: %d concurrent starts reported %d enqueued and %d duplicates, want 1 and %d",
				round, starts, enqueued, dups, starts-1)
		}
		if q := e.queue(); q.Size != 1 || q.Pending != 1 {
			t.Fatalf("round %d: queue holds %d tasks, %d pending; want one, pending", round, q.Size, q.Pending)
		}
		if _, err := e.insp.DeleteAllPendingTasks(tasks.Queue); err != nil {
			t.Fatal(err)
		}
	}
}
