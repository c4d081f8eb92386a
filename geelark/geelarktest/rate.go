package geelarktest

import (
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// window holds one endpoint's accepted calls of the last minute and of the
// last hour, oldest first. GeeLark counts its budget per endpoint.
type window struct {
	minute, hour []time.Time
}

// spend charges one call to path at now to that endpoint's rate budget and
// returns 0, or the code that refuses the call. The two-hour lockout of
// 40014 locks the account's API access, so it refuses calls to every path.
// f.mu must be held.
func (f *Fake) spend(path string, now time.Time) int {
	if now.Before(f.lockedUntil) {
		f.violations++
		return geelark.CodeHourlyLimitLocked
	}
	w := f.windows[path]
	if w == nil {
		w = &window{}
		f.windows[path] = w
	}
	if f.cfg.RatePerHour > 0 {
		w.hour = prune(w.hour, now.Add(-time.Hour))
		if len(w.hour) >= f.cfg.RatePerHour {
			f.lockedUntil = now.Add(geelark.LockoutDuration)
			f.violations++
			return geelark.CodeHourlyLimitLocked
		}
	}
	if f.cfg.RatePerMinute > 0 {
		w.minute = prune(w.minute, now.Add(-time.Minute))
		if len(w.minute) >= f.cfg.RatePerMinute {
			f.violations++
			return geelark.CodeTooManyRequests
		}
		w.minute = append(w.minute, now)
	}
	if f.cfg.RatePerHour > 0 {
		w.hour = append(w.hour, now)
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
