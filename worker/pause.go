package worker

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/redis/go-redis/v9"
)

// Redis keys of the fleet-wide pause. Every worker on the same Redis obeys
// them before calling the API.
const (
	// PauseKey holds the active pause: code, msg, until and since (Unix ms).
	PauseKey = "phonestart:pause"
	// BlockedKey holds the account-wide error streak: code, msg and since,
	// from the first account-wide error until a phone starts again.
	BlockedKey = "phonestart:blocked"
)

// Pause is a fleet-wide stop of API calls.
type Pause struct {
	Code  int
	Msg   string
	Until time.Time // calls resume then
	Since time.Time // for account-wide codes: when the streak began
}

// Class is the class of the pause's code.
func (p Pause) Class() geelark.Class { return geelark.Lookup(p.Code).Class }

// pauses reads and writes the fleet-wide pause, with a short in-process
// cache so that hundreds of handlers don't each ask Redis.
type pauses struct {
	rdb redis.UniversalClient
	now func() time.Time
	ttl time.Duration

	mu      sync.Mutex
	cached  Pause
	fetched time.Time
}

func newPauses(rdb redis.UniversalClient, now func() time.Time) *pauses {
	return &pauses{rdb: rdb, now: now, ttl: time.Second}
}

// setPause extends the pause to ARGV[3] unless one already runs longer, and
// for account-wide codes opens the streak if none is open. It returns 1 when
// it changed the pause.
var setPause = redis.NewScript(`
local since = ARGV[4]
if ARGV[5] == "1" then
  redis.call("HSETNX", KEYS[2], "since", ARGV[4])
  redis.call("HSET", KEYS[2], "code", ARGV[1], "msg", ARGV[2])
  since = redis.call("HGET", KEYS[2], "since")
end
local cur = tonumber(redis.call("HGET", KEYS[1], "until") or "0")
if cur >= tonumber(ARGV[3]) then return 0 end
redis.call("HSET", KEYS[1], "code", ARGV[1], "msg", ARGV[2], "until", ARGV[3], "since", since)
redis.call("PEXPIREAT", KEYS[1], ARGV[3])
return 1`)

// set pauses all calls until until because of code. It reports whether the
// pause is new or longer than the one in force, and so worth a log line.
func (p *pauses) set(ctx context.Context, code int, msg string, until time.Time) (Pause, bool, error) {
	now := p.now()
	account := "0"
	if geelark.Lookup(code).Class == geelark.ClassAccount {
		account = "1"
	}
	n, err := setPause.Run(ctx, p.rdb, []string{PauseKey, BlockedKey},
		code, msg, until.UnixMilli(), now.UnixMilli(), account).Int()
	if err != nil {
		return Pause{}, false, err
	}
	p.mu.Lock()
	p.fetched = time.Time{} // read it back on next use
	p.mu.Unlock()
	cur, _, err := p.current(ctx)
	return cur, n == 1, err
}

// unblock ends the account-wide streak: a phone started, so whatever was
// wrong with the account is fixed.
func (p *pauses) unblock(ctx context.Context) error {
	return p.rdb.Del(ctx, BlockedKey).Err()
}

// current returns the pause in force, if any, as read from Redis at most
// a second ago. Handlers use it to skip the batcher during a pause.
func (p *pauses) current(ctx context.Context) (Pause, bool, error) {
	return p.read(ctx, false)
}

// fresh returns the pause in force, read from Redis now. Calls are
// admitted on it, so that a pause set by any worker stops every worker's
// next call.
func (p *pauses) fresh(ctx context.Context) (Pause, bool, error) {
	return p.read(ctx, true)
}

func (p *pauses) read(ctx context.Context, fresh bool) (Pause, bool, error) {
	now := p.now()
	p.mu.Lock()
	if age := now.Sub(p.fetched); !fresh && !p.fetched.IsZero() && age >= 0 && age < p.ttl {
		c := p.cached
		p.mu.Unlock()
		return c, c.Until.After(now), nil
	}
	p.mu.Unlock()
	vals, err := p.rdb.HGetAll(ctx, PauseKey).Result()
	if err != nil {
		return Pause{}, false, err
	}
	c := parsePause(vals)
	p.mu.Lock()
	p.cached, p.fetched = c, now
	p.mu.Unlock()
	return c, c.Until.After(now), nil
}

// Current reads the pause in force from rdb, for status displays.
func Current(ctx context.Context, rdb redis.UniversalClient, now time.Time) (Pause, bool, error) {
	vals, err := rdb.HGetAll(ctx, PauseKey).Result()
	if err != nil {
		return Pause{}, false, err
	}
	c := parsePause(vals)
	return c, c.Until.After(now), nil
}

func parsePause(vals map[string]string) Pause {
	ms := func(k string) time.Time {
		n, err := strconv.ParseInt(vals[k], 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n)
	}
	code, _ := strconv.Atoi(vals["code"])
	return Pause{Code: code, Msg: vals["msg"], Until: ms("until"), Since: ms("since")}
}
