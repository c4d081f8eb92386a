package geelarktest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// listReply is the decoded body of a list reply.
type listReply struct {
	TraceID string `json:"traceId"`
	Code    *int   `json:"code"`
	Msg     string `json:"msg"`
	Data    *struct {
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
	} `json:"data"`
}

// listed returns the IDs of r's items.
func (r listReply) listed() []string {
	var out []string
	if r.Data != nil {
		for _, it := range r.Data.Items {
			out = append(out, it.ID)
		}
	}
	return out
}

// callList sends one list call straight to h and decodes the reply, which
// must be HTTP 200 JSON.
func callList(t *testing.T, h http.Handler, hdr http.Header, body string) listReply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, geelark.ListPath, strings.NewReader(body))
	req.Header = hdr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d, want 200; body %q", rec.Code, rec.Body)
	}
	var r listReply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Code == nil {
		t.Fatalf("reply %q: %v", rec.Body, err)
	}
	return r
}

// numbered returns n phones p0, p1, ... of group g.
func numbered(n int, g string) []geelarktest.Phone {
	ps := make([]geelarktest.Phone, n)
	for i := range ps {
		ps[i] = geelarktest.Phone{ID: fmt.Sprint("p", i), GroupName: g}
	}
	return ps
}

func TestListValidation(t *testing.T) {
	t.Parallel()
	ids := func(n int) string {
		b, _ := json.Marshal(map[string]any{"ids": numberedIDs(n)})
		return string(b)
	}
	tests := []struct {
		name string
		body string
		want int
	}{
		{"empty body", ``, 0},
		{"empty object", `{}`, 0},
		{"page 1 size 100", `{"page":1,"pageSize":100}`, 0},
		{"page 0", `{"page":0,"pageSize":10}`, 40008},
		{"page -1", `{"page":-1}`, 40008},
		{"page size 0", `{"page":1,"pageSize":0}`, 40008},
		{"page size 101", `{"page":1,"pageSize":101}`, 40008},
		{"page a string", `{"page":"1"}`, 40004},
		{"page size 1.5", `{"pageSize":1.5}`, 40004},
		{"100 ids", ids(100), 0},
		{"101 ids", ids(101), 40004},
		{"empty id", `{"ids":["p1",""]}`, 40004},
		{"empty tag", `{"tags":["eu",""]}`, 40004},
		{"blank tag", `{"tags":[" "]}`, 40004},
		{"tags not a list", `{"tags":"eu"}`, 40004},
		{"other documented filters", `{"openStatus":1,"chargeMode":0,"proxyIds":["x"],"serialNos":["1"]}`, 0},
		{"not JSON", `page=1`, 40004},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := geelarktest.New(geelarktest.Config{})
			f.AddPhones(numbered(3, "g")...)
			r := callList(t, f, goodHeaders(), tt.body)
			if *r.Code != tt.want {
				t.Fatalf("code %d (%s), want %d", *r.Code, r.Msg, tt.want)
			}
			if (tt.want != 0) != (r.Data == nil) {
				t.Errorf("code %d with data %v", *r.Code, r.Data)
			}
			if c := f.Calls()[0]; c.Path != geelark.ListPath || c.Code != tt.want || len(c.IDs) != 0 {
				t.Errorf("recorded %+v", c)
			}
		})
	}
}

func numberedIDs(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint("p", i)
	}
	return s
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	f.AddPhones(numbered(25, "g")...)
	tests := []struct {
		body           string
		page, pageSize int
		want           []string
	}{
		{`{}`, 1, 10, numberedIDs(10)},
		{`{"page":3}`, 3, 10, numberedIDs(25)[20:]},
		{`{"page":4}`, 4, 10, nil},
		{`{"page":2,"pageSize":20}`, 2, 20, numberedIDs(25)[20:]},
		{`{"page":1,"pageSize":100}`, 1, 100, numberedIDs(25)},
		{`{"page":9223372036854775807,"pageSize":100}`, 9223372036854775807, 100, nil},
		// With ids, paging does not apply; registration order is kept.
		{`{"page":2,"pageSize":1,"ids":["p7","p3","nope"]}`, 2, 1, []string{"p3", "p7"}},
	}
	for _, tt := range tests {
		r := callList(t, f, goodHeaders(), tt.body)
		if *r.Code != 0 {
			t.Fatalf("%s: code %d", tt.body, *r.Code)
		}
		total := 25
		if strings.Contains(tt.body, "ids") {
			total = 2
		}
		d := r.Data
		if d.Total != total || d.Page != tt.page || d.PageSize != tt.pageSize || !reflect.DeepEqual(r.listed(), tt.want) {
			t.Errorf("%s: total %d page %d size %d items %v; want %d %d %d %v",
				tt.body, d.Total, d.Page, d.PageSize, r.listed(), total, tt.page, tt.pageSize, tt.want)
		}
		if d.Items == nil {
			t.Errorf("%s: items is null, want a list", tt.body)
		}
	}
}

