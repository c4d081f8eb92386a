package logging

import (
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

// retryExhausted starts the warning asynq writes when it archives a task.
// phonestart's handler logs its own dead-letter line, with the GeeLark code,
// and a permanent failure archives a task on its first attempt, so asynq's
// line is both redundant and misleading.
const retryExhausted = "Retry exhausted for task"

// Asynq returns an asynq.Logger that writes asynq's lines to log, named
// "asynq", at their
// own level, except asynq's "Retry exhausted for task" warning, which it
// drops. It is safe for simultaneous use by multiple goroutines.
func Asynq(log *zap.Logger) asynq.Logger {
	return asynqLogger{log.Named("asynq").WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

type asynqLogger struct{ s *zap.SugaredLogger }

var _ asynq.Logger = asynqLogger{}

func (l asynqLogger) Debug(args ...any) { l.s.Debug(args...) }
func (l asynqLogger) Info(args ...any)  { l.s.Info(args...) }
func (l asynqLogger) Error(args ...any) { l.s.Error(args...) }
func (l asynqLogger) Fatal(args ...any) { l.s.Fatal(args...) }

func (l asynqLogger) Warn(args ...any) {
	if strings.HasPrefix(fmt.Sprint(args...), retryExhausted) {
		return
	}
	l.s.Warn(args...)
}
