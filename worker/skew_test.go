package worker_test

import (
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// Two workers share one budget while one's clock is 10 minutes ahead: both
// meter on fleet time (Redis's clock), so no minute at the API holds more
// calls than its limit, and both workers make progress.
//
// The fake's clock runs 60 times fast, so its one-minute window is a real
// second. The budget of 668 calls a fleet minute spaces calls 90 ms apart:
// at most 12 in any real second, counted when they were granted. The fake
// allows 15 a minute. As the default budget (180) sits under GeeLark's 200,
// the room is for calls that reach the API later than they were granted: a
// loaded machine must hold a call back 350 ms before 16 land in one of the
// fake's minutes. Two budgets each spending 668 on its own would put up to
// 24 there.
//
// With each budget on its worker's own clock instead (Now: the skewed local
// clock), this test fails, though not by overspending: the budget state the
// worker ahead writes lies 10 minutes in the future of the worker on time,
// which waits for it. Measured over 8 s, three runs: the worker on time made
// 1, 1 and 0 of 19, 22 and 24 calls, 0 were refused, and its phones were
// still held (until their hand-back, 14 minutes on), so they never settle.
// Starting the worker ahead 1.5 s after the other (10 phones each at a
// time) gave the same: 0 refused, the worker on time starved from then on.
//
// How the calls divide between the workers is up to asynq and the
// machine's load: the test asks only that each makes some.
func TestBudgetHoldsWithAWorkerClockTenMinutesOff(t *testing.T) {
	t.Parallel()
	const (
		perMinute    = 668 // the fleet's budget, per minute of fleet time: 12 calls a real second
		apiPerMinute = 15  // the API's limit, per minute of the fake's clock (one real second)
	)
	fake := newClock(60)
	e := newEnv(t, geelarktest.Config{RatePerMinute: apiPerMinute, Now: fake.Now})
	ids := phoneIDs("skew", 40)
	e.enqueue(enqueue.Request{IDs: ids})
	var workers []*worker.Worker
	for _, skew := range []time.Duration{0, 10 * time.Minute} {
		rdb := e.r.Client(t)
		now := fleet.NewClock(rdb, func() time.Time { return time.Now().Add(skew) }).Now
		b, err := fleet.NewBudget(rdb, fleet.BudgetConfig{PerMinute: perMinute, PerHour: 1_000_000, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		cfg := e.fastConfig()
		cfg.Redis, cfg.Now, cfg.Limiter = rdb, now, b
		// One phone a call, so the budget sets the pace; a quarter of the
		// phones at a time, so neither worker can take them all.
		cfg.BatchSize, cfg.Concurrency = 1, len(ids)/4
		workers = append(workers, e.startWorker(cfg))
	}
	st := e.waitSettled(ids, 3*time.Minute)
	for id, s := range st {
		if s != fleet.StateReady {
			t.Fatalf("phone %s ended %s", id, s)
		}
	}
	var times []time.Time
	for _, c := range e.fake.Calls() {
		if c.Path == geelark.StartPath {
			times = append(times, c.Time)
		}
	}
	peak := maxInWindow(times, time.Minute)
	t.Logf("%d start calls (%d by the worker on time, %d by the one 10 min ahead); at most %d in one of the fake's minutes (limit %d); %d refused",
		len(times), workers[0].Stats().Calls, workers[1].Stats().Calls, peak, apiPerMinute, e.fake.Violations())
	if v := e.fake.Violations(); v != 0 {
		t.Errorf("the fake refused %d calls over its limit", v)
	}
	if peak > apiPerMinute {
		t.Errorf("%d calls in one of the fake's minutes, limit %d", peak, apiPerMinute)
	}
	for i, w := range workers {
		if w.Stats().Calls == 0 {
			t.Errorf("worker %d made no call: starved by the other's clock", i)
		}
	}
}