func TestListFiltersMatchStrictly(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	f.AddPhones(
		geelarktest.Phone{ID: "p1", SerialName: "shop-1", Remark: "am", GroupName: "EU", Tags: []string{"a", "b"}},
		geelarktest.Phone{ID: "p2", SerialName: "shop-10", Remark: "am pm", GroupName: "EU", Tags: []string{"a"}},
		geelarktest.Phone{ID: "p3", SerialName: "SHOP-1", Remark: "AM", GroupName: "eu", Tags: []string{"b"}},
		geelarktest.Phone{ID: "p4"},
	)
	tests := []struct {
		body string
		want []string
	}{
		{`{"groupName":"EU"}`, []string{"p1", "p2"}},
		{`{"groupName":"E"}`, nil},
		{`{"serialName":"shop-1"}`, []string{"p1"}},
		{`{"remark":"am"}`, []string{"p1"}},
		{`{"tags":["a"]}`, []string{"p1", "p2"}},
		{`{"tags":["a","b"]}`, []string{"p1"}},
		{`{"tags":["b"],"groupName":"eu"}`, []string{"p3"}},
		{`{"tags":[],"groupName":"","remark":"","serialName":""}`, []string{"p1", "p2", "p3", "p4"}},
	}
	for _, tt := range tests {
		if got := callList(t, f, goodHeaders(), tt.body).listed(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: listed %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestListItems(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	tags := []string{"a", "b"}
	f.AddPhones(
		geelarktest.Phone{ID: "p1", SerialName: "one", Remark: "r", GroupName: "G", Tags: tags},
		geelarktest.Phone{ID: "p2"},
	)
	tags[0] = "changed" // AddPhones keeps its own copy
	call(t, f, goodHeaders(), idsBody("p2"))
	r := callList(t, f, goodHeaders(), `{}`)
	a, b := r.Data.Items[0], r.Data.Items[1]
	if a.ID != "p1" || a.SerialName != "one" || a.SerialNo != "1" || a.Remark != "r" || a.Group == nil ||
		a.Group.Name != "G" || a.Group.ID == "" || len(a.Tags) != 2 || a.Tags[0].Name != "a" || a.Status == nil || *a.Status != 2 {
		t.Errorf("item 1 = %+v, want p1 shut down with its group and tags", a)
	}
	if b.SerialNo != "2" || b.Group != nil || b.Tags == nil || len(b.Tags) != 0 || *b.Status != 0 {
		t.Errorf("item 2 = %+v, want p2 started, no group, tags []", b)
	}
}

func TestAddPhonesReplacesAndResetForgets(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	f.AddPhones(geelarktest.Phone{ID: "p1", GroupName: "a"}, geelarktest.Phone{ID: "p2", GroupName: "a"})
	f.AddPhones(geelarktest.Phone{ID: "p1", GroupName: "b"}, geelarktest.Phone{ID: "p3", GroupName: "b"})
	if got := callList(t, f, goodHeaders(), `{"groupName":"b"}`).listed(); !reflect.DeepEqual(got, []string{"p1", "p3"}) {
		t.Errorf("group b: %v, want [p1 p3]", got)
	}
	if got := callList(t, f, goodHeaders(), `{}`).listed(); !reflect.DeepEqual(got, []string{"p1", "p2", "p3"}) {
		t.Errorf("all: %v, want p1 in its first place", got)
	}
	f.Reset()
	if r := callList(t, f, goodHeaders(), `{}`); r.Data.Total != 0 || len(f.Calls()) != 1 {
		t.Errorf("after Reset: total %d, %d calls", r.Data.Total, len(f.Calls()))
	}
}

func TestListCallRecorded(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{Now: func() time.Time { return t0 }})
	f.AddPhones(numbered(5, "g")...)
	h := keyHeaders(geelarktest.DefaultAppID, geelarktest.DefaultAPIKey, t0)
	callList(t, f, h, `{"page":2,"pageSize":2,"groupName":"g","tags":["x"],"remark":"r","serialName":"s","ids":["p1"]}`)
	callList(t, f, h, `{"page":2,"pageSize":2,"groupName":"g"}`)
	callList(t, f, tokenHeaders("wrong"), `{"page":3,"pageSize":4}`)
	call(t, f, goodHeaders(), idsBody("p1"))
	calls := f.Calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4", len(calls))
	}
	want := geelark.ListFilter{GroupName: "g", Tags: []string{"x"}, Remark: "r", SerialName: "s", IDs: []string{"p1"}}
	if c := calls[0]; c.N != 1 || c.Path != geelark.ListPath || !c.Time.Equal(t0) || c.TraceID != h.Get("traceId") ||
		c.Auth != "key" || c.Page != 2 || c.PageSize != 2 || !reflect.DeepEqual(c.Filter, want) || len(c.Listed) != 0 {
		t.Errorf("call 1 = %+v", c)
	}
	if c := calls[1]; !reflect.DeepEqual(c.Listed, []string{"p2", "p3"}) {
		t.Errorf("call 2 listed %v, want [p2 p3]", c.Listed)
	}
	if c := calls[2]; c.Code != 40003 || c.Page != 3 || c.PageSize != 4 || c.Listed != nil {
		t.Errorf("refused call 3 = %+v, want its page recorded and nothing listed", c)
	}
	if c := calls[3]; c.Path != geelark.StartPath || c.Page != 0 || len(c.Filter.IDs) != 0 {
		t.Errorf("start call 4 = %+v", c)
	}
	calls[0].Filter.Tags[0], calls[1].Listed[0] = "changed", "changed"
	if c := f.Calls(); c[0].Filter.Tags[0] != "x" || c[1].Listed[0] != "p2" {
		t.Error("Calls returned the fake's own slices")
	}
}

// GeeLark counts its budget per endpoint; the lockout of 40014 locks both.
func TestListBudget(t *testing.T) {
	t.Parallel()
	t.Run("per minute, per endpoint", func(t *testing.T) {
		t.Parallel()
		f := geelarktest.New(geelarktest.Config{RatePerMinute: 2, Now: func() time.Time { return t0 }})
		start := func() int { return *call(t, f, goodHeaders(), idsBody("p1")).Code }
		list := func() int { return *callList(t, f, goodHeaders(), `{}`).Code }
		got := []int{start(), start(), list(), start(), list(), list()}
		if want := []int{0, 0, 0, 40007, 0, 40007}; !reflect.DeepEqual(got, want) {
			t.Errorf("codes %v, want %v", got, want)
		}
		if f.Violations() != 2 {
			t.Errorf("Violations %d, want 2", f.Violations())
		}
	})
	t.Run("the lockout locks both", func(t *testing.T) {
		t.Parallel()
		f := geelarktest.New(geelarktest.Config{RatePerHour: 1, Now: func() time.Time { return t0 }})
		got := []int{
			*callList(t, f, goodHeaders(), `{}`).Code,
			*callList(t, f, goodHeaders(), `{}`).Code,
			*call(t, f, goodHeaders(), idsBody("p1")).Code,
		}
		if want := []int{0, 40014, 40014}; !reflect.DeepEqual(got, want) {
			t.Errorf("codes %v, want %v", got, want)
		}
	})
}

func TestListFaults(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	f.AddPhones(numbered(3, "g")...)
	f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 50000})
	f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultOmit})
	f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultTruncated})
	if r := callList(t, f, goodHeaders(), `{}`); *r.Code != 50000 || r.Data != nil {
		t.Errorf("FaultCode: code %d data %v", *r.Code, r.Data)
	}
	if r := callList(t, f, goodHeaders(), `{}`); *r.Code != 0 || len(r.listed()) != 3 {
		t.Errorf("FaultOmit on a list call: code %d listed %v, want the reply unchanged", *r.Code, r.listed())
	}
	status, body := serveList(t, f)
	if status != http.StatusOK || json.Valid(body) || f.Calls()[2].Fault != geelarktest.FaultTruncated {
		t.Errorf("FaultTruncated: HTTP %d body %q", status, body)
	}
}

func serveList(t *testing.T, h http.Handler) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, geelark.ListPath, strings.NewReader(`{}`))
	req.Header = goodHeaders()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestListRoute(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	req := httptest.NewRequest(http.MethodGet, geelark.ListPath, nil)
	req.Header = goodHeaders()
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || len(f.Calls()) != 0 {
		t.Errorf("GET %s: HTTP %d, %d calls; want 405 and none recorded", geelark.ListPath, rec.Code, len(f.Calls()))
	}
}
