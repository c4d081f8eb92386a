package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// budgets are the tokens' request budgets: a token bucket per token name,
// of this process. It is safe for simultaneous use.
type budgets struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu sync.Mutex
	by map[string]*rate.Limiter
}

func newBudgets(perSecond float64, burst int, now func() time.Time) *budgets {
	return &budgets{rate: rate.Limit(perSecond), burst: burst, now: now, by: map[string]*rate.Limiter{}}
}

// take spends one request of name's budget. When it is spent, take spends
// nothing and returns how long until a request is allowed again.
func (b *budgets) take(name string) (ok bool, wait time.Duration) {
	b.mu.Lock()
	l := b.by[name]
	if l == nil {
		l = rate.NewLimiter(b.rate, b.burst)
		b.by[name] = l
	}
	b.mu.Unlock()
	now := b.now()
	r := l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfter is a Retry-After in whole seconds, at least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
