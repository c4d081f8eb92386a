package redisconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// WatchConfig configures Watch.
type WatchConfig struct {
	// Addr names the Redis in log lines, without credentials (Describe's
	// answer for the URL). Required.
	Addr string
	// Logger receives the two lines of each outage. Required.
	Logger *zap.Logger
	// Now is the clock an outage is timed with. Default time.Now.
	Now func() time.Time
}

// Watcher logs a Redis outage as it sees it in the client's own commands:
// one warning when a command first finds Redis unreachable, and one info
// line when a command gets an answer again, saying how long Redis was away
// and how many commands failed meanwhile. The commands' own errors still
// go to their callers. It is safe for simultaneous use by multiple
// goroutines.
//
// A long-running process sends commands all the time (asynq polls every
// second), so the lines follow the outage closely; a process that sends
// none learns nothing.
type Watcher struct {
	cfg WatchConfig

	mu     sync.Mutex
	down   bool
	since  time.Time // when the outage was first seen
	failed int       // commands that failed since
}

var _ redis.Hook = (*Watcher)(nil)

// Watch adds a Watcher to rdb's hooks and returns it. Add it once per
// client.
func Watch(rdb *redis.Client, cfg WatchConfig) *Watcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Watcher{cfg: cfg}
	rdb.AddHook(w)
	return w
}

// DialHook implements redis.Hook: a failed dial shows as its command's error.
func (w *Watcher) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (w *Watcher) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		w.observe(ctx, err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (w *Watcher) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		w.observe(ctx, err)
		return err
	}
}

// observe notes what one command (or pipeline) says about Redis.
func (w *Watcher) observe(ctx context.Context, err error) {
	reachable, known := reachability(ctx, err)
	if !known {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !reachable && !w.down:
		w.down, w.since, w.failed = true, w.cfg.Now(), 1
		w.cfg.Logger.Warn(fmt.Sprintf("Redis at %s unreachable: %v", w.cfg.Addr, err), zap.String("redis", w.cfg.Addr))
	case !reachable:
		w.failed++
	case w.down:
		w.down = false
		away := w.cfg.Now().Sub(w.since)
		w.cfg.Logger.Info(fmt.Sprintf("Redis at %s reachable again after %v", w.cfg.Addr, roundAway(away)),
			zap.String("redis", w.cfg.Addr), zap.Duration("away", away), zap.Int("failed_commands", w.failed))
	}
}

// reachability says whether a command's error means Redis answered
// (reachable), did not (unreachable), or neither (known false): the
// caller gave up, the client was closed, or the pool was busy.
func reachability(ctx context.Context, err error) (reachable, known bool) {
	var re redis.Error // a reply of the server, redis.Nil included
	switch {
	case err == nil, errors.As(err, &re):
		return true, true
	case ctx.Err() != nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return false, false
	}
	// A refused or failed dial, a dropped connection, a read timeout.
	return false, true
}

// roundAway rounds an outage's length for reading: to a tenth of a second,
// or a millisecond below a second.
func roundAway(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
