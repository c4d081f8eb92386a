package geelarktest

import (
	"maps"
	"slices"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// Call is what the fake recorded about one call to the start path.
type Call struct {
	N       int       // 1-based call number, since New or Reset
	Time    time.Time // by Config.Now, when the call was handled
	TraceID string    // the traceId header
	Auth    string    // "key" or "token"; "" when authentication failed
	// IDs and Options are decoded from the body, also for a refused call
	// when the body was JSON. Options.Width is 0 and Options.Center nil when
	// the body did not set them.
	IDs     []string
	Options geelark.StartOptions
	Code    int       // call-level code answered; 0 when accepted
	Fault   FaultKind // the fault applied to the call
	// Started lists, in request order, the IDs answered as started. Under
	// FaultTruncated and FaultDrop the client never saw the answer; under
	// FaultOmit the ID left out is in Omitted instead.
	Started []string
	// Omitted is the started ID that FaultOmit left out of the reply.
	Omitted string
	// Failed maps each ID answered in failDetails to its code; nil when
	// there are none.
	Failed map[string]int
}

func (c Call) clone() Call {
	c.IDs = slices.Clone(c.IDs)
	c.Started = slices.Clone(c.Started)
	c.Failed = maps.Clone(c.Failed)
	if c.Options.Center != nil {
		v := *c.Options.Center
		c.Options.Center = &v
	}
	return c
}
