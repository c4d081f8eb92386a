package cli

import (
	"io"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/logging"
)

// newLogger is logging.New with the error naming the variable, and installs
// it as go-redis's logger: go-redis's own lines then come out in the same
// format, rate-limited.
func newLogger(w io.Writer, format string) (*zap.Logger, error) {
	log, err := logging.New(w, format)
	if err != nil {
		return nil, bad("PHONESTART_LOG_FORMAT (--log-format) = %q: must be json, console or auto", format)
	}
	redis.SetLogger(logging.Redis(log))
	redisLogged.Store(true)
	return log, nil
}

// redisLogged is whether a command's logger is go-redis's: go-redis has one
// logger per process. A one-shot command run in the same process after (in
// tests) leaves it be.
var redisLogged atomic.Bool

// quietRedis is go-redis's logger for commands that run once and report a
// Redis failure as their own error (enqueue, status, dead, cancel): go-redis's
// lines would only come before that error and say less.
func quietRedis() {
	if !redisLogged.Load() {
		redis.SetLogger(logging.Redis(zap.NewNop()))
	}
}
