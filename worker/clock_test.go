package worker_test

import (
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for pauses and lockouts.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func newClock(time.Time) *clock { return &clock{} }

// Now is the wall clock moved by Advance: timers still run in real time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
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
