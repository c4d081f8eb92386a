package geelarktest

import (
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// Codes the status and stop endpoints answer per phone.
const (
	codeNoPhone = 42001 // the phone does not exist
	codeExpired = 43004 // the phone has expired
)

// power is the power record of a phone whose start was accepted at least
// once.
type power struct {
	on       bool      // the last accepted start was not followed by a stop
	since    time.Time // when that start was accepted
	boot     Boot      // how this boot goes, Boot.Times already applied
	boots    int       // starts accepted while the phone was not running
	notified bool      // this boot's start event was taken (or is not due)
}

// state is the phone's power state at now.
func (p *power) state(now time.Time) geelark.PhoneState {
	switch {
	case p == nil || !p.on:
		return geelark.StateShutDown
	case p.boot.Never || now.Before(p.since.Add(p.boot.Time)):
		return geelark.StateStarting
	case p.boot.FallBack:
		return geelark.StateShutDown
	}
	return geelark.StateStarted
}

// running reports whether a state is 0 (Started) or 1 (Starting).
func running(s geelark.PhoneState) bool {
	return s == geelark.StateStarted || s == geelark.StateStarting
}

// ScriptBoot sets how phone id boots after its next accepted starts,
// replacing Config.Boot and any earlier ScriptBoot of id. A boot already
// under way keeps its course.
func (f *Fake) ScriptBoot(id string, b Boot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.boots[id] = b
}

// ScriptStop sets the outcome of phone id for the stop calls that follow,
// replacing any earlier ScriptStop of id: Code for its first Times stop
// attempts (0: every attempt), then the phone stops. Stop attempts are
// counted apart from start attempts.
func (f *Fake) ScriptStop(id string, s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopScripts[id] = s
}

// ScriptStatus sets what the status endpoint answers for phone id in the
// status calls that follow, replacing any earlier ScriptStatus of id: Code
// in failDetails (as GeeLark answers a phone it cannot report on just now,
// 50000 or 40010) for the first Times status calls naming it (0: every
// one), then its power state. Status attempts are counted from this call
// on. The phone's power state is not changed: a booting phone goes on
// booting.
func (f *Fake) ScriptStatus(id string, s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusScripts[id] = s
	delete(f.statusAttempts, id)
}

// Poison makes every start call that names id answer the call-level code
// (e.g. 40004), with no details and no phone of the call processed, as
// GeeLark answers a call with a parameter it refuses. Code 0 lifts it.
// Poisoned calls spend the start endpoint's budget (GeeLark does not say
// whether refused calls count; the fake takes the stricter reading) and
// take no fault.
func (f *Fake) Poison(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == 0 {
		delete(f.poison, id)
		return
	}
	f.poison[id] = code
}

// State returns phone id's power state now, as the status endpoint would
// answer it; StateUnknown for a phone that does not exist.
func (f *Fake) State(id string) geelark.PhoneState {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, code := f.phoneState(id, f.cfg.Now())
	if code != 0 {
		return geelark.StateUnknown
	}
	return s
}

// Running reports whether phone id is at 0 (Started) or 1 (Starting) now.
func (f *Fake) Running(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return running(f.power[id].state(f.cfg.Now()))
}

// DoubleStarts returns how many starts were accepted for a phone that was
// already running (at 0 or 1): the starts a careful client never sends.
// Such a start changes nothing on the phone.
func (f *Fake) DoubleStarts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.doubleStarts
}

// Stops returns how many stop calls stopped phone id, whether or not the
// client saw the answer.
func (f *Fake) Stops(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stops[id]
}

// bootOf returns how phone id boots. f.mu must be held.
func (f *Fake) bootOf(id string) Boot {
	if b, ok := f.boots[id]; ok {
		return b
	}
	if f.cfg.Boot != nil {
		return f.cfg.Boot(id)
	}
	return Boot{}
}

// accept records an accepted start of phone id at now: a phone not running
// begins a boot; a running one is counted as a double start and left as it
// is. f.mu must be held.
func (f *Fake) accept(id string, now time.Time) {
	p := f.power[id]
	if p == nil {
		p = &power{}
		f.power[id] = p
	}
	if running(p.state(now)) {
		f.doubleStarts++
		return
	}
	p.boots++
	b := f.bootOf(id)
	if b.Times > 0 && p.boots > b.Times {
		b.Never, b.FallBack = false, false
	}
	*p = power{on: true, since: now, boot: b, boots: p.boots, notified: b.Never}
	if !b.Never && f.cfg.Callbacks {
		f.pending[id] = true
	}
}

