package geelarktest

import (
	"sync"
	"time"
)

// Fake is an http.Handler that serves POST /open/v1/phone/start and POST
// /open/v1/phone/list as GeeLark documents them. Other paths are answered 404
// and other methods 405; neither is recorded as a call. Create one with New;
// it is safe for simultaneous use by multiple goroutines.
type Fake struct {
	cfg      Config
	stop     chan struct{} // closed by Server.Close: stop waiting out Latency
	stopOnce sync.Once

	mu          sync.Mutex
	calls       []Call
	attempts    map[string]int
	starts      map[string]int
	scripts     map[string]Script
	queue       []Fault
	faults      func(call int) Fault
	violations  int
	windows     map[string]*window // by path
	lockedUntil time.Time
	phones      []Phone        // in the order registered
	phoneIndex  map[string]int // ID -> index in phones
}

// New returns a Fake configured by cfg.
func New(cfg Config) *Fake {
	f := &Fake{cfg: cfg.withDefaults(), stop: make(chan struct{})}
	f.reset()
	return f
}

// Script sets the outcome of phone id for the calls that follow, replacing
// any earlier Script of id.
func (f *Fake) Script(id string, s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[id] = s
}

// FailNext makes the next n accepted calls to either path (those that pass
// authentication, validation and the rate budget) fail with fault. Faults queued by several
// FailNext calls are used in the order they were queued.
func (f *Fake) FailNext(n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue = append(f.queue, fault)
	}
}

// SetFaults sets the function that decides the fault of each accepted call
// while no FailNext fault is queued; call is the Call.N of the call. Nil
// clears it. fn is called with the Fake's lock held and must not call the
// Fake.
func (f *Fake) SetFaults(fn func(call int) Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = fn
}

// Calls returns a copy of every call so far, to either path, in order,
// refused ones included. Call.Path tells start and list calls apart.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Call, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.clone()
	}
	return out
}

// Attempts returns how many calls carrying id reached phone processing:
// calls refused before it (authentication, validation, rate budget,
// Fault500, FaultCode) are not counted.
func (f *Fake) Attempts(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

// Starts returns how many times id was started, whether or not the client
// saw the answer (FaultTruncated, FaultDrop, FaultOmit, a client gone during
// Latency). A phone started twice counts 2.
func (f *Fake) Starts(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[id]
}

// Violations returns how many calls were refused for the per-minute budget
// (40007) or the hourly budget and its lockout (40014).
func (f *Fake) Violations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.violations
}

// Reset forgets calls, attempts, starts, scripts, registered phones, queued
// faults, the SetFaults function, violations, the rate windows and any
// lockout. The Config stays.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reset()
}

func (f *Fake) reset() {
	f.calls = nil
	f.attempts = make(map[string]int)
	f.starts = make(map[string]int)
	f.scripts = make(map[string]Script)
	f.queue = nil
	f.faults = nil
	f.violations = 0
	f.windows = make(map[string]*window)
	f.lockedUntil = time.Time{}
	f.phones = nil
	f.phoneIndex = make(map[string]int)
}

// nextFault takes the fault of accepted call n. f.mu must be held.
func (f *Fake) nextFault(n int) Fault {
	if len(f.queue) > 0 {
		fault := f.queue[0]
		f.queue = f.queue[1:]
		return fault
	}
	if f.faults != nil {
		return f.faults(n)
	}
	return Fault{}
}
