package fleet

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// States of a phone's record. A phone is in exactly one; docs/design.md
// draws who moves it from which to which.
const (
	StateQueued    = "queued"    // a start waits for a worker (or for a pause to end)
	StateScheduled = "scheduled" // a start waits for its time
	StateRetry     = "retry"     // a start failed and waits for its backoff
	StateSending   = "sending"   // a start call is out (or was, and its answer was lost)
	StateBooting   = "booting"   // GeeLark accepted the start; not yet reported usable
	StateReady     = "ready"     // usable (ends a start)
	StateDead      = "dead"      // will not start (or stop) without a person (ends it)
	StateCancelled = "cancelled" // its waiting start or stop was called off (ends it)
	StateStopping  = "stopping"  // a stop waits for its time, a worker, or its call
	StateStopped   = "stopped"   // shut down by phonestart (ends a stop)
)

// Live reports whether state is one a phone is on its way through.
func Live(state string) bool {
	switch state {
	case StateQueued, StateScheduled, StateRetry, StateSending, StateBooting, StateStopping:
		return true
	}
	return false
}

// Ended reports whether state ends a request's phone.
func Ended(state string) bool {
	switch state {
	case StateReady, StateDead, StateCancelled, StateStopped:
		return true
	}
	return false
}

// LiveStates lists the live states in the order status shows them.
var LiveStates = []string{StateQueued, StateScheduled, StateRetry, StateSending, StateBooting, StateStopping}

// Actions: what a phone's current intent asks of GeeLark.
const (
	ActionStart = "start"
	ActionStop  = "stop"
)

// Steps of a phone's life, the Event of an Event.
const (
	EventEnqueued     = "enqueued"      // a start was asked for
	EventStarted      = "started"       // GeeLark accepted its start; it boots
	EventReady        = "ready"         // GeeLark reports it Started: usable
	EventRetry        = "retry"         // an attempt failed; it is tried again
	EventDead         = "dead"          // it will not start (or stop) without a person
	EventRequeued     = "requeued"      // a person sent a dead phone back
	EventPurged       = "purged"        // a person deleted a dead phone's entry
	EventCancelled    = "cancelled"     // its waiting start or stop was called off
	EventStopEnqueued = "stop_enqueued" // a stop was asked for
	EventStopped      = "stopped"       // GeeLark stopped it
)

// Reasons a phone failed, the Reason of an event or dead entry.
const (
	// ReasonGeeLark: a GeeLark code decided it (Code says which).
	ReasonGeeLark = "geelark"
	// ReasonUnknown: its attempts ran out without GeeLark ever answering
	// for it (timeouts, unreadable replies); Code is 0.
	ReasonUnknown = "unknown"
	// ReasonBadTask: its task could not be read; Code is 0.
	ReasonBadTask = "bad_task"
	// ReasonBootTimeout: still Starting after the boot timeout.
	ReasonBootTimeout = "boot_timeout"
	// ReasonBootFailed: GeeLark reported it shut down or expired after
	// accepting its start, or a callback said the start failed.
	ReasonBootFailed = "boot_failed"
	// ReasonSuperseded: a later request of the other action replaced a
	// start or stop that had not reached GeeLark.
	ReasonSuperseded = "superseded"
)

// Verdicts a GeeLark callback can give on a boot.
const (
	VerdictReady  = "ready"
	VerdictFailed = "failed"
)

// Phone is a phone's record: the one truth about where it is. Every
// change is one Lua script that checks the state (and generation, call
// token or version) it expects, writes the record, keeps the counts and
// indexes, and appends the step to the events stream.
type Phone struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Action string `json:"action"`
	// Gen is the generation of the phone's current intent: every new
	// request that changes what is asked of the phone takes a new one,
	// from a counter of the whole deployment, and every task carries the
	// generation it was made for. A task whose generation is no longer
	// the record's is acknowledged without doing anything.
	Gen int64 `json:"gen"`
	// Ver is bumped by every change; boot checks are fenced by it.
	Ver int64 `json:"ver"`
	// Task numbers the tasks of this generation (the task ID is
	// ID:Gen:Task): a phone started again after a failed boot gets a new
	// task.
	Task    int                  `json:"task"`
	Since   time.Time            `json:"since"`             // when it entered State
	Attempt int                  `json:"attempt,omitempty"` // calls made for the current action
	Code    int                  `json:"code,omitempty"`
	Reason  string               `json:"reason,omitempty"`
	Msg     string               `json:"msg,omitempty"`
	URL     string               `json:"url,omitempty"`
	Options geelark.StartOptions `json:"options"`
	// StopAfter is the start's billing guard; 0: the workers' max runtime.
	StopAfter time.Duration `json:"stop_after,omitempty"`
	// Due is when a scheduled start, a retry or a stop comes due.
	Due time.Time `json:"due,omitzero"`
	// Call is the token of the call the phone is in ("start:..." or
	// "stop:..."), "" when none.
	Call string `json:"call,omitempty"`
	// Unanswered is set when a start call went out and its answer for
	// this phone was lost: the phone is checked before any second start.
	Unanswered bool `json:"unanswered,omitempty"`
	// Waits names the fleet pause the phone waits out, "" when none.
	Waits string `json:"waits,omitempty"`
	// Boot is set while the phone boots.
	Boot Boot `json:"boot,omitzero"`
	// Guard is when the billing guard stops a ready phone.
	Guard time.Time `json:"guard,omitzero"`
	// Requests are the requests the phone's current life belongs to, and
	// Labels their labels; Carried the requests of an intent a later one
	// replaced while it was at GeeLark, which end with the phone's next
	// end.
	Requests []string `json:"requests,omitempty"`
	Labels   []string `json:"labels,omitempty"`
	Carried  []string `json:"carried,omitempty"`
}

