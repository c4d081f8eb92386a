package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
)

// While Redis can't be reached, the budget can't be checked: the worker
// holds its calls, says so, and calls once Redis is back.
func TestRedisAwayHoldsCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	if e.r.Mini == nil {
		t.Skip("needs the embedded Redis, which the test can stop and restart")
	}
	ids := phoneIDs("away", 50)
	e.enqueue(enqueue.Request{IDs: ids})
	core, logs := observer.New(zapcore.WarnLevel)
	cfg := e.fastConfig()
	cfg.Logger = zap.New(core)
	b, err := fleet.NewBudget(e.rdb, fleet.BudgetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch asks the budget only once Redis is gone, however
	// long the machine takes to get there.
	gone := make(chan struct{})
	cfg.Limiter = gatedLimiter{gate: gone, Limiter: b}
	e.startWorker(cfg)
	waitFor(t, 10*time.Second, func() bool {
		q, err := e.insp.GetQueueInfo(tasks.Queue)
		return err == nil && q.Active > 0
	})
	e.r.Mini.Close()
	close(gone)
	held := func() bool {
		for _, l := range logs.All() {
			if strings.Contains(l.Message, "holding calls") {
				return true
			}
		}
		return false
	}
	waitFor(t, 30*time.Second, held)
	if n := len(e.fake.Calls()); n != 0 {
		t.Fatalf("%d calls made while the budget could not be checked", n)
	}
	if err := e.r.Mini.Restart(); err != nil {
		t.Fatal(err)
	}
	st := e.waitSettled(ids, 3*time.Minute)
	for id, s := range st {
		if s != fleet.StateReady {
			t.Fatalf("phone %s ended %s", id, s)
		}
	}
}

// gatedLimiter is a Limiter that waits for its gate to open before it asks
// the one it wraps.
type gatedLimiter struct {
	gate <-chan struct{}
	worker.Limiter
}

func (g gatedLimiter) Wait(ctx context.Context) error {
	select {
	case <-g.gate:
		return g.Limiter.Wait(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
}
