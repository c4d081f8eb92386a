package logging

import (
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

// retryExhausted starts the warning asynq writes when it archives a task.
// phonestart's handler logs its own dead-letter line, with the GeeLark code,
// and a permanent failure archives a task on its first attempt, so asynq's
// line is both redundant and misleading.
const retryExhausted = "Retry exhausted for task"

// AsynqEvery is the shortest interval between two asynq lines of one kind:
// while Redis is away asynq logs every failed poll, about one a second for
// each of its pollers.
const AsynqEvery = 10 * time.Second

// Asynq returns an asynq.Logger that writes asynq's lines to log, named
// "asynq", at their own level, except asynq's "Retry exhausted for task"
// warning, which it drops. Lines of one kind (the same message once its
// numbers and IDs are stripped) come out at most once per AsynqEvery; the
// next one written counts those dropped (field "suppressed"). Fatal lines
// always come out. It is safe for simultaneous use by multiple goroutines.
func Asynq(log *zap.Logger) asynq.Logger { return newAsynq(log, time.Now) }

func newAsynq(log *zap.Logger, now func() time.Time) *asynqLogger {
	return &asynqLogger{
		log: log.Named("asynq").WithOptions(zap.AddCallerSkip(2)),
		t:   newThrottle(AsynqEvery, now),
	}
}

type asynqLogger struct {
	log *zap.Logger
	t   *throttle
}

var _ asynq.Logger = (*asynqLogger)(nil)

func (l *asynqLogger) Debug(args ...any) { l.write(l.log.Debug, args) }
func (l *asynqLogger) Info(args ...any)  { l.write(l.log.Info, args) }
func (l *asynqLogger) Error(args ...any) { l.write(l.log.Error, args) }
func (l *asynqLogger) Fatal(args ...any) {
	l.log.WithOptions(zap.AddCallerSkip(-1)).Fatal(fmt.Sprint(args...))
}

func (l *asynqLogger) Warn(args ...any) {
	if strings.HasPrefix(fmt.Sprint(args...), retryExhausted) {
		return
	}
	l.write(l.log.Warn, args)
}

// write writes one line through the throttle.
func (l *asynqLogger) write(at func(string, ...zap.Field), args []any) {
	msg := fmt.Sprint(args...)
	ok, dropped := l.t.allow(kindOf(msg))
	if !ok {
		return
	}
	if dropped > 0 {
		at(msg, zap.Int("suppressed", dropped))
		return
	}
	at(msg)
}