// phoneState is the state the status endpoint answers for id at now, or the
// failDetails code for a phone that does not exist. A phone never started
// does not exist when its next start would answer 42001, and is expired
// (3) when it would answer 43004. f.mu must be held.
func (f *Fake) phoneState(id string, now time.Time) (geelark.PhoneState, int) {
	if p := f.power[id]; p != nil {
		return p.state(now), 0
	}
	switch f.outcome(id, f.attempts[id]+1).Code {
	case codeNoPhone:
		return geelark.StateUnknown, codeNoPhone
	case codeExpired:
		return geelark.StateExpired, 0
	}
	return geelark.StateShutDown, 0
}

// serialName is the registered name of phone id, or "". f.mu must be held.
func (f *Fake) serialName(id string) string {
	if i, ok := f.phoneIndex[id]; ok {
		return f.phones[i].SerialName
	}
	return ""
}

// statusPhones answers an accepted status call. Under FaultOmit the first
// phone with a state is left out of the reply. f.mu must be held.
func (f *Fake) statusPhones(c *Call, ids []string, omit bool) *statusData {
	d := &statusData{TotalAmount: len(ids), SuccessDetails: []statusDetail{}, FailDetails: []failDetail{}}
	for _, id := range ids {
		s, code := f.phoneState(id, c.Time)
		if sc, ok := f.statusScripts[id]; ok && code == 0 && sc.Code != 0 {
			f.statusAttempts[id]++
			if sc.Times == 0 || f.statusAttempts[id] <= sc.Times {
				code = sc.Code
				d.FailDetails = append(d.FailDetails, failDetail{Code: code, ID: id, Msg: message(code, sc.Msg)})
				c.failed(id, code)
				continue
			}
		}
		if code != 0 {
			d.FailDetails = append(d.FailDetails, failDetail{Code: code, ID: id, Msg: message(code, "")})
			c.failed(id, code)
			continue
		}
		if omit && c.Omitted == "" {
			c.Omitted = id
			continue
		}
		d.SuccessDetails = append(d.SuccessDetails, statusDetail{ID: id, SerialName: f.serialName(id), Status: int(s)})
		if c.States == nil {
			c.States = make(map[string]geelark.PhoneState)
		}
		c.States[id] = s
	}
	d.SuccessAmount, d.FailAmount = len(d.SuccessDetails), len(d.FailDetails)
	return d
}

// stopPhones answers an accepted stop call: each phone that exists and has
// no ScriptStop code for this attempt is shut down (status 2), running or
// not, and its pending start event is dropped. Under FaultOmit the first
// stopped phone is left out of the reply. f.mu must be held.
func (f *Fake) stopPhones(c *Call, ids []string, omit bool) *statusData {
	d := &statusData{TotalAmount: len(ids), SuccessDetails: []statusDetail{}, FailDetails: []failDetail{}}
	for _, id := range ids {
		if _, code := f.phoneState(id, c.Time); code != 0 {
			d.FailDetails = append(d.FailDetails, failDetail{Code: code, ID: id, Msg: message(code, "")})
			c.failed(id, code)
			continue
		}
		f.stopAttempts[id]++
		if s, ok := f.stopScripts[id]; ok && s.Code != 0 && (s.Times == 0 || f.stopAttempts[id] <= s.Times) {
			d.FailDetails = append(d.FailDetails, failDetail{Code: s.Code, ID: id, Msg: message(s.Code, s.Msg)})
			c.failed(id, s.Code)
			continue
		}
		if p := f.power[id]; p != nil {
			p.on, p.notified = false, true
		}
		delete(f.pending, id)
		f.stops[id]++
		c.Stopped = append(c.Stopped, id)
		if omit && c.Omitted == "" {
			c.Omitted = id
			continue
		}
		d.SuccessDetails = append(d.SuccessDetails, statusDetail{ID: id, SerialName: f.serialName(id), Status: int(geelark.StateShutDown)})
	}
	d.SuccessAmount, d.FailAmount = len(d.SuccessDetails), len(d.FailDetails)
	return d
}

// failed records that id was answered in failDetails with code.
func (c *Call) failed(id string, code int) {
	if c.Failed == nil {
		c.Failed = make(map[string]int)
	}
	c.Failed[id] = code
}
