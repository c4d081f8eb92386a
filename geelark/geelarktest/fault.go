package geelarktest

import "fmt"

// FaultKind is what goes wrong with a call.
type FaultKind int

const (
	// FaultNone: the call is answered normally.
	FaultNone FaultKind = iota
	// Fault500: HTTP 500 with an empty body. No phone is processed.
	Fault500
	// FaultTruncated: HTTP 200 with the first half of the reply body only.
	// The phones were processed (started or listed).
	FaultTruncated
	// FaultDrop: the connection is closed without any reply. The phones were
	// processed.
	FaultDrop
	// FaultOmit: a normal reply, except that the first started phone is in
	// neither successDetails nor failDetails. Without a started phone, and
	// on a list call, the reply is not changed.
	FaultOmit
	// FaultCode: the call is answered with the call-level Fault.Code (50000
	// when 0) and Fault.Msg. No phone is processed.
	FaultCode
)

var faultNames = [...]string{"none", "http-500", "truncated", "drop", "omit", "code"}

func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is what goes wrong with one call.
type Fault struct {
	Kind FaultKind
	Code int    // for FaultCode: the call-level code
	Msg  string // for FaultCode: the message. Default: the code's meaning
}
