package geelark

import (
	"encoding/json"
	"fmt"
)

type startReply struct {
	TraceID string          `json:"traceId"`
	Code    *int            `json:"code"`
	Msg     string          `json:"msg"`
	Data    *startReplyData `json:"data"`
}

type startReplyData struct {
	TotalAmount    int `json:"totalAmount"`
	SuccessAmount  int `json:"successAmount"`
	FailAmount     int `json:"failAmount"`
	SuccessDetails []struct {
		ID             string `json:"id"`
		URL            string `json:"url"`
		ChargingMethod string `json:"chargingMethod"`
	} `json:"successDetails"`
	FailDetails []struct {
		Code int    `json:"code"`
		ID   string `json:"id"`
		Msg  string `json:"msg"`
	} `json:"failDetails"`
}

// ParseStartReply turns the body of a start reply into one Outcome per
// requested ID, in the order of ids. An ID the reply names in neither list is
// StatusUnknown; IDs the reply names that were not requested are ignored.
//
// A body that is not a JSON reply with a code is a *TransportError (the
// outcome is unknown). A code other than 0 is an *APIError, except the batch
// summary codes 40006 and 40009 when the reply carries per-phone details.
func ParseStartReply(body []byte, ids []string) (*StartResult, error) {
	var r startReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &TransportError{Op: "decode", Err: fmt.Errorf("reply is not JSON: %w", err)}
	}
	if r.Code == nil {
		return nil, &TransportError{Op: "decode", Err: fmt.Errorf("reply has no code")}
	}
	code := *r.Code
	summary := (code == CodePartialSuccess || code == CodeBatchFailed) && r.Data != nil &&
		len(r.Data.SuccessDetails)+len(r.Data.FailDetails) > 0
	if code != 0 && !summary {
		return nil, &APIError{Code: code, Msg: r.Msg, TraceID: r.TraceID}
	}
	res := &StartResult{TraceID: r.TraceID, Outcomes: make([]Outcome, len(ids))}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		res.Outcomes[i] = Outcome{ID: id, Status: StatusUnknown}
		index[id] = i
	}
	if r.Data == nil {
		return res, nil
	}
	// Failures first, then successes: if a reply ever names an ID in both
	// lists, the phone did start, and saying so avoids a second start.
	for _, f := range r.Data.FailDetails {
		if i, ok := index[f.ID]; ok {
			res.Outcomes[i] = Outcome{ID: f.ID, Status: StatusFailed, Code: f.Code, Msg: f.Msg}
		}
	}
	for _, s := range r.Data.SuccessDetails {
		if i, ok := index[s.ID]; ok {
			res.Outcomes[i] = Outcome{ID: s.ID, Status: StatusStarted, URL: s.URL, ChargingMethod: s.ChargingMethod}
		}
	}
	return res, nil
}
