package geelark

import "context"

// StopPath is the stop endpoint's path.
const StopPath = "/open/v1/phone/stop"

// MaxStopIDs is the most phone IDs phonestart sends in one stop call.
// GeeLark's stop documentation states no limit; 200 is the start endpoint's,
// the same shape of call, so a stop call is never larger than a start call
// GeeLark is known to take.
const MaxStopIDs = 200

// StopResult is the reply to a stop call.
type StopResult struct {
	TraceID string
	// Outcomes has one Outcome per requested ID, in request order, with
	// Status StatusStopped, StatusFailed (Code and Msg set) or
	// StatusUnknown.
	Outcomes []Outcome
}

// StopPhones asks GeeLark to shut ids down (1..MaxStopIDs distinct valid
// IDs). Invalid input returns an error wrapping ErrInvalidRequest before any
// request is made. Errors are as for StartPhones. Stopping a phone that is
// already off is harmless, so a stop whose outcome is unknown can be sent
// again.
func (c *Client) StopPhones(ctx context.Context, ids []string) (*StopResult, error) {
	if err := validateIDs("stop", ids, MaxStopIDs); err != nil {
		return nil, err
	}
	var res *StopResult
	traceID, err := c.call(ctx, "stop", StopPath, idsRequest{IDs: ids}, func(raw []byte) (err error) {
		res, err = ParseStopReply(raw, ids)
		return err
	})
	if err != nil {
		return &StopResult{TraceID: traceID}, err
	}
	if res.TraceID == "" {
		res.TraceID = traceID
	}
	return res, nil
}

type stopReplyData struct {
	TotalAmount    int `json:"totalAmount"`
	SuccessAmount  int `json:"successAmount"`
	FailAmount     int `json:"failAmount"`
	SuccessDetails *[]struct {
		ID flexID `json:"id"`
	} `json:"successDetails"`
	FailDetails []failDetail `json:"failDetails"`
}

func (d stopReplyData) details() int {
	n := len(d.FailDetails)
	if d.SuccessDetails != nil {
		n += len(*d.SuccessDetails)
	}
	return n
}

// ParseStopReply turns the body of a stop reply into one Outcome per
// requested ID, in the order of ids; errors are as for ParseStartReply.
//
// GeeLark's stop documentation lists totalAmount, successAmount, failAmount
// and failDetails in the reply's data, while its example also shows
// successDetails. Both are read: a phone named in successDetails is
// stopped; one named in failDetails failed with its code. When the reply has
// no successDetails at all, the stopped phones are inferred: if successAmount
// equals the number of requested IDs not named in failDetails, those are
// stopped; otherwise they are unknown. A failDetails id written as a number
// (the documentation types it so) is read as its digits.
func ParseStopReply(body []byte, ids []string) (*StopResult, error) {
	r, err := decodePerPhoneReply[stopReplyData](body)
	if err != nil {
		return nil, err
	}
	outcomes, index := unknownOutcomes(ids)
	res := &StopResult{TraceID: r.TraceID, Outcomes: outcomes}
	if r.Data == nil {
		return res, nil
	}
	d := r.Data
	failed := 0
	for _, f := range d.FailDetails {
		if i, ok := index[string(f.ID)]; ok && res.Outcomes[i].Status != StatusFailed {
			res.Outcomes[i] = Outcome{ID: ids[i], Status: StatusFailed, Code: f.Code, Msg: f.Msg}
			failed++
		}
	}
	if d.SuccessDetails != nil {
		for _, s := range *d.SuccessDetails {
			if i, ok := index[string(s.ID)]; ok {
				res.Outcomes[i] = Outcome{ID: ids[i], Status: StatusStopped}
			}
		}
		return res, nil
	}
	if rest := len(ids) - failed; rest > 0 && d.SuccessAmount == rest {
		for i := range res.Outcomes {
			if res.Outcomes[i].Status == StatusUnknown {
				res.Outcomes[i].Status = StatusStopped
			}
		}
	}
	return res, nil
}
