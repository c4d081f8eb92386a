package fleet

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of StoreConfig.
const (
	// DefaultEventsMax is how many entries the events stream keeps, about.
	DefaultEventsMax = 100_000
	// DefaultRetention is how long an ended phone's record, and an ended
	// request, are kept.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultGrace is how long after a phone was given a task the
	// reconciler first looks whether the task exists.
	DefaultGrace = time.Minute
)

// StoreConfig configures a Store.
type StoreConfig struct {
	// Space is the deployment's namespace. Default: DefaultNamespace.
	Space Space
	// EventsMax caps the events stream, about. Default DefaultEventsMax.
	EventsMax int
	// Retention is how long ended records and requests are kept. Default
	// DefaultRetention.
	Retention time.Duration
	// DeadRetention, when positive, drops dead-letter entries older than
	// it. Default 0: kept until requeued or purged.
	DeadRetention time.Duration
	// Grace is how long after a task should exist the reconciler first
	// looks for it. Default DefaultGrace.
	Grace time.Duration
	// Now is the clock of the records. Default: fleet time (NewClock).
	Now func() time.Time
}

// Store holds the phones' records of one deployment and moves them. It is
// safe for simultaneous use by multiple goroutines, and by any number of
// processes sharing the Redis.
type Store struct {
	rdb redis.UniversalClient
	sp  Space
	cfg StoreConfig
}

// NewStore returns the records kept in rdb.
func NewStore(rdb redis.UniversalClient, cfg StoreConfig) (*Store, error) {
	if rdb == nil {
		return nil, errNoRedis
	}
	if cfg.EventsMax <= 0 {
		cfg.EventsMax = DefaultEventsMax
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = NewClock(rdb, nil).Now
	}
	return &Store{rdb: rdb, sp: cfg.Space, cfg: cfg}, nil
}

// Space is the store's namespace.
func (s *Store) Space() Space { return s.sp }

// Redis is the store's client.
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.cfg.Now() }

// Retention is how long ended records and requests are kept.
func (s *Store) Retention() time.Duration { return s.cfg.Retention }

// common returns the ARGV every record script starts with (see luaLib),
// for a step at now.
func (s *Store) common(now time.Time) []any {
	return []any{s.sp.Prefix(), now.UnixMilli(), now.UTC().Format(time.RFC3339Nano), s.cfg.EventsMax,
		int64(s.cfg.Retention / time.Second), s.cfg.Grace.Milliseconds(), s.cfg.DeadRetention.Milliseconds()}
}

// run runs script (luaLib and body) over the store's keys with the common
// arguments and args.
func (s *Store) run(ctx context.Context, sc *redis.Script, now time.Time, args ...any) (any, error) {
	return sc.Run(ctx, s.rdb, []string{s.sp.EventsKey()}, append(s.common(now), args...)...).Result()
}

// script builds a record script from its body.
func script(body string) *redis.Script { return redis.NewScript(luaLib + body) }

// strs reads a script's reply of strings.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, len(a))
	for i, x := range a {
		switch x := x.(type) {
		case string:
			out[i] = x
		case int64:
			out[i] = strconv.FormatInt(x, 10)
		}
	}
	return out
}

// chunk splits n items into runs of at most size.
func chunks(n, size int, f func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += size {
		if err := f(lo, min(lo+size, n)); err != nil {
			return err
		}
	}
	return nil
}
