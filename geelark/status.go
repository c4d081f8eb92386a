package geelark

import (
	"context"
	"fmt"
)

// StatusPath is the status endpoint's path.
const StatusPath = "/open/v1/phone/status"

// MaxStatusIDs is the most phone IDs one status call accepts, as documented.
const MaxStatusIDs = 100

// PhoneState is a cloud phone's power state as the status endpoint reports
// it. The values are GeeLark's.
type PhoneState int

const (
	// StateUnknown is not GeeLark's: the reply gave no state for the phone
	// (it named it nowhere, or only in failDetails). It is negative so that
	// the zero value, StateStarted, is never read into a missing answer.
	StateUnknown PhoneState = -1
	// StateStarted: the phone is up and usable.
	StateStarted PhoneState = 0
	// StateStarting: the phone is booting.
	StateStarting PhoneState = 1
	// StateShutDown: the phone is off.
	StateShutDown PhoneState = 2
	// StateExpired: the phone has expired.
	StateExpired PhoneState = 3
)

func (s PhoneState) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateStarted:
		return "started"
	case StateStarting:
		return "starting"
	case StateShutDown:
		return "shut down"
	case StateExpired:
		return "expired"
	}
	return fmt.Sprintf("PhoneState(%d)", int(s))
}

// StatusOutcome is what a status reply says about one requested phone.
//
// Known is false when the reply named the phone nowhere: nothing is known.
// A phone named in successDetails is Known with its State (GeeLark's number
// as is: a value other than 0..3 should be read as unknown). A phone named
// in failDetails is Known with Code and Msg (42001: the phone does not
// exist) and State StateUnknown.
type StatusOutcome struct {
	ID         string
	Known      bool
	State      PhoneState
	SerialName string // the phone's name, when GeeLark gave it
	Code       int    // from failDetails, else 0
	Msg        string // from failDetails, else ""
}

// StatusResult is the reply to a status call.
type StatusResult struct {
	TraceID  string
	Outcomes []StatusOutcome // one per requested ID, in request order
}

// idsRequest is the wire body of the status and stop calls.
type idsRequest struct {
	IDs []string `json:"ids"`
}

// StatusPhones asks GeeLark for the power state of ids (1..MaxStatusIDs
// distinct valid IDs). Invalid input returns an error wrapping
// ErrInvalidRequest before any request is made.
//
// A status call changes nothing, so a caller may repeat it freely within the
// endpoint's own rate budget. On error the StatusResult, when not nil,
// carries the traceId, and the error is an *APIError or a *TransportError,
// as for StartPhones.
func (c *Client) StatusPhones(ctx context.Context, ids []string) (*StatusResult, error) {
	if err := validateIDs("status", ids, MaxStatusIDs); err != nil {
		return nil, err
	}
	var res *StatusResult
	traceID, err := c.call(ctx, "status", StatusPath, idsRequest{IDs: ids}, func(raw []byte) (err error) {
		res, err = ParseStatusReply(raw, ids)
		return err
	})
	if err != nil {
		return &StatusResult{TraceID: traceID}, err
	}
	if res.TraceID == "" {
		res.TraceID = traceID
	}
	return res, nil
}

type statusReplyData struct {
	SuccessDetails []struct {
		ID         flexID `json:"id"`
		SerialName string `json:"serialName"`
		Status     *int   `json:"status"`
	} `json:"successDetails"`
	FailDetails []failDetail `json:"failDetails"`
}

func (d statusReplyData) details() int { return len(d.SuccessDetails) + len(d.FailDetails) }

// ParseStatusReply turns the body of a status reply into one StatusOutcome
// per requested ID, in the order of ids. IDs the reply names that were not
// requested are ignored; a successDetails entry without a status counts as
// not naming the phone.
//
// Errors are as for ParseStartReply: a body that is not a JSON reply with a
// code is a *TransportError; a code other than 0 is an *APIError, except the
// batch summary codes 40006 and 40009 when the reply carries details.
func ParseStatusReply(body []byte, ids []string) (*StatusResult, error) {
	r, err := decodePerPhoneReply[statusReplyData](body)
	if err != nil {
		return nil, err
	}
	res := &StatusResult{TraceID: r.TraceID, Outcomes: make([]StatusOutcome, len(ids))}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		res.Outcomes[i] = StatusOutcome{ID: id, State: StateUnknown}
		index[id] = i
	}
	if r.Data == nil {
		return res, nil
	}
	// Failures first, then states: a phone named in both has a state, which
	// says more.
	for _, f := range r.Data.FailDetails {
		if i, ok := index[string(f.ID)]; ok {
			res.Outcomes[i] = StatusOutcome{ID: ids[i], Known: true, State: StateUnknown, Code: f.Code, Msg: f.Msg}
		}
	}
	for _, s := range r.Data.SuccessDetails {
		if i, ok := index[string(s.ID)]; ok && s.Status != nil {
			res.Outcomes[i] = StatusOutcome{ID: ids[i], Known: true, State: PhoneState(*s.Status), SerialName: s.SerialName}
		}
	}
	return res, nil
}
