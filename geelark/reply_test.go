package geelark_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/geelark"
)

// docReply is the reply example of the start endpoint's documentation, with
// distinct IDs.
const docReply = `{
 "code": 0,
 "msg": "success",
 "traceId": "12345678ABCDEF",
 "data": {
 "totalAmount": 3,
 "successAmount": 1,
 "failAmount": 2,
 "failDetails": [
 {"code": 43004, "id": "A", "msg": "env is expired"},
 {"code": 42001, "id": "B", "msg": "env not found"}
 ],
 "successDetails": [
 {"id": "C", "url": "https://speedup.geelark.com/phone-api", "chargingMethod": "Per-minute usage"}
 ]
 }
}`

func TestParseStartReply(t *testing.T) {
	t.Parallel()
	started := func(id string) geelark.Outcome {
		return geelark.Outcome{ID: id, Status: geelark.StatusStarted, URL: "u", ChargingMethod: "Monthly rental"}
	}
	failed := func(id string, code int) geelark.Outcome {
		return geelark.Outcome{ID: id, Status: geelark.StatusFailed, Code: code, Msg: "m"}
	}
	unknown := func(id string) geelark.Outcome { return geelark.Outcome{ID: id} }
	const ok1 = `{"id":"A","url":"u","chargingMethod":"Monthly rental"}`
	tests := []struct {
		name string
		body string
		ids  []string
		want []geelark.Outcome
	}{
		{"documentation example", docReply, []string{"C", "B", "A", "D"}, []geelark.Outcome{
			{ID: "C", Status: geelark.StatusStarted, URL: "https://speedup.geelark.com/phone-api", ChargingMethod: "Per-minute usage"},
			{ID: "B", Status: geelark.StatusFailed, Code: 42001, Msg: "env not found"},
			{ID: "A", Status: geelark.StatusFailed, Code: 43004, Msg: "env is expired"},
			{ID: "D"},
		}},
		{"named in both lists: started wins", `{"code":0,"data":{"successDetails":[` + ok1 +
			`],"failDetails":[{"code":43020,"id":"A","msg":"m"}]}}`, []string{"A"}, []geelark.Outcome{started("A")}},
		{"unrequested IDs ignored", `{"code":0,"data":{"successDetails":[` + ok1 +
			`,{"id":"Z"}],"failDetails":[{"code":42001,"id":"Y","msg":"m"}]}}`, []string{"A"}, []geelark.Outcome{started("A")}},
		{"code 0 without data", `{"code":0,"msg":"success","data":null}`, []string{"A", "B"},
			[]geelark.Outcome{unknown("A"), unknown("B")}},
		{"40006 with details", `{"code":40006,"data":{"successDetails":[` + ok1 +
			`],"failDetails":[{"code":47002,"id":"B","msg":"m"}]}}`, []string{"A", "B", "C"},
			[]geelark.Outcome{started("A"), failed("B", 47002), unknown("C")}},
		{"40009 with details", `{"code":40009,"data":{"failDetails":[{"code":45002,"id":"A","msg":"m"}]}}`,
			[]string{"A"}, []geelark.Outcome{failed("A", 45002)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := geelark.ParseStartReply([]byte(tt.body), tt.ids)
			if err != nil {
				t.Fatalf("ParseStartReply: %v", err)
			}
			if !reflect.DeepEqual(res.Outcomes, tt.want) {
				t.Errorf("outcomes\n got %+v\nwant %+v", res.Outcomes, tt.want)
			}
		})
	}
}

func TestParseStartReplyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		transport bool // a *TransportError; else an *APIError with code
		code      int
	}{
		{"empty body", ``, true, 0},
		{"HTML", `<html>502 Bad Gateway</html>`, true, 0},
		{"truncated", docReply[:len(docReply)/2], true, 0},
		{"no code", `{"msg":"success","data":null}`, true, 0},
		{"null code", `{"code":null}`, true, 0},
		{"code as a string", `{"code":"0"}`, true, 0},
		{"code too large", `{"code":1e400}`, true, 0},
		{"data not an object", `{"code":0,"data":"x"}`, true, 0},
		{"40003", `{"code":40003,"msg":"sign error","traceId":"T"}`, false, 40003},
		{"40006 without details", `{"code":40006,"data":{"successDetails":[],"failDetails":[]}}`, false, 40006},
		{"40009 without data", `{"code":40009}`, false, 40009},
		{"negative code", `{"code":-1}`, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := geelark.ParseStartReply([]byte(tt.body), []string{"A"})
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			var te *geelark.TransportError
			var ae *geelark.APIError
			switch {
			case tt.transport && !errors.As(err, &te):
				t.Errorf("err %v (%T), want a *TransportError", err, err)
			case !tt.transport && (!errors.As(err, &ae) || ae.Code != tt.code):
				t.Errorf("err %v (%T), want an *APIError %d", err, err, tt.code)
			}
		})
	}
}

