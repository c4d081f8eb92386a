package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/redistest"
)

// fakeClock is a clock that moves only when told to. Sleep moves it by the
// time slept, so code that waits on it runs at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// newFakeClock starts at the current time, to the millisecond, so that keys
// Redis expires by its own clock (the pause) live as long as they would.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Truncate(time.Millisecond)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// newRedis returns a client of a Redis of the test's own.
func newRedis(t *testing.T) (*redistest.Redis, *redis.Client) {
	t.Helper()
	r := redistest.New(t)
	return r, r.Client(t)
}
