package fleet

import (
	"context"
	"errors"
	"fmt"
	"github.com/phonestart/phonestart/internal/clock"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of BudgetConfig: below GeeLark's documented 200 calls a minute
// and 24,000 an hour, leaving room for clock skew and for calls made by
// other tools on the same account.
const (
	DefaultRatePerMinute = 180
	DefaultRatePerHour   = 20000
)

// BudgetConfig configures a Budget.
type BudgetConfig struct {
	// Endpoint names the budget: GeeLark's limits are per endpoint, so each
	// endpoint phonestart calls has its own. Default "start".
	Endpoint string
	// Space is the deployment whose budget it is. Default: the
	// DefaultNamespace's.
	Space Space
	// PerMinute and PerHour are the most calls the whole fleet makes in any
	// 60-second and any 3600-second window. Defaults 180 and 20,000.
	PerMinute int
	PerHour   int
	// Now is the clock; Sleep waits for d or ctx. Defaults: fleet time
	// (NewClock on the same Redis) and a timer.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Budget is the API budget shared by every worker on one Redis: a generic
// cell rate algorithm (GCRA) without burst, one Lua call per attempt. Calls
// are spaced evenly, 60s/(PerMinute-1) apart, so that no 60-second window,
// however it is placed, holds more than PerMinute calls; the hourly limit is
// kept the same way. It is safe for simultaneous use by multiple
// goroutines, and by any number of processes sharing the Redis.
type Budget struct {
	rdb            redis.UniversalClient
	cfg            BudgetConfig
	minuteMS, hrMS int64 // spacing between calls, ms
}

// NewBudget returns the fleet budget kept in rdb.
func NewBudget(rdb redis.UniversalClient, cfg BudgetConfig) (*Budget, error) {
	if rdb == nil {
		return nil, errors.New("fleet: budget: Redis is required")
	}
	if cfg.PerMinute == 0 {
		cfg.PerMinute = DefaultRatePerMinute
	}
	if cfg.PerHour == 0 {
		cfg.PerHour = DefaultRatePerHour
	}
	if cfg.PerMinute < 2 || cfg.PerHour < 2 {
		return nil, fmt.Errorf("fleet: budget: %d a minute and %d an hour: each must be at least 2", cfg.PerMinute, cfg.PerHour)
	}
	if cfg.Now == nil {
		cfg.Now = NewClock(rdb, nil).Now
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "start"
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	return &Budget{
		rdb: rdb, cfg: cfg,
		minuteMS: spacing(time.Minute, cfg.PerMinute),
		hrMS:     spacing(time.Hour, cfg.PerHour),
	}, nil
}

// spacing is the gap between calls that puts at most n calls in any closed
// window of length w: n calls span (n-1) gaps, so the gap is w/(n-1), rounded
// up to the millisecond.
func spacing(w time.Duration, n int) int64 {
	return int64(math.Ceil(float64(w.Milliseconds()) / float64(n-1)))
}

// takeScript grants one call at ARGV[1] (Unix ms) when both theoretical
// arrival times have passed, and returns 0; otherwise it returns the ms to
// wait. It also counts granted calls per minute for status displays.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local tm = tonumber(redis.call("GET", KEYS[1]) or "0")
local th = tonumber(redis.call("GET", KEYS[2]) or "0")
local wait = math.max(tm - now, th - now)
if wait > 0 then return math.ceil(wait) end
redis.call("SET", KEYS[1], string.format("%.0f", now + tonumber(ARGV[2])), "PX", ARGV[2] + 1000)
redis.call("SET", KEYS[2], string.format("%.0f", now + tonumber(ARGV[3])), "PX", ARGV[3] + 1000)
redis.call("SET", KEYS[3], ARGV[4])
redis.call("INCR", KEYS[4])
redis.call("EXPIRE", KEYS[4], 120)
return 0`)

// Wait blocks until the fleet may make one more call, or ctx is done. A
// Redis error is returned as is: the caller must not call unmetered.
func (b *Budget) Wait(ctx context.Context) error {
	for {
		now := b.cfg.Now()
		minute := now.Unix() / 60
		wait, err := takeScript.Run(ctx, b.rdb,
			[]string{b.key("tat:minute"), b.key("tat:hour"), b.key("limit"), callsKey(b.cfg.Space, b.cfg.Endpoint, minute)},
			now.UnixMilli(), b.minuteMS, b.hrMS, b.cfg.PerMinute).Int64()
		if err != nil {
			return fmt.Errorf("api budget: %w", err)
		}
		if wait == 0 {
			return nil
		}
		// A little jitter so that waiting workers don't all ask at once.
		if err := b.cfg.Sleep(ctx, time.Duration(wait)*time.Millisecond+jitter(5*time.Millisecond)); err != nil {
			return err
		}
	}
}

func (b *Budget) key(what string) string { return budgetKey(b.cfg.Space, b.cfg.Endpoint, what) }

// budgetKey names the Redis keys of one endpoint's budget:
// {NAME}:budget:<endpoint>:<what>.
func budgetKey(sp Space, endpoint, what string) string { return sp.Key("budget", endpoint, what) }

// callsKey counts the calls granted to endpoint in one calendar minute.
func callsKey(sp Space, endpoint string, unixMinute int64) string {
	return budgetKey(sp, endpoint, "calls:"+strconv.FormatInt(unixMinute, 10))
}

// BudgetUsed returns the calls granted to endpoint in the current minute (by
// the calendar) and its per-minute limit, or a zero limit when no worker has
// metered a call yet.
func BudgetUsed(ctx context.Context, rdb redis.UniversalClient, sp Space, endpoint string, now time.Time) (used, limit int, err error) {
	vals, err := rdb.MGet(ctx, budgetKey(sp, endpoint, "limit"), callsKey(sp, endpoint, now.Unix()/60)).Result()
	if err != nil {
		return 0, 0, err
	}
	num := func(v any) int {
		s, _ := v.(string)
		n, _ := strconv.Atoi(s)
		return n
	}
	return num(vals[1]), num(vals[0]), nil
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// Endpoint names of the budgets: GeeLark meters each endpoint on its own.
const (
	EndpointStart  = "start"
	EndpointList   = "list"
	EndpointStatus = "status"
	EndpointStop   = "stop"
)
