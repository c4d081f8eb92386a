package fleet_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/fleet"
)

// redisTime is Redis's own clock.
func redisTime(t *testing.T, rdb redis.UniversalClient) time.Time {
	t.Helper()
	now, err := rdb.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// A worker whose clock is 10 minutes off tells the same time as Redis.
func TestClockFollowsRedisNotTheLocalClock(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		c := fleet.NewClock(rdb, func() time.Time { return time.Now().Add(skew) })
		fleetNow := c.Now()
		if d := fleetNow.Sub(redisTime(t, rdb)).Abs(); d > time.Second {
			t.Errorf("local clock %v off: fleet time %v from Redis's", skew, d)
		}
		if s := c.Skew(); (s - skew).Abs() > time.Second {
			t.Errorf("local clock %v off: Skew says %v", skew, s)
		}
	}
}

// Between reads of Redis, fleet time moves with the local clock's elapsed
// time; every 30 seconds it is read again, and whenever the local clock
// steps back.
func TestClockCarriesOnBetweenReads(t *testing.T) {
	t.Parallel()
	r, rdb := newRedis(t)
	local := newFakeClock()
	local.Advance(10 * time.Minute)
	c := fleet.NewClock(rdb, local.Now)
	first := c.Now()
	if d := first.Sub(redisTime(t, rdb)).Abs(); d > time.Second {
		t.Fatalf("fleet time %v from Redis's", d)
	}
	if r.Mini != nil {
		// Redis's clock jumps; the fleet clock does not see it until the
		// next read.
		r.Mini.SetTime(first.Add(time.Hour))
	}
	local.Advance(29 * time.Second)
	if got := c.Now().Sub(first); got != 29*time.Second {
		t.Fatalf("29s later by the local clock: fleet time moved %v", got)
	}
	local.Advance(time.Second)
	read := c.Now()
	want := redisTime(t, rdb)
	if d := read.Sub(want).Abs(); d > time.Second {
		t.Fatalf("30s later: fleet time %v, Redis's %v: not read again", read, want)
	}
	// The local clock steps back (NTP, a person): Redis is read again.
	if r.Mini != nil {
		r.Mini.SetTime(want.Add(time.Minute))
	}
	local.Advance(-5 * time.Minute)
	if d := c.Now().Sub(redisTime(t, rdb)).Abs(); d > time.Second {
		t.Fatalf("after the local clock stepped back: fleet time %v from Redis's", d)
	}
}

// Until Redis answers, fleet time is the local clock; once it has, the last
// reading is carried forward while Redis is away.
func TestClockWithoutRedis(t *testing.T) {
	t.Parallel()
	local := newFakeClock()
	gone := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { gone.Close() })
	c := fleet.NewClock(gone, local.Now)
	if got := c.Now(); !got.Equal(local.Now()) {
		t.Fatalf("no Redis ever: fleet time %v, want the local %v", got, local.Now())
	}

	r, rdb := newRedis(t)
	if r.Mini == nil {
		t.Skip("needs the embedded Redis, which the test can stop (REDIS_URL is set)")
	}
	local.Advance(time.Hour) // an hour ahead of Redis
	c = fleet.NewClock(rdb, local.Now)
	first := c.Now()
	r.Mini.Close()
	local.Advance(45 * time.Second)
	if got := c.Now().Sub(first); got != 45*time.Second {
		t.Fatalf("Redis gone for 45s: fleet time moved %v, want 45s from the last reading", got)
	}
}
