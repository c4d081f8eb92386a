package logging

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// RedisEvery is the shortest interval between two go-redis lines: a Redis
// outage makes go-redis's pool report every failed dial, dozens a second.
const RedisEvery = 10 * time.Second

// RedisLogger passes go-redis's own log lines ("redis: connection pool: ...")
// to a zap logger named "redis" at warn level, at most one every RedisEvery; each line
// counts the ones suppressed since the last (field "suppressed"). Install it
// with redis.SetLogger before any Redis use. It is safe for simultaneous use
// by multiple goroutines.
type RedisLogger struct {
	log *zap.Logger
	now func() time.Time
	t   *throttle // one kind: every go-redis line counts against the same interval
}

// Redis returns a RedisLogger writing to log.
func Redis(log *zap.Logger) *RedisLogger {
	l := &RedisLogger{log: log.Named("redis"), now: time.Now}
	l.t = newThrottle(RedisEvery, func() time.Time { return l.now() })
	return l
}

// Printf implements go-redis's internal.Logging interface.
func (l *RedisLogger) Printf(_ context.Context, format string, v ...any) {
	ok, n := l.t.allow("")
	if !ok {
		return
	}
	var fields []zap.Field
	if n > 0 {
		fields = append(fields, zap.Int("suppressed", n))
	}
	text := strings.TrimSpace(fmt.Sprintf(format, v...))
	l.log.Warn("redis: "+strings.TrimPrefix(text, "redis: "), fields...)
}
