package logging

import (
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

// Field is zap.Any, so that tests need not import zap for one field.
var Field = zap.Any

// SetClock makes l read the time from now.
func (l *RedisLogger) SetClock(now func() time.Time) { l.now = now }

// AsynqAt is Asynq with the clock now.
func AsynqAt(log *zap.Logger, now func() time.Time) asynq.Logger { return newAsynq(log, now) }
