package geelarktest

import (
	"net/http"
	"sync"
	"time"
)

// Fake is an http.Handler that serves POST /open/v1/phone/start, status,
// stop and list, and /open/v1/callback/set, as GeeLark documents them. Other
// paths are answered 404 and other methods 405; neither is recorded as a
// call. Create one with New and Close it when done; it is safe for
// simultaneous use by multiple goroutines.
type Fake struct {
	cfg      Config
	stop     chan struct{} // closed by Close: stop waiting out Latency, end the callback loop
	stopOnce sync.Once
	loop     sync.WaitGroup // the callback loop
	hc       *http.Client   // sends callbacks

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

	power          map[string]*power // by ID: phones ever started
	pending        map[string]bool   // IDs whose boot's start event is not taken yet
	boots          map[string]Boot   // ScriptBoot
	stopScripts    map[string]Script // ScriptStop
	stopAttempts   map[string]int
	statusScripts  map[string]Script // ScriptStatus
	statusAttempts map[string]int
	stops          map[string]int
	poison         map[string]int // Poison: ID -> call-level code
	doubleStarts   int
	callbackURL    string
	sent           []SentCallback
}

// New returns a Fake configured by cfg. With cfg.Callbacks on and a
// CallbackEvery that is not negative, it starts the loop that sends
// callbacks, which Close ends.
func New(cfg Config) *Fake {
	f := &Fake{cfg: cfg.withDefaults(), stop: make(chan struct{}),
		hc: &http.Client{Timeout: callbackTimeout}}
	f.reset()
	if f.cfg.Callbacks && f.cfg.CallbackEvery > 0 {
		f.loop.Add(1)
		go f.callbackLoop()
	}
	return f
}

// Close ends the callback loop, if any, and makes calls still waiting out
// Config.Latency drop their connection. It is safe to call more than once;
// Server.Close calls it.
func (f *Fake) Close() {
	f.stopOnce.Do(func() { close(f.stop) })
	f.loop.Wait()
}

// Script sets the outcome of phone id for the calls that follow, replacing
// any earlier Script of id.
func (f *Fake) Script(id string, s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[id] = s
}

// FailNext makes the next n accepted calls to any path (those that pass
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

// Calls returns a copy of every call so far, to any path, in order,
// refused ones included. Call.Path tells the endpoints apart.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Call, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.clone()
	}
	return out
}

// CallsTo returns the calls to one endpoint (geelark.StartPath, ...), in
// the order they came.
func (f *Fake) CallsTo(path string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if c.Path == path {
			out = append(out, c.clone())
		}
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
// Latency). A phone started twice counts 2, also when it was stopped in
// between; DoubleStarts counts only starts of a running phone.
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
// faults, the SetFaults function, violations, the rate windows, any
// lockout, the phones' power states, boot, stop and status scripts, stops,
// poisoned IDs, double starts, the callback URL and the callbacks sent. The
// Config stays.
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
	f.power = make(map[string]*power)
	f.pending = make(map[string]bool)
	f.boots = make(map[string]Boot)
	f.stopScripts = make(map[string]Script)
	f.stopAttempts = make(map[string]int)
	f.statusScripts = make(map[string]Script)
	f.statusAttempts = make(map[string]int)
	f.stops = make(map[string]int)
	f.poison = make(map[string]int)
	f.doubleStarts = 0
	f.callbackURL = ""
	f.sent = nil
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
