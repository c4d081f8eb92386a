package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// clock is the wall clock, sped up by speed and moved by Advance. Workers,
// budgets and the fake share one, so a test can cover minutes and hours of
// budget and pauses in seconds.
type clock struct {
	mu    sync.Mutex
	start time.Time
	speed float64
	off   time.Duration
}

func newClock(speed float64) *clock { return &clock{start: time.Now(), speed: speed} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Duration(float64(time.Since(c.start))*c.speed) + c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Sleep waits d of the clock's time.
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(time.Duration(float64(d) / c.speed))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
