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
// meter on fleet time (Redis's clock), so the API sees no call over the
// budget, and neither worker is starved.
//
// The fake's clock runs 60 times fast, so its one-minute window is a real
// second: the budget of 668 calls a fleet minute (one every 90 ms) puts at
// most 12 calls in any real second, the fake's limit. 12 calls span 990 ms
// and 13 span 1080 ms, which leaves 80 ms for calls to reach the fake.
//
// With each budget on its worker's own clock instead (Now: the skewed local
// clock), this test fails, though not by overspending: the budget state the
// worker ahead writes lies 10 minutes in the future of the worker on time,
// which waits for it. Measured over 8 s, three runs: the worker on time made
// 1, 1 and 0 of 19, 22 and 24 calls, 0 were refused, and its phones were
// still held (until their hand-back, 14 minutes on), so they never settle.
// Starting the worker ahead 1.5 s after the other (10 phones each at a
// time) gave the same: 0 refused, the worker on time starved from then on.
func TestBudgetHoldsWithAWorkerClockTenMinutesOff(t *testing.T) {
	const (
		perMinute     = 668 // the fleet's budget, per minute of fleet time
		perFakeMinute = 12  // the same budget in the fake's minute, one real second
	)
	fake := newClock(60)
	e := newEnv(t, geelarktest.Config{RatePerMinute: perFakeMinute, Now: fake.Now})
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
		cfg.BatchSize, cfg.Concurrency = 1, len(ids) // one phone a call: the budget sets the pace
		workers = append(workers, e.startWorker(cfg))
	}
	st := e.waitSettled(ids, 30*time.Second)
	for id, s := range st {
		if s != "completed" {
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
	t.Logf("%d start calls (%d by the worker on time, %d by the one 10 min ahead); at most %d in one of the fake's minutes; %d refused",
		len(times), workers[0].Stats().Calls, workers[1].Stats().Calls, peak, e.fake.Violations())
	if v := e.fake.Violations(); v != 0 {
		t.Fatalf("the fake refused %d calls over budget", v)
	}
	if peak > perFakeMinute {
		t.Fatalf("%d calls in one of the fake's minutes, budget %d", peak, perFakeMinute)
	}
	for i, w := range workers {
		if n := w.Stats().Calls; n < len(ids)/4 {
			t.Errorf("worker %d made %d of %d calls: starved by the other's clock", i, n, len(times))
		}
	}
}
