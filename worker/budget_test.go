package worker_test

import (
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
)

// maxInWindow returns the most calls in any closed window of length w.
func maxInWindow(times []time.Time, w time.Duration) int {
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// startFleet starts n workers, each with its own Redis connection and its
// own handle on the shared budget.
func (e *env) startFleet(n int, clk *clock, perMinute int, tweak func(*worker.Config)) []*worker.Worker {
	e.t.Helper()
	var ws []*worker.Worker
	for range n {
		rdb := e.r.Client(e.t)
		cfg := e.fastConfig()
		cfg.Redis = rdb
		cfg.Now = clk.Now
		if perMinute > 0 {
			b, err := fleet.NewBudget(rdb, fleet.BudgetConfig{PerMinute: perMinute, PerHour: 100000, Now: clk.Now, Sleep: clk.Sleep})
			if err != nil {
				e.t.Fatal(err)
			}
			cfg.Limiter = b
		}
		if tweak != nil {
			tweak(&cfg)
		}
		ws = append(ws, e.startWorker(cfg))
	}
	return ws
}

// paused returns how many times the workers sent a phone back to wait out
// a pause.
func paused(ws []*worker.Worker) int {
	n := 0
	for _, w := range ws {
		n += w.Stats().Paused
	}
	return n
}

func TestThreeWorkersShareOneBudget(t *testing.T) {
	clk := newClock(10) // 75 s of budget in 7.5 s
	e := newEnv(t, geelarktest.Config{RatePerMinute: 120, Now: clk.Now})
	ids := phoneIDs("fleet", 1500)
	e.enqueue(enqueue.Request{IDs: ids})
	e.startFleet(3, clk, 120, func(c *worker.Config) {
		c.BatchSize = 10
		c.BatchWait = 20 * time.Millisecond
		c.Concurrency = 100 // enough phones at hand that the budget, not asynq, sets the pace
	})
	st := e.waitSettled(ids, 90*time.Second)
	for id, s := range st {
		if s != "completed" {
			t.Fatalf("phone %s ended %s", id, s)
		}
	}
	calls := e.fake.CallsTo(geelark.StartPath)
	times := make([]time.Time, len(calls))
	for i, c := range calls {
		times[i] = c.Time
	}
	peak := maxInWindow(times, time.Minute)
	t.Logf("%d calls over %v of budget time; at most %d in any 60 s window; %d refused",
		len(calls), times[len(times)-1].Sub(times[0]).Round(time.Second), peak, e.fake.Violations())
	if v := e.fake.Violations(); v != 0 {
		t.Fatalf("the fake refused %d calls over budget", v)
	}
	if peak > 120 {
		t.Fatalf("%d calls in one 60 s window, budget 120", peak)
	}
	if len(calls) < 150 {
		t.Fatalf("%d calls for 1500 phones in batches of 10", len(calls))
	}
}

func TestRateLimitCodesPauseTheWholeFleet(t *testing.T) {
	for _, tc := range []struct {
		code      int
		pauseFrom time.Duration // least pause after the refused call
		pauseTo   time.Duration // most
	}{
		{40007, 0, time.Minute},
		{40014, 2*time.Hour - time.Second, 2*time.Hour + time.Second}, // stored to the millisecond
	} {
		t.Run(itoa(tc.code), func(t *testing.T) {
			clk := newClock(1)
			// A second into a minute: a 40007 pause, which ends at the
			// next minute, outlasts the test.
			now := clk.Now()
			clk.Advance(now.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(now))
			e := newEnv(t, geelarktest.Config{Now: clk.Now})
			ids := phoneIDs("rl", 60)
			var limited atomic.Bool
			limited.Store(true)
			e.fake.SetFaults(func(int) geelarktest.Fault {
				if limited.Load() {
					return geelarktest.Fault{Kind: geelarktest.FaultCode, Code: tc.code}
				}
				return geelarktest.Fault{}
			})
			e.enqueue(enqueue.Request{IDs: ids})
			ws := e.startFleet(3, clk, 0, func(c *worker.Config) { c.BatchSize = 20; c.MaxAttempts = 1 })

			// Every phone has been sent back to wait once: the calls made
			// by then are all there will be.
			waitFor(t, 10*time.Second, func() bool { return paused(ws) >= len(ids) })
			refused := e.fake.Calls()[0].Time
			// Each worker may have had one call in flight when the first
			// refusal came; after it, none calls.
			inFlight := len(e.fake.Calls())
			if inFlight > 3 {
				t.Fatalf("%d calls refused: the fleet did not stop at the first", inFlight)
			}
			p, on, err := fleet.CurrentPause(t.Context(), e.rdb, clk.Now())
			if err != nil || !on {
				t.Fatalf("no pause in Redis after %d: %v", tc.code, err)
			}
			if d := p.Until.Sub(refused); d <= tc.pauseFrom || d > tc.pauseTo || p.Code != tc.code {
				t.Fatalf("pause %+v: %v after the refused call, want (%v, %v]", p, d, tc.pauseFrom, tc.pauseTo)
			}
			if tc.code == 40007 && p.Until.Second() != 0 {
				t.Fatalf("40007 pause ends at %v, not at the next minute", p.Until)
			}
			// While paused, no worker calls, however often phones come
			// back: each comes back and is sent back to wait again.
			comeBack := func() {
				for range 3 {
					before := paused(ws)
					n, err := e.insp.RunAllRetryTasks(tasks.Queue)
					if err != nil {
						t.Fatal(err)
					}
					waitFor(t, 10*time.Second, func() bool { return paused(ws) >= before+n })
				}
			}
			comeBack()
			if tc.code == 40014 {
				clk.Advance(time.Hour) // half way: still locked
				comeBack()
			}
			if n := len(e.fake.Calls()); n != inFlight {
				t.Fatalf("%d calls during the pause, want only the %d refused ones", n, inFlight)
			}
			limited.Store(false)
			clk.Advance(p.Until.Sub(clk.Now()) + time.Second)
			// Phones sent back during the pause wait in asynq's retry set
			// by the wall clock; run them now. A handler may still be
			// writing the last one back, so run them until all are done.
			waitFor(t, 30*time.Second, func() bool {
				if _, err := e.insp.RunAllRetryTasks(tasks.Queue); err != nil {
					return false
				}
				q, err := e.insp.GetQueueInfo(tasks.Queue)
				return err == nil && q.Completed == len(ids)
			})
			st := e.waitSettled(ids, 30*time.Second)
			for _, id := range ids {
				if st[id] != "completed" {
					t.Fatalf("phone %s ended %s", id, st[id])
				}
				ti, _ := e.insp.GetTaskInfo(tasks.Queue, id)
				if ti.Retried != 0 {
					t.Fatalf("phone %s: %d attempts used by the pause", id, ti.Retried)
				}
			}
		})
	}
}
