package schedule

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// GuardTTL is how long the record that a tick fired is kept. A scheduler
// whose clock is further behind than this could fire a tick again.
const GuardTTL = 7 * 24 * time.Hour

// Lease is how long a claim on a tick holds without being renewed. Its
// holder renews it every Lease/3 while it selects and enqueues; another
// scheduler takes the tick over once the lease has run out.
const Lease = 30 * time.Second

// GuardKey returns the Redis key that guards tick of s: it holds a claim
// while a scheduler fires the tick and the done mark after. It lives in the
// namespace of the Runner's enqueue.Client, "{NAMESPACE}:schedule:<name>:<tick>",
// so that deployments sharing a Redis each fire their own schedules. It
// names the tick by its wall time in the schedule's zone, so that the hour
// that repeats when clocks go back fires once, not twice.
//
// A claim is "claim <lease end, Unix ms> <holder>"; any other value is the
// done mark (earlier versions wrote the holder alone, with SET NX).
func (r *Runner) GuardKey(s *Schedule, tick time.Time) string {
	loc, err := s.zone()
	if err != nil {
		loc = time.UTC
	}
	return r.space.Key("schedule", s.Name, tick.In(loc).Format("2006-01-02T15:04:05"))
}

// guardState is what a scheduler finds in a tick's guard.
type guardState int

const (
	guardClaimed guardState = iota // free or expired: now claimed by us
	guardHeld                      // another scheduler holds a live claim
	guardDone                      // the tick fired
)

// claimScript claims a tick unless it is done or held by a live claim.
// KEYS[1] guard; ARGV now (Unix ms), our claim, TTL (ms). Returns
// {state, value found}.
var claimScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v then
  local ends = string.match(v, "^claim (%d+) ")
  if not ends then return {2, v} end
  if tonumber(ends) > tonumber(ARGV[1]) then return {1, v} end
end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
if v then return {0, v} end
return {0, ""}`)

// renewScript extends our claim; 0 when the claim is no longer ours (the
// tick is done, or another scheduler took it over). KEYS[1] guard; ARGV our
// holder name, our new claim, TTL (ms).
var renewScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v or string.match(v, "^claim %d+ (.*)$") ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1`)

// doneScript replaces our claim by the done mark; 0, writing nothing, when
// the claim is no longer ours (another scheduler took the tick over: it
// marks the tick done itself, or its claim lapses and the tick is fired
// again). KEYS[1] guard; ARGV our holder name, the done mark, TTL (ms).
var doneScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v or string.match(v, "^claim %d+ (.*)$") ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1`)

// releaseScript drops our claim, if it still is ours. KEYS[1] guard; ARGV
// our holder name.
var releaseScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and string.match(v, "^claim %d+ (.*)$") == ARGV[1] then redis.call("DEL", KEYS[1]) end
return 0`)

// guard is one tick's guard, as seen by one attempt to fire it.
type guard struct {
	rdb    redis.UniversalClient
	key    string
	holder string // unique to the attempt
	now    func() time.Time
}

func (g *guard) claimValue() string {
	return "claim " + strconv.FormatInt(g.now().Add(Lease).UnixMilli(), 10) + " " + g.holder
}

// claim takes the tick unless it is done or held. For a held tick it returns
// when the holder's lease ends; for a claimed one, the previous holder whose
// lease had run out, if any.
func (g *guard) claim(ctx context.Context) (state guardState, leaseEnd time.Time, prev string, err error) {
	res, err := claimScript.Run(ctx, g.rdb, []string{g.key},
		g.now().UnixMilli(), g.claimValue(), GuardTTL.Milliseconds()).Slice()
	if err != nil {
		return 0, time.Time{}, "", fmt.Errorf("tick guard: %w", err)
	}
	if len(res) != 2 {
		return 0, time.Time{}, "", fmt.Errorf("tick guard: unexpected reply %v", res)
	}
	n, _ := res[0].(int64)
	v, _ := res[1].(string)
	switch guardState(n) {
	case guardHeld:
		f := strings.Fields(v)
		ms, _ := strconv.ParseInt(f[1], 10, 64)
		return guardHeld, time.UnixMilli(ms), "", nil
	case guardDone:
		return guardDone, time.Time{}, "", nil
	}
	if _, holder, ok := strings.Cut(strings.TrimPrefix(v, "claim "), " "); ok {
		prev = holder
	}
	return guardClaimed, time.Time{}, prev, nil
}

// renew extends the claim by Lease; false when it is no longer ours.
func (g *guard) renew(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, g.rdb, []string{g.key}, g.holder, g.claimValue(), GuardTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("tick guard: renew: %w", err)
	}
	return n == 1, nil
}

// done replaces our claim by the done mark; false when the claim is no
// longer ours, which it leaves as it is.
func (g *guard) done(ctx context.Context) (bool, error) {
	n, err := doneScript.Run(ctx, g.rdb, []string{g.key}, g.holder, "done "+g.holder, GuardTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("tick guard: mark done: %w", err)
	}
	return n == 1, nil
}

// release drops the claim so that another scheduler may retry at once.
func (g *guard) release(ctx context.Context) error {
	return releaseScript.Run(ctx, g.rdb, []string{g.key}, g.holder).Err()
}
