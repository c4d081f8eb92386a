package geelark

import (
	"errors"
	"fmt"
)

// APIError is a call-level error: GeeLark read the request and answered with
// a code other than 0. A start call answered so started no phone, unless the
// code is one of the batch summary codes (40006, 40009) that StartPhones
// turns into per-phone outcomes instead.
type APIError struct {
	Code    int    // GeeLark's code, see Lookup
	Msg     string // GeeLark's message
	TraceID string // the traceId of the call
}

func (e *APIError) Error() string {
	return fmt.Sprintf("geelark %d: %s (traceId %s)", e.Code, e.Msg, e.TraceID)
}

// Class is the class of the error's code.
func (e *APIError) Class() Class { return Lookup(e.Code).Class }

// TransportError means the outcome of a call is unknown: it timed out, the
// connection was refused or dropped, the status was not 200, or the body
// could not be read or parsed. Any of a start call's phones may have
// started.
type TransportError struct {
	Op         string // what failed: "send", "status", "read", "decode"
	StatusCode int    // HTTP status when Op is "status", else 0
	TraceID    string // the traceId that was sent
	Err        error  // the underlying error, if any
}

func (e *TransportError) Error() string {
	msg := "geelark: outcome unknown: " + e.Op
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" HTTP %d", e.StatusCode)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + " (traceId " + e.TraceID + ")"
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsOutcomeUnknown reports whether err means the call may or may not have
// reached GeeLark: a *TransportError. A context cancelled or timed out
// during a call is one (it wraps the context's error); a bare context error
// from elsewhere, such as a rate limiter's wait, is not.
func IsOutcomeUnknown(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}
