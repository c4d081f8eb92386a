package cli

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/phonestart/phonestart/internal/logging"
)

// newLogger is buildLogger, installed as go-redis's logger: go-redis's own
// lines then come out in the same format, rate-limited.
func newLogger(w io.Writer, format string) (*zap.Logger, error) {
	log, err := buildLogger(w, format)
	if err != nil {
		return nil, err
	}
	redis.SetLogger(logging.Redis(log))
	redisLogged.Store(true)
	return log, nil
}

// buildLogger is logging.New with the error naming the variable, writing
// durations as Go does ("500ms", "1m30s") in both formats: JSON would
// otherwise write seconds as a bare number (0.5) where the console writes
// 500ms, and a reader of one would misread the other.
func buildLogger(w io.Writer, format string) (*zap.Logger, error) {
	log, err := logging.New(w, format)
	if err != nil {
		return nil, bad("PHONESTART_LOG_FORMAT (--log-format) = %q: must be json, console or auto", format)
	}
	return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return durationStrings{c} })), nil
}

// durationStrings is a Core that hands its Core every duration field as
// the string Go writes for it. Only top-level fields: phonestart logs no
// duration inside an object.
type durationStrings struct{ zapcore.Core }

func (c durationStrings) With(fields []zapcore.Field) zapcore.Core {
	return durationStrings{c.Core.With(stringDurations(fields))}
}

func (c durationStrings) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c durationStrings) Write(e zapcore.Entry, fields []zapcore.Field) error {
	return c.Core.Write(e, stringDurations(fields))
}

// stringDurations returns fields with each duration a string; fields itself
// when there is none.
func stringDurations(fields []zapcore.Field) []zapcore.Field {
	var out []zapcore.Field
	for i, f := range fields {
		if f.Type != zapcore.DurationType {
			continue
		}
		if out == nil {
			out = append([]zapcore.Field(nil), fields...)
		}
		out[i] = zap.String(f.Key, time.Duration(f.Integer).String())
	}
	if out == nil {
		return fields
	}
	return out
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
