package geelarktest

import (
	"fmt"

	"github.com/phonestart/phonestart/geelark"
)

// envelope is the body of every reply. Data is a *startData, a
// *statusData, a *listData or nil.
type envelope struct {
	TraceID string `json:"traceId"`
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	Data    any    `json:"data"`
}

// startData is the data of an accepted start call. TotalAmount is the
// number of IDs requested; the other two amounts count the details sent, so
// under FaultOmit they add up to one less than TotalAmount.
type startData struct {
	TotalAmount    int             `json:"totalAmount"`
	SuccessAmount  int             `json:"successAmount"`
	FailAmount     int             `json:"failAmount"`
	SuccessDetails []successDetail `json:"successDetails"`
	FailDetails    []failDetail    `json:"failDetails"`
}

type successDetail struct {
	ID             string `json:"id"`
	URL            string `json:"url"`
	ChargingMethod string `json:"chargingMethod"`
}

type failDetail struct {
	Code int    `json:"code"`
	ID   string `json:"id"`
	Msg  string `json:"msg"`
}

// statusData is the data of an accepted status or stop call. GeeLark's stop
// documentation lists only the amounts and failDetails but shows
// successDetails in its example; the fake sends them, with status 2.
type statusData struct {
	TotalAmount    int            `json:"totalAmount"`
	SuccessAmount  int            `json:"successAmount"`
	FailAmount     int            `json:"failAmount"`
	SuccessDetails []statusDetail `json:"successDetails"`
	FailDetails    []failDetail   `json:"failDetails"`
}

type statusDetail struct {
	ID         string `json:"id"`
	SerialName string `json:"serialName"`
	Status     int    `json:"status"`
}

// listData is the data of an accepted list call.
type listData struct {
	Total    int        `json:"total"`
	Page     int        `json:"page"`
	PageSize int        `json:"pageSize"`
	Items    []listItem `json:"items"`
}

// listItem is one phone of a list reply, with the fields the documentation
// shows that a registered Phone can fill.
type listItem struct {
	ID         string     `json:"id"`
	SerialName string     `json:"serialName"`
	SerialNo   string     `json:"serialNo"`
	Group      *listGroup `json:"group,omitempty"`
	Remark     string     `json:"remark"`
	Status     int        `json:"status"`
	Tags       []listTag  `json:"tags"`
	ChargeMode int        `json:"chargeMode"`
}

type listGroup struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Remark string `json:"remark"`
}

type listTag struct {
	Name string `json:"name"`
}

// PhoneURL is the url the fake answers for a started phone.
func PhoneURL(id string) string { return "https://fake.geelark.test/phone/" + id }

// ChargingMethod is the chargingMethod the fake answers for a started phone.
const ChargingMethod = "Per-minute usage"

// message returns msg, or the meaning of code when msg is empty.
func message(code int, msg string) string {
	switch {
	case msg != "":
		return msg
	case code == 0:
		return "success"
	}
	if m := geelark.Lookup(code).Meaning; m != "" {
		return m
	}
	return fmt.Sprintf("error %d", code)
}
