package logging

import (
	"regexp"
	"sync"
	"time"
)

// throttle lets through at most one line of each kind per interval, and
// counts the lines of that kind it drops in between. It is safe for
// simultaneous use by multiple goroutines.
type throttle struct {
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	kinds map[string]*kindState
}

type kindState struct {
	last    time.Time // when a line of the kind was last let through
	dropped int       // lines dropped since
}

// maxKinds bounds the kinds a throttle remembers: beyond it, kinds whose
// interval has passed and that dropped nothing are forgotten.
const maxKinds = 256

func newThrottle(every time.Duration, now func() time.Time) *throttle {
	return &throttle{every: every, now: now, kinds: make(map[string]*kindState)}
}

// allow reports whether a line of kind is written now and, when it is,
// how many lines of that kind were dropped since the last one written.
func (t *throttle) allow(kind string) (ok bool, dropped int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	k := t.kinds[kind]
	if k == nil {
		if len(t.kinds) >= maxKinds {
			t.forget(now)
		}
		t.kinds[kind] = &kindState{last: now}
		return true, 0
	}
	if now.Sub(k.last) < t.every {
		k.dropped++
		return false, 0
	}
	dropped, k.last, k.dropped = k.dropped, now, 0
	return true, dropped
}

// forget drops the kinds whose interval has passed and that owe no count.
func (t *throttle) forget(now time.Time) {
	for kind, k := range t.kinds {
		if k.dropped == 0 && now.Sub(k.last) >= t.every {
			delete(t.kinds, kind)
		}
	}
}

// variable matches what changes between repeats of one message: UUIDs
// (task IDs) and runs of digits (ports, addresses, counts, phone IDs).
var variable = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9]+`)

// kindOf is the kind of a message: the message with its numbers and IDs
// stripped, so that "dial tcp 10.0.0.7:6379" repeats "dial tcp 10.0.0.8:6380".
func kindOf(msg string) string { return variable.ReplaceAllString(msg, "#") }
