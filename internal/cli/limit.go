package cli

import (
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// limitFlags are the fleet-wide API budget.
type limitFlags struct{ perMinute, perHour int }

func (l *limitFlags) register(s *settings) {
	s.Int(&l.perMinute, "rate-per-minute", "PHONESTART_RATE_PER_MINUTE", fleet.DefaultRatePerMinute,
		"API calls a minute for the whole fleet (GeeLark allows 200)", between(2, 1000000))
	s.Int(&l.perHour, "rate-per-hour", "PHONESTART_RATE_PER_HOUR", fleet.DefaultRatePerHour,
		"API calls an hour for the whole fleet (GeeLark allows 24,000)", between(2, 100000000))
}

func (l *limitFlags) limiter(rdb *redis.Client, sp fleet.Space, log *zap.Logger) (worker.Limiter, error) {
	if l.perMinute > 200 || l.perHour > 24000 {
		log.Warn("API budget above GeeLark's documented 200 calls a minute / 24,000 an hour: going over can lock the account out for two hours",
			zap.Int("per_minute", l.perMinute), zap.Int("per_hour", l.perHour))
	}
	return l.budget(rdb, sp, fleet.EndpointStart)
}

// budget is endpoint's fleet budget at the configured rates: GeeLark
// meters each endpoint on its own.
func (l *limitFlags) budget(rdb redis.UniversalClient, sp fleet.Space, endpoint string) (*fleet.Budget, error) {
	b, err := fleet.NewBudget(rdb, fleet.BudgetConfig{Space: sp, Endpoint: endpoint, PerMinute: l.perMinute, PerHour: l.perHour})
	if err != nil {
		return nil, bad("%v", err)
	}
	return b, nil
}

// demoLimiter is the demo's budget of endpoint: the production default.
func demoLimiter(rdb *redis.Client, endpoint string) worker.Limiter {
	b, _ := fleet.NewBudget(rdb, fleet.BudgetConfig{Endpoint: endpoint})
	return b
}
