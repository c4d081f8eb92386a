package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// BenchmarkBudget10kPhones starts 10,000 phones at a budget of 600 calls a
// minute and reports the time taken beside the floor: 50 full calls paced
// by the budget (49 gaps of 60s/599). Set REDIS_URL for a real Redis: on the
// embedded one, asynq's dequeue rather than the budget sets the pace.
func BenchmarkBudget10kPhones(b *testing.B) {
	const phones, perMinute = 10000, 600
	floor := time.Duration(phones/200-1) * (time.Minute / (perMinute - 1))
	for range b.N {
		e := newEnv(b, geelarktest.Config{RatePerMinute: perMinute})
		bud, err := fleet.NewBudget(e.rdb, fleet.BudgetConfig{PerMinute: perMinute, PerHour: 100000})
		if err != nil {
			b.Fatal(err)
		}
		ids := phoneIDs("bench", phones)
		rep, err := e.enq.Start(b.Context(), enqueue.Request{IDs: ids})
		if err != nil || rep.Enqueued != phones {
			b.Fatalf("enqueue: %+v %v", rep, err)
		}
		w, err := worker.New(worker.Config{Redis: e.rdb, API: e.api, Limiter: bud, Logger: zap.NewNop(),
			PollInterval: 100 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		for w.Stats().Started < phones {
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(began)
		_ = w.Shutdown(context.Background())
		calls := len(e.fake.Calls())
		b.ReportMetric(took.Seconds(), "s/10k-phones")
		b.ReportMetric(floor.Seconds(), "s-floor")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(calls), "calls")
		fmt.Printf("10,000 phones at %d calls/min: %v, floor %v (50 calls paced), ratio %.2f, %d calls, %d over budget\n",
			perMinute, took.Round(time.Millisecond), floor.Round(time.Millisecond), took.Seconds()/floor.Seconds(),
			calls, e.fake.Violations())
	}
}
