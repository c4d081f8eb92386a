package geelark

import (
	"encoding/json"
	"errors"
	"fmt"
)

// reply is the envelope every endpoint answers with; D is its data.
type reply[D any] struct {
	TraceID string
	Code    *int
	Msg     string
	Data    *D
}

// envelope is a reply as it is read first, its data left for later: a body
// that is not an envelope is not GeeLark's.
type envelope struct {
	TraceID string          `json:"traceId"`
	Code    *int            `json:"code"`
	Msg     string          `json:"msg"`
	Data    json.RawMessage `json:"data"`
}

// decodeReply decodes body as a reply carrying data of type D. A body that
// does not decode, or has no code, is a *TransportError: whatever the call
// did is unknown. It wraps a *ForeignReplyError when the body is not
// GeeLark's envelope at all (HTML, JSON of another shape), but not when
// it is JSON cut short: that is GeeLark's reply with its end lost.
func decodeReply[D any](body []byte) (*reply[D], error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		err = fmt.Errorf("reply is not JSON: %w", err)
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(body)) {
			return nil, &TransportError{Op: "decode", Err: err}
		}
		return nil, &TransportError{Op: "decode", Err: &ForeignReplyError{Err: err}}
	}
	if env.Code == nil {
		return nil, &TransportError{Op: "decode", Err: &ForeignReplyError{Err: errors.New("reply has no code")}}
	}
	r := &reply[D]{TraceID: env.TraceID, Code: env.Code, Msg: env.Msg}
	if len(env.Data) > 0 && string(env.Data) != "null" {
		r.Data = new(D)
		if err := json.Unmarshal(env.Data, r.Data); err != nil {
			return nil, &TransportError{Op: "decode", Err: fmt.Errorf("reply's data: %w", err)}
		}
	}
	return r, nil
}

// perPhoneData is the data of a reply that answers per phone: it counts
// the phones its details name.
type perPhoneData interface{ details() int }

// decodePerPhoneReply decodes body as decodeReply does, and turns a code
// other than 0 into an *APIError, except the batch summary codes 40006 and
// 40009 when the reply names phones in its details: those are answered
// per phone.
func decodePerPhoneReply[D perPhoneData](body []byte) (*reply[D], error) {
	r, err := decodeReply[D](body)
	if err != nil {
		return nil, err
	}
	details := 0
	if r.Data != nil {
		details = (*r.Data).details()
	}
	if code := *r.Code; code != 0 && !summaryWithDetails(code, details) {
		return nil, &APIError{Code: code, Msg: r.Msg, TraceID: r.TraceID}
	}
	return r, nil
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

func (d startReplyData) details() int { return len(d.SuccessDetails) + len(d.FailDetails) }

// ParseStartReply turns the body of a start reply into one Outcome per
// requested ID, in the order of ids. An ID the reply names in neither list is
// StatusUnknown; IDs the reply names that were not requested are ignored.
//
// A body that is not a JSON reply with a code is a *TransportError (the
// outcome is unknown). A code other than 0 is an *APIError, except the batch
// summary codes 40006 and 40009 when the reply carries per-phone details.
func ParseStartReply(body []byte, ids []string) (*StartResult, error) {
	r, err := decodePerPhoneReply[startReplyData](body)
	if err != nil {
		return nil, err
	}
	outcomes, index := unknownOutcomes(ids)
	res := &StartResult{TraceID: r.TraceID, Outcomes: outcomes}
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

type listReplyData struct {
	Total    int `json:"total"`
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Items    []struct {
		ID         string `json:"id"`
		SerialName string `json:"serialName"`
		SerialNo   string `json:"serialNo"`
		Remark     string `json:"remark"`
		Status     *int   `json:"status"`
		Group      *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"group"`
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
	} `json:"items"`
}

// ParseListReply turns the body of a list reply into a ListPage with one
// Phone per item, in the reply's order. Item fields the reply leaves out are
// empty (Status -1); fields it adds are ignored.
//
// A body that is not a JSON reply with a code, or a code 0 reply without
// data, is a *TransportError: what the page holds is unknown. A code other
// than 0 is an *APIError.
func ParseListReply(body []byte) (*ListPage, error) {
	r, err := decodeReply[listReplyData](body)
	if err != nil {
		return nil, err
	}
	if *r.Code != 0 {
		return nil, &APIError{Code: *r.Code, Msg: r.Msg, TraceID: r.TraceID}
	}
	if r.Data == nil {
		return nil, &TransportError{Op: "decode", Err: errors.New("reply has no data")}
	}
	d := r.Data
	page := &ListPage{TraceID: r.TraceID, Total: d.Total, Page: d.Page, PageSize: d.PageSize,
		Items: make([]Phone, len(d.Items))}
	for i, it := range d.Items {
		p := Phone{ID: it.ID, SerialName: it.SerialName, SerialNo: it.SerialNo, Remark: it.Remark, Status: -1}
		if it.Status != nil {
			p.Status = *it.Status
		}
		if it.Group != nil {
			p.GroupID, p.GroupName = it.Group.ID, it.Group.Name
		}
		for _, t := range it.Tags {
			p.Tags = append(p.Tags, t.Name)
		}
		page.Items[i] = p
	}
	return page, nil
}

// flexID is a phone ID in a reply, written as a JSON string or, as the stop
// endpoint's documentation types it, a JSON number. A number keeps its
// literal digits: GeeLark's 18-digit IDs do not fit a float64.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexID(n.String())
	return nil
}

// failDetail is one entry of a batch reply's failDetails.
type failDetail struct {
	Code int    `json:"code"`
	ID   flexID `json:"id"`
	Msg  string `json:"msg"`
}

// summaryWithDetails reports whether a batch reply with a code other than 0
// is a batch summary (40006, 40009) whose per-phone details decide.
func summaryWithDetails(code, details int) bool {
	return (code == CodePartialSuccess || code == CodeBatchFailed) && details > 0
}

// unknownOutcomes returns one StatusUnknown outcome per requested ID, in
// order, and each ID's index: a reply fills in those it names.
func unknownOutcomes(ids []string) ([]Outcome, map[string]int) {
	out := make([]Outcome, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		out[i] = Outcome{ID: id, Status: StatusUnknown}
		index[id] = i
	}
	return out, index
}
