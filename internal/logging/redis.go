package logging

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
	log   *zap.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time // when the last line was written; zero before the first
	suppressed int
}

// Redis returns a RedisLogger writing to log.
func Redis(log *zap.Logger) *RedisLogger {
	return &RedisLogger{log: log.Named("redis"), every: RedisEvery, now: time.Now}
}

// Printf implements go-redis's internal.Logging interface.
func (l *RedisLogger) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()

	var fields []zap.Field
	if n > 0 {
		fields = append(fields, zap.Int("suppressed", n))
	}
	text := strings.TrimSpace(fmt.Sprintf(format, v...))
	l.log.Warn("redis: "+strings.TrimPrefix(text, "redis: "), fields...)
}
