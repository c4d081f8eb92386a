package schedule_test

import (
	"context"
	"sync"
	"time"
)

// simClock is a fake clock shared by the schedulers of a test. Time stands
// still while any of them works; when all of them sleep, it jumps to the
// earliest wake-up. At stop it cancels the schedulers' context.
type simClock struct {
	mu       sync.Mutex
	now      time.Time
	stop     time.Time
	cancel   context.CancelFunc
	awake    int // schedulers not sleeping
	sleepers []*sleeper
}

type sleeper struct {
	at   time.Time
	wake chan struct{}
}

// newSimClock returns a clock at start for the given number of schedulers,
// and the context that it cancels at stop.
func newSimClock(start, stop time.Time, schedulers int) (*simClock, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	return &simClock{now: start, stop: stop, cancel: cancel, awake: schedulers}, ctx
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep waits until the clock reaches now+d: as soon as every scheduler
// sleeps and no one wakes earlier.
func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	s := &sleeper{at: c.now.Add(max(d, 0)), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.awake--
	c.advance()
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave tells the clock that a scheduler stopped.
func (c *simClock) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.awake--
	c.advance()
}

func (c *simClock) advance() {
	if c.awake > 0 || len(c.sleepers) == 0 {
		return
	}
	next := c.sleepers[0].at
	for _, s := range c.sleepers {
		if s.at.Before(next) {
			next = s.at
		}
	}
	if next.After(c.stop) {
		c.now = c.stop
		c.cancel()
		return
	}
	if next.After(c.now) {
		c.now = next
	}
	keep := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.at.After(c.now) {
			keep = append(keep, s)
			continue
		}
		close(s.wake)
		c.awake++
	}
	c.sleepers = keep
}
