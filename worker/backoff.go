package worker

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// backoff returns the delay before retry n+1 (n retries so far): a uniform
// random duration between base and min(max, base·2ⁿ). Full jitter keeps a
// fleet of phones that failed together from coming back together.
func backoff(n int, base, max time.Duration) time.Duration {
	ceil := base
	for i := 0; i < n && ceil < max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, max)
	if ceil <= base {
		return base
	}
	return base + rand.N(ceil-base+1)
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// waitRetry is about how long a phone waits (see waitError) before it
// comes round again, or RetryMax if shorter.
const waitRetry = 10 * time.Second

// retryDelay is the worker's asynq.RetryDelayFunc.
func (w *Worker) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	now := w.cfg.Now()
	var pe *pausedError
	if errors.As(err, &pe) && pe.soon {
		// Back to the queue at once, for another worker.
		return jitter(time.Second)
	}
	if errors.As(err, &pe) {
		// Spread the return over a few seconds so the first call after a
		// pause is not a stampede.
		wait := max(pe.p.Until.Sub(now), 0)
		return wait + jitter(min(wait/10, 5*time.Second)+time.Second)
	}
	if errors.Is(err, errHandBack) {
		return 0
	}
	var we *waitError
	if errors.As(err, &we) {
		d := min(waitRetry, w.cfg.RetryMax)
		return d/2 + jitter(d)
	}
	var ph *PhoneError
	if errors.As(err, &ph) && !ph.RetryAt.IsZero() {
		// The time the phone's record says it is due again.
		return max(ph.RetryAt.Sub(now), 0)
	}
	return backoff(n, w.cfg.RetryBase, w.cfg.RetryMax)
}
