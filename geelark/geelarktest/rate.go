package geelarktest

import (
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// spend charges one call at now to the rate budget and returns 0, or the
// code that refuses the call. f.mu must be held.
func (f *Fake) spend(now time.Time) int {
	if now.Before(f.lockedUntil) {
		f.violations++
		return geelark.CodeHourlyLimitLocked
	}
	if f.cfg.RatePerHour > 0 {
		f.hour = prune(f.hour, now.Add(-time.Hour))
		if len(f.hour) >= f.cfg.RatePerHour {
			f.lockedUntil = now.Add(geelark.LockoutDuration)
			f.violations++
			return geelark.CodeHourlyLimitLocked
		}
	}
	if f.cfg.RatePerMinute > 0 {
		f.minute = prune(f.minute, now.Add(-time.Minute))
		if len(f.minute) >= f.cfg.RatePerMinute {
			f.violations++
			return geelark.CodeTooManyRequests
		}
		f.minute = append(f.minute, now)
	}
	if f.cfg.RatePerHour > 0 {
		f.hour = append(f.hour, now)
	}
	return 0
}

// prune drops the times at or before cutoff from the front of ts, which is
// in the order calls were handled.
func prune(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}