// Known reports whether phonestart has a record of the phone.
func (p Phone) Known() bool { return p.State != "" }

// Boot is what a booting phone's record holds of its boot.
type Boot struct {
	StartedAt time.Time `json:"started_at,omitzero"`
	Deadline  time.Time `json:"deadline,omitzero"` // still Starting after it: failed to boot
	// Seen is the state the last status check reported ("" before one).
	Seen string `json:"seen,omitempty"`
	// FirstCheck is the fleet's first-check age in force when the phone
	// was first checked (0 before that): see Checks.
	FirstCheck time.Duration `json:"first_check,omitempty"`
	// Verdict is set by a GeeLark callback: VerdictReady or VerdictFailed.
	Verdict string `json:"verdict,omitempty"`
}

// IsZero reports whether b holds nothing.
func (b Boot) IsZero() bool { return b.StartedAt.IsZero() && b.Verdict == "" }

// Record field names, as the Lua scripts read and write them.
const (
	fState    = "st"
	fAction   = "act"
	fGen      = "gen"
	fVer      = "ver"
	fTask     = "tk"
	fSince    = "since"
	fAttempt  = "att"
	fCode     = "code"
	fReason   = "reason"
	fMsg      = "msg"
	fURL      = "url"
	fOptions  = "opts"
	fStopAft  = "sa"
	fDue      = "due"
	fCall     = "call"
	fUnans    = "unans"
	fWaits    = "waits"
	fBootAt   = "bt_at"
	fBootDL   = "bt_dl"
	fBootSeen = "bt_seen"
	fBootFC   = "bt_fc"
	fVerdict  = "bt_v"
	fGuard    = "guard"
	fReqs     = "reqs"
	fLabels   = "labels"
	fCarried  = "oreqs"
)

// phoneOf reads a record from its hash fields.
func phoneOf(id string, v map[string]string) Phone {
	p := Phone{ID: id, State: v[fState], Action: v[fAction], Gen: atoi64(v[fGen]), Ver: atoi64(v[fVer]),
		Task: atoi(v[fTask]), Since: msTime(v[fSince]), Attempt: atoi(v[fAttempt]), Code: atoi(v[fCode]),
		Reason: v[fReason], Msg: v[fMsg], URL: v[fURL], StopAfter: time.Duration(atoi64(v[fStopAft])) * time.Millisecond,
		Due: msTime(v[fDue]), Call: v[fCall], Unanswered: v[fUnans] == "1", Waits: v[fWaits],
		Boot: Boot{StartedAt: msTime(v[fBootAt]), Deadline: msTime(v[fBootDL]), Seen: v[fBootSeen],
			FirstCheck: time.Duration(atoi64(v[fBootFC])) * time.Millisecond, Verdict: v[fVerdict]},
		Guard:    msTime(v[fGuard]),
		Requests: strings.Fields(v[fReqs]), Labels: strings.Fields(v[fLabels]), Carried: strings.Fields(v[fCarried])}
	if p.Action == "" && p.State != "" {
		p.Action = ActionStart
	}
	if s := v[fOptions]; s != "" {
		_ = json.Unmarshal([]byte(s), &p.Options)
	}
	return p
}

// pairs turns a flat HGETALL-style reply into a map.
func pairs(a []any) map[string]string {
	m := make(map[string]string, len(a)/2)
	for i := 0; i+1 < len(a); i += 2 {
		k, _ := a[i].(string)
		v, _ := a[i+1].(string)
		m[k] = v
	}
	return m
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func atoi64(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// msTime reads Unix ms; "" or 0 is the zero time.
func msTime(s string) time.Time {
	n := atoi64(s)
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// ms writes t as Unix ms ("0" for the zero time).
func ms(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func msDur(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
