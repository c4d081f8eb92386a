package geelarktest

import (
	"maps"
	"slices"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// Call is what the fake recorded about one call to the start or list path.
type Call struct {
	N       int       // 1-based call number over both paths, since New or Reset
	Time    time.Time // by Config.Now, when the call was handled
	Path    string    // geelark.StartPath, StatusPath, StopPath, ListPath or CallbackSetPath
	TraceID string    // the traceId header
	Auth    string    // "key" or "token"; "" when authentication failed
	// IDs are decoded from a start, status or stop call's body, and
	// Options from a start call's, also for a refused call when the body
	// was JSON. Options.Width is 0 and Options.Center nil when the body did
	// not set them. Both are empty for a list call.
	IDs     []string
	Options geelark.StartOptions
	// Page, PageSize and Filter are decoded from a list call's body, also
	// for a refused call when the body was JSON. Page and PageSize are 0
	// when the body did not set them. All are empty for a start call.
	Page, PageSize int
	Filter         geelark.ListFilter
	Code           int       // call-level code answered; 0 when accepted
	Fault          FaultKind // the fault applied to the call
	// Started lists, in request order, the IDs answered as started. Under
	// FaultTruncated and FaultDrop the client never saw the answer; under
	// FaultOmit the ID left out is in Omitted instead.
	Started []string
	// Omitted is the started ID that FaultOmit left out of the reply.
	Omitted string
	// Failed maps each ID answered in failDetails to its code; nil when
	// there are none.
	Failed map[string]int
	// Listed lists, in reply order, the IDs of the phones a list call
	// answered in its items.
	Listed []string
	// States maps each ID a status call answered in successDetails to the
	// state answered; nil for other calls.
	States map[string]geelark.PhoneState
	// Stopped lists, in request order, the IDs a stop call stopped.
	Stopped []string
	// Poisoned is the poisoned ID (see Fake.Poison) that made a start call
	// answer its call-level code; "" otherwise.
	Poisoned string
	// URL is the url of a callback/set call's body.
	URL string
}

func (c Call) clone() Call {
	c.IDs = slices.Clone(c.IDs)
	c.Started = slices.Clone(c.Started)
	c.Failed = maps.Clone(c.Failed)
	c.Listed = slices.Clone(c.Listed)
	c.States = maps.Clone(c.States)
	c.Stopped = slices.Clone(c.Stopped)
	c.Filter.IDs = slices.Clone(c.Filter.IDs)
	c.Filter.Tags = slices.Clone(c.Filter.Tags)
	if c.Options.Center != nil {
		v := *c.Options.Center
		c.Options.Center = &v
	}
	return c
}
