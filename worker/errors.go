package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/internal/fleet"
)

// PhoneError is a handler's verdict on one phone whose attempt failed and
// is tried again. Its text, "geelark <code>: <msg>", is what asynq records
// as the task's last error. (A phone that will not start is dead in its
// record and the dead-letter ledger, and its task is done.)
type PhoneError struct {
	Code int    // GeeLark's code; 0 when the outcome was unknown
	Msg  string // GeeLark's message, or what made the outcome unknown
	// Permanent is set on a phone that will not start: it wraps
	// asynq.SkipRetry.
	Permanent bool
	// RetryAt, when set, is when the phone's record says it is due again.
	RetryAt time.Time
}

func (e *PhoneError) Error() string {
	if e.Code == 0 {
		return "geelark unknown: " + e.Msg
	}
	return fmt.Sprintf("geelark %d: %s", e.Code, e.Msg)
}

// Unwrap makes a permanent error match asynq.SkipRetry.
func (e *PhoneError) Unwrap() error {
	if e.Permanent {
		return asynq.SkipRetry
	}
	return nil
}

// pausedError sends a phone back to wait for the end of a fleet-wide pause.
// It is not the phone's failure: its attempts do not count.
type pausedError struct {
	p fleet.Pause
	// soon sends the phone back at once, for another worker: the pause is
	// this worker's alone.
	soon bool
}

func (e *pausedError) Error() string {
	return fmt.Sprintf("waiting: calls paused until %s by geelark %d: %s",
		e.p.Until.UTC().Format(time.RFC3339), e.p.Code, e.p.Msg)
}

// errHandBack returns a phone that was never sent to the queue while the
// worker stops. It is not the phone's failure.
var errHandBack = errors.New("worker stopping: handed back unsent")

// waitError sends a phone back to come round again later without using an
// attempt: its fate could not be decided for a reason that is not the
// phone's (a status check that failed, Redis not answering).
type waitError struct{ reason string }

func (e *waitError) Error() string { return "waiting: " + e.reason }

// isFailure tells asynq which errors count against a phone's attempts.
func isFailure(err error) bool {
	var pe *pausedError
	var we *waitError
	return !errors.As(err, &pe) && !errors.As(err, &we) && !errors.Is(err, errHandBack)
}
