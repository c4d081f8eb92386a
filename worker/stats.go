package worker

import (
	"maps"
	"sync"
)

// Stats counts what one worker did since it started.
type Stats struct {
	Calls      int         // API calls made
	CallIDs    int         // phone IDs sent in those calls
	Started    int         // phones settled as started
	Retried    int         // retries scheduled (not counting pauses)
	Paused     int         // phones sent back to wait out a pause
	Dead       map[int]int // phones dead-lettered, by code (0: outcome unknown)
	CallCodes  map[int]int // call-level error codes
	Unknown    int         // calls whose outcome was unknown
	Ready      int         // booting phones this worker confirmed usable
	BootFailed int         // booting phones that failed to boot (started again or dead)
	StopCalls  int         // stop calls made
	Stopped    int         // phones settled as stopped
}

// MeanIDsPerCall is CallIDs / Calls.
func (s Stats) MeanIDsPerCall() float64 {
	if s.Calls == 0 {
		return 0
	}
	return float64(s.CallIDs) / float64(s.Calls)
}

type counters struct {
	mu sync.Mutex
	s  Stats
}

func newCounters() *counters {
	return &counters{s: Stats{Dead: map[int]int{}, CallCodes: map[int]int{}}}
}

func (c *counters) add(f func(*Stats)) {
	c.mu.Lock()
	f(&c.s)
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	s.Dead = maps.Clone(c.s.Dead)
	s.CallCodes = maps.Clone(c.s.CallCodes)
	return s
}