// A reply without a traceId still yields errors that carry the traceId the
// client sent, so a failed call can be found in GeeLark's logs.
func TestAPIErrorCarriesSentTraceID(t *testing.T) {
	t.Parallel()
	sent := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent <- r.Header.Get("traceId")
		w.Write([]byte(`{"code":40015,"msg":"no permission"}`))
	}))
	defer srv.Close()
	c := newClient(t, geelark.Config{BaseURL: srv.URL, Token: testToken}, nil)
	res, err := start(t, c, "p1")
	traceID := <-sent
	if ae := apiError(t, err); ae.TraceID != traceID || res.TraceID != traceID {
		t.Errorf("APIError traceId %q, result traceId %q, sent %q", ae.TraceID, res.TraceID, traceID)
	}
}

// docListReply is the reply example of the list endpoint's documentation.
const docListReply = `{
    "traceId": "123456ABCDEF",
    "code": 0,
    "msg": "success",
    "data": {
        "total": 1,
        "page": 1,
        "pageSize": 10,
        "items": [
            {
                "id": "123456ABCDEF",
                "serialName": "test",
                "serialNo": "1",
                "group": {"id": "123456ABCDEF", "name": "test group", "remark": "group remark"},
                "remark": "env remark",
                "status": 0,
                "tags": [{"name": "hi"}, {"name": "test"}],
                "equipmentInfo": {"countryName": "Thailand", "phoneNumber": "+66877382166", "imei": "863406055475987"},
                "proxy": {"type": "socks5", "server": "129.129.129.129", "port": 30000, "username": "user", "password": "proxy-secret"},
                "chargeMode": 0
            }
        ]
    }
}`

func TestParseListReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want *geelark.ListPage
	}{
		{"documentation example", docListReply, &geelark.ListPage{TraceID: "123456ABCDEF", Total: 1, Page: 1, PageSize: 10,
			Items: []geelark.Phone{{ID: "123456ABCDEF", SerialName: "test", SerialNo: "1", Remark: "env remark",
				GroupID: "123456ABCDEF", GroupName: "test group", Tags: []string{"hi", "test"}, Status: 0}}}},
		{"fields left out", `{"code":0,"data":{"total":3,"items":[{"id":"A"},{"id":"B","group":null,"tags":null,"status":2}]}}`,
			&geelark.ListPage{Total: 3, Items: []geelark.Phone{{ID: "A", Status: -1}, {ID: "B", Status: 2}}}},
		{"no items", `{"code":0,"data":{"total":0,"page":2,"pageSize":100}}`,
			&geelark.ListPage{Page: 2, PageSize: 100, Items: []geelark.Phone{}}},
		{"fields added", `{"code":0,"data":{"total":1,"newField":[1],"items":[{"id":"A","hasBind":true,"createTime":1}]}}`,
			&geelark.ListPage{Total: 1, Items: []geelark.Phone{{ID: "A", Status: -1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := geelark.ParseListReply([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseListReply: %v", err)
			}
			if !reflect.DeepEqual(page, tt.want) {
				t.Errorf("page\n got %+v\nwant %+v", page, tt.want)
			}
			if s := fmt.Sprintf("%#v", page); strings.Contains(s, "proxy-secret") || strings.Contains(s, "863406055475987") {
				t.Errorf("the proxy password or device details were decoded: %s", s)
			}
		})
	}
}

func TestParseListReplyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		transport bool // a *TransportError; else an *APIError with code
		code      int
	}{
		{"empty body", ``, true, 0},
		{"truncated", docListReply[:len(docListReply)/2], true, 0},
		{"no code", `{"data":{"total":0,"items":[]}}`, true, 0},
		{"code 0 without data", `{"code":0,"msg":"success"}`, true, 0},
		{"items not a list", `{"code":0,"data":{"items":{}}}`, true, 0},
		{"id not a string", `{"code":0,"data":{"items":[{"id":522340000000000001}]}}`, true, 0},
		{"40008", `{"code":40008,"msg":"pagination parameter error","traceId":"T"}`, false, 40008},
		{"40007 with data", `{"code":40007,"data":{"total":1,"items":[{"id":"A"}]}}`, false, 40007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := geelark.ParseListReply([]byte(tt.body))
			if err == nil || page != nil {
				t.Fatalf("page %+v, err %v; want an error and no page", page, err)
			}
			var te *geelark.TransportError
			var ae *geelark.APIError
			switch {
			case tt.transport && (!errors.As(err, &te) || te.Op != "decode"):
				t.Errorf("err %v (%T), want a decode *TransportError", err, err)
			case !tt.transport && (!errors.As(err, &ae) || ae.Code != tt.code):
				t.Errorf("err %v (%T), want an *APIError %d", err, err, tt.code)
			}
		})
	}
}
