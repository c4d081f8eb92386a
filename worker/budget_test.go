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

// Three workers on one Redis share one budget of 60 calls a minute: the
// API, which allows 75, refuses none, and each worker makes calls.
//
// The clock runs 10 times fast, so the budget spaces calls 100 ms apart in
// real time. Calls are counted at the fake, when they arrive, and a loaded
// machine delays some more than others: the API's room of 15 calls over the
// budget (as the default budget, 180, sits under GeeLark's 200) takes a
// call held back 1.6 s to use up. Three budgets each spending 60 on its own
// (one per worker) overrun it within the first minute: the fake refuses.
func TestThreeWorkersShareOneBudget(t *testing.T) {
	t.Parallel()
	const perMinute, apiPerMinute = 60, 75
	clk := newClock(10) // 90 s of budget in 9 s
	e := newEnv(t, geelarktest.Config{RatePerMinute: apiPerMinute, Now: clk.Now})
	ids := phoneIDs("fleet", 900)
	e.enqueue(enqueue.Request{IDs: ids})
	ws := e.startFleet(3, clk, perMinute, func(c *worker.Config) {
		c.BatchSize = 10
		c.BatchWait = 20 * time.Millisecond
		c.Concurrency = 100 // enough phones at hand that the budget, not asynq, sets the pace
	})
	st := e.waitSettled(ids, 3*time.Minute)
	for id, s := range st {
		if s != fleet.StateReady {
			t.Fatalf("phone %s ended %s", id, s)
		}
	}
	calls := e.fake.CallsTo(geelark.StartPath)
	times := make([]time.Time, len(calls))
	for i, c := range calls {
		times[i] = c.Time
	}
	peak := maxInWindow(times, time.Minute)
	t.Logf("%d calls over %v of budget time; at most %d in any 60 s window (budget %d, the API's limit %d); %d refused",
		len(calls), times[len(times)-1].Sub(times[0]).Round(time.Second), peak, perMinute, apiPerMinute, e.fake.Violations())
	if v := e.fake.Violations(); v != 0 {
		t.Errorf("the fake refused %d calls over its limit", v)
	}
	if peak > apiPerMinute {
		t.Errorf("%d calls in one 60 s window, the API's limit %d", peak, apiPerMinute)
	}
	if len(calls) < len(ids)/10 {
		t.Errorf("%d calls for %d phones in batches of 10", len(calls), len(ids))
	}
	for i, w := range ws {
		if w.Stats().Calls == 0 {
			t.Errorf("worker %d made no call", i)
		}
	}
}

func TestRateLimitCodesPauseTheWholeFleet(t *testing.T) {
	t.Parallel()
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
			p, on, err := fleet.CurrentPause(t.Context(), e.rdb, fleet.Space{}, clk.Now())
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
				for _, s := range e.states(ids) {
					if s != fleet.StateReady {
						return false
					}
				}
				return true
			})
			for _, id := range ids {
				if p := e.phone(id); p.Attempt != 1 {
					t.Fatalf("phone %s: %d attempts, want 1: the pause used none", id, p.Attempt)
				}
			}
		})
	}
}
