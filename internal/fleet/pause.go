package fleet

import (
	"context"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/redis/go-redis/v9"
)

// Pause is a fleet-wide stop of API calls.
type Pause struct {
	Code  int
	Msg   string
	Until time.Time // calls resume then
	Since time.Time // for account-wide codes: when the streak began
	By    string    // who set it: host:pid of the worker
}

// Class is the class of the pause's code.
func (p Pause) Class() geelark.Class { return geelark.Lookup(p.Code).Class }

// Pauses reads and writes the fleet-wide pause, with a short in-process
// cache so that hundreds of handlers don't each ask Redis.
type Pauses struct {
	rdb redis.UniversalClient
	now func() time.Time
	ttl time.Duration
	by  string

	mu      sync.Mutex
	cached  Pause
	fetched time.Time
}

// NewPauses returns the fleet-wide pause kept in rdb, read and ended by now
// (default: fleet time).
func NewPauses(rdb redis.UniversalClient, now func() time.Time) *Pauses {
	if now == nil {
		now = NewClock(rdb, nil).Now
	}
	return &Pauses{rdb: rdb, now: now, ttl: time.Second, by: Self()}
}

// Self names this process for records other processes read: host:pid.
func Self() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
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
redis.call("HSET", KEYS[1], "code", ARGV[1], "msg", ARGV[2], "until", ARGV[3], "since", since, "by", ARGV[6])
redis.call("PEXPIREAT", KEYS[1], ARGV[3])
return 1`)

// Set pauses all calls until until because of code. It reports whether the
// pause is new or longer than the one in force, and so worth a log line.
func (p *Pauses) Set(ctx context.Context, code int, msg string, until time.Time) (Pause, bool, error) {
	now := p.now()
	account := "0"
	if geelark.Lookup(code).Class == geelark.ClassAccount {
		account = "1"
	}
	n, err := setPause.Run(ctx, p.rdb, []string{PauseKey, BlockedKey},
		code, msg, until.UnixMilli(), now.UnixMilli(), account, p.by).Int()
	if err != nil {
		return Pause{}, false, err
	}
	p.forget()
	cur, _, err := p.Current(ctx)
	return cur, n == 1, err
}

func (p *Pauses) forget() {
	p.mu.Lock()
	p.fetched = time.Time{} // read it back on next use
	p.mu.Unlock()
}

// Unblock ends the account-wide streak: a phone started, so whatever was
// wrong with the account is fixed.
func (p *Pauses) Unblock(ctx context.Context) error {
	return p.rdb.Del(ctx, BlockedKey).Err()
}

// Lift ends the pause in force, and the account-wide streak, at once,
// records who lifted it (kept an hour, for status), and sends the phones
// parked for the pause back to the queue at once. It returns the pause it
// ended, if any.
func (p *Pauses) Lift(ctx context.Context, by string) (Pause, bool, error) {
	cur, on, err := p.Fresh(ctx)
	if err != nil {
		return Pause{}, false, err
	}
	pipe := p.rdb.TxPipeline()
	pipe.Del(ctx, PauseKey)
	pipe.Del(ctx, BlockedKey)
	if on {
		pipe.HSet(ctx, liftedKey, "by", by, "at", p.now().UnixMilli(), "code", cur.Code, "msg", cur.Msg)
		pipe.Expire(ctx, liftedKey, time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return Pause{}, false, err
	}
	p.forget()
	if _, err := p.runParked(ctx); err != nil {
		return cur, on, err
	}
	return cur, on, nil
}

// Lifted is a pause a person ended early.
type Lifted struct {
	Code int
	Msg  string
	By   string
	At   time.Time
}

// LastLift returns the pause lifted within the last hour, if any.
func LastLift(ctx context.Context, rdb redis.UniversalClient) (Lifted, bool, error) {
	v, err := rdb.HGetAll(ctx, liftedKey).Result()
	if err != nil || len(v) == 0 {
		return Lifted{}, false, err
	}
	ms, _ := strconv.ParseInt(v["at"], 10, 64)
	code, _ := strconv.Atoi(v["code"])
	return Lifted{Code: code, Msg: v["msg"], By: v["by"], At: time.UnixMilli(ms)}, true, nil
}

// Current returns the pause in force, if any, as read from Redis at most
// a second ago. Handlers use it to skip the batcher during a pause.
func (p *Pauses) Current(ctx context.Context) (Pause, bool, error) {
	return p.read(ctx, false)
}

// Fresh returns the pause in force, read from Redis now. Calls are
// admitted on it, so that a pause set by any worker stops every worker's
// next call.
func (p *Pauses) Fresh(ctx context.Context) (Pause, bool, error) {
	return p.read(ctx, true)
}

// Last returns the pause as last read from Redis, and whether it is in force
// now. It does not touch Redis.
func (p *Pauses) Last() (Pause, bool) {
	p.mu.Lock()
	c := p.cached
	p.mu.Unlock()
	return c, c.Until.After(p.now())
}

// Now is the pauses' clock.
func (p *Pauses) Now() time.Time { return p.now() }

func (p *Pauses) read(ctx context.Context, fresh bool) (Pause, bool, error) {
	now := p.now()
	p.mu.Lock()
	if age := now.Sub(p.fetched); !fresh && !p.fetched.IsZero() && age >= 0 && age < p.ttl {
		c := p.cached
		p.mu.Unlock()
		return c, c.Until.After(now), nil
	}
	p.mu.Unlock()
	c, err := readPause(ctx, p.rdb)
	if err != nil {
		return Pause{}, false, err
	}
	p.mu.Lock()
	p.cached, p.fetched = c, now
	p.mu.Unlock()
	return c, c.Until.After(now), nil
}

// CurrentPause reads the pause in force from rdb, for status displays.
func CurrentPause(ctx context.Context, rdb redis.UniversalClient, now time.Time) (Pause, bool, error) {
	c, err := readPause(ctx, rdb)
	if err != nil {
		return Pause{}, false, err
	}
	return c, c.Until.After(now), nil
}

func readPause(ctx context.Context, rdb redis.UniversalClient) (Pause, error) {
	vals, err := rdb.HGetAll(ctx, PauseKey).Result()
	if err != nil {
		return Pause{}, err
	}
	ms := func(k string) time.Time {
		n, err := strconv.ParseInt(vals[k], 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n)
	}
	code, _ := strconv.Atoi(vals["code"])
	return Pause{Code: code, Msg: vals["msg"], Until: ms("until"), Since: ms("since"), By: vals["by"]}, nil
}
