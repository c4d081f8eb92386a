package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// clockResync is how often a Clock asks Redis for the time again. Between
// asks it counts on the process's monotonic clock, which a wall-clock step
// (NTP, a person) does not move.
const clockResync = 30 * time.Second

// Clock tells fleet time: Redis's clock (TIME), carried forward on this
// process's monotonic clock between reads. Every worker and scheduler on one
// Redis reads the same fleet time however far its own wall clock is off.
// Until Redis first answers, and while it does not, the last reading is
// carried forward (or, before any, the local clock). It is safe for
// simultaneous use by multiple goroutines.
type Clock struct {
	rdb   redis.UniversalClient
	local func() time.Time

	mu     sync.Mutex
	base   time.Time // fleet time at the last reading
	at     time.Time // local time at the last reading
	synced bool
	asked  time.Time // local time of the last attempt
}

// NewClock returns the fleet clock of rdb. local is this process's clock
// (default time.Now); only its elapsed time is used once Redis answered.
func NewClock(rdb redis.UniversalClient, local func() time.Time) *Clock {
	if local == nil {
		local = time.Now
	}
	return &Clock{rdb: rdb, local: local}
}

// Now returns the fleet time. It asks Redis at most every 30 seconds, for at
// most a second.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.local()
	if c.asked.IsZero() || now.Sub(c.asked) >= clockResync || now.Before(c.asked) {
		c.asked = now
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		t, err := c.rdb.Time(ctx).Result()
		cancel()
		if err == nil {
			c.base, c.at, c.synced = t, c.local(), true
		}
	}
	if !c.synced {
		return now
	}
	return c.base.Add(c.local().Sub(c.at))
}

// Skew returns how far the local clock is ahead of fleet time (negative:
// behind), as of the last reading.
func (c *Clock) Skew() time.Duration {
	now := c.Now()
	return c.local().Sub(now)
}
