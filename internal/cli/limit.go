package cli

import (
	"github.com/phonestart/phonestart/worker"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// limitFlags are the fleet-wide API budget.
type limitFlags struct{}

func (l *limitFlags) register(s *settings) {}

func (l *limitFlags) limiter(rdb *redis.Client, log *zap.Logger) worker.Limiter { return nil }

// demoLimiter is the demo's budget: the production default.
func demoLimiter(rdb *redis.Client) worker.Limiter { return nil }
