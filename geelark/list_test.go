package geelark_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// listCalls returns the list calls srv recorded.
func listCalls(srv *geelarktest.Server) []geelarktest.Call {
	var out []geelarktest.Call
	for _, c := range srv.Calls() {
		if c.Path == geelark.ListPath {
			out = append(out, c)
		}
	}
	return out
}

// groupPhones returns n phones of group, their IDs starting with prefix.
func groupPhones(prefix, group string, n int) []geelarktest.Phone {
	ps := make([]geelarktest.Phone, n)
	for i := range ps {
		ps[i] = geelarktest.Phone{ID: fmt.Sprintf("%s%05d", prefix, i), SerialName: fmt.Sprint(group, "-", i), GroupName: group}
	}
	return ps
}

func ids(ps []geelark.Phone) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestListInvalidRequestsAreNotSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		page, pageSize int
		f              geelark.ListFilter
	}{
		{"page 0", 0, 10, geelark.ListFilter{}},
		{"page -1", -1, 10, geelark.ListFilter{}},
		{"page size 0", 1, 0, geelark.ListFilter{}},
		{"page size 101", 1, 101, geelark.ListFilter{}},
		{"101 IDs", 1, 100, geelark.ListFilter{IDs: phoneIDs(101)}},
		{"empty ID", 1, 100, geelark.ListFilter{IDs: []string{"p1", ""}}},
		{"ID with a space", 1, 100, geelark.ListFilter{IDs: []string{"p 1"}}},
		{"empty tag", 1, 100, geelark.ListFilter{Tags: []string{"eu", ""}}},
		{"blank tag", 1, 100, geelark.ListFilter{Tags: []string{" "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &countingTransport{}
			c := newClient(t, geelark.Config{BaseURL: "http://127.0.0.1:9", Token: testToken,
				HTTPClient: &http.Client{Transport: rt}}, nil)
			page, err := c.ListPhones(context.Background(), tt.page, tt.pageSize, tt.f)
			if !errors.Is(err, geelark.ErrInvalidRequest) {
				t.Fatalf("err %v, want ErrInvalidRequest", err)
			}
			if page != nil {
				t.Errorf("page %+v with an invalid request", page)
			}
			var ae *geelark.APIError
			if geelark.IsOutcomeUnknown(err) || errors.As(err, &ae) {
				t.Errorf("an unsent request is reported as %T", err)
			}
			if tt.page == 1 && tt.pageSize == 100 {
				// ListAll refuses the same filter, and sends nothing either.
				phones, err := c.ListAll(context.Background(), tt.f, nil)
				if !errors.Is(err, geelark.ErrInvalidRequest) || phones != nil {
					t.Errorf("ListAll: %v, %v; want ErrInvalidRequest and no phones", phones, err)
				}
			}
			if n := rt.n.Load(); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
}

// The limits the client enforces are the ones the fake accepts.
func TestListBoundaryRequestsAreAccepted(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	c := tokenClient(t, srv, nil)
	for _, tt := range []struct {
		page, pageSize int
		f              geelark.ListFilter
	}{
		{1, 1, geelark.ListFilter{}},
		{1, geelark.MaxListPageSize, geelark.ListFilter{}},
		{1 << 40, geelark.MaxListPageSize, geelark.ListFilter{}},
		{1, 10, geelark.ListFilter{IDs: phoneIDs(geelark.MaxListIDs)}},
	} {
		if _, err := c.ListPhones(context.Background(), tt.page, tt.pageSize, tt.f); err != nil {
			t.Errorf("ListPhones(%d, %d, %d IDs): %v", tt.page, tt.pageSize, len(tt.f.IDs), err)
		}
	}
}

func TestListAuthModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		client   func(*testing.T, *geelarktest.Server, func(*geelark.Config)) *geelark.Client
		edit     func(*geelark.Config)
		wantCode int
		wantAuth string
	}{
		{"key", keyClient, nil, 0, "key"},
		{"token", tokenClient, nil, 0, "token"},
		{"wrong key", keyClient, func(c *geelark.Config) { c.APIKey += "x" }, 40003, ""},
		{"wrong token", tokenClient, func(c *geelark.Config) { c.Token += "x" }, 40003, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{})
			srv.AddPhones(geelarktest.Phone{ID: "p1", GroupName: "g"})
			page, err := tt.client(t, srv, tt.edit).ListPhones(context.Background(), 1, 10, geelark.ListFilter{GroupName: "g"})
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Path != geelark.ListPath || calls[0].Auth != tt.wantAuth {
				t.Fatalf("fake saw %+v, want one list call authenticated as %q", calls, tt.wantAuth)
			}
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("ListPhones: %v", err)
				}
				if page.TraceID != calls[0].TraceID || page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != "p1" {
					t.Errorf("page %+v, want p1 under traceId %s", page, calls[0].TraceID)
				}
				return
			}
			ae := apiError(t, err)
			if ae.Code != tt.wantCode || ae.Class() != geelark.ClassAccount || geelark.IsOutcomeUnknown(err) {
				t.Errorf("APIError %+v class %s, want %d account", ae, ae.Class(), tt.wantCode)
			}
			if ae.TraceID != calls[0].TraceID || page == nil || page.TraceID != calls[0].TraceID {
				t.Errorf("traceIds: error %q, page %+v, fake %q", ae.TraceID, page, calls[0].TraceID)
			}
		})
	}
}

func TestListPhonesPage(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.AddPhones(
		geelarktest.Phone{ID: "p1", SerialName: "shop-1", Remark: "morning", GroupName: "Shop-EU", Tags: []string{"eu", "tiktok"}},
		geelarktest.Phone{ID: "p2", SerialName: "bare"},
	)
	c := keyClient(t, srv, nil)
	mustStart(t, c, "p1")
	page, err := c.ListPhones(context.Background(), 1, 10, geelark.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []geelark.Phone{
		{ID: "p1", SerialName: "shop-1", SerialNo: "1", Remark: "morning", GroupID: "group-Shop-EU", GroupName: "Shop-EU",
			Tags: []string{"eu", "tiktok"}, Status: 0},
		{ID: "p2", SerialName: "bare", SerialNo: "2", Status: 2},
	}
	if page.Total != 2 || page.Page != 1 || page.PageSize != 10 || !reflect.DeepEqual(page.Items, want) {
		t.Errorf("page %+v\nwant items %+v", page, want)
	}
	call := listCalls(srv)[0]
	if call.Page != 1 || call.PageSize != 10 || page.TraceID != call.TraceID {
		t.Errorf("fake recorded %+v", call)
	}
	if starts := srv.Calls()[0]; starts.Path != geelark.StartPath {
		t.Errorf("start call recorded with Path %q", starts.Path)
	}
}

// A group of 250 phones is read in three pages of 100, each after a wait.
func TestListAllGroup(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	group := groupPhones("52234000001", "Shop-EU", 250)
	other := groupPhones("52234000002", "Shop-US", 60)
	for i := range 250 { // interleaved, so that paging has to filter
		srv.AddPhones(group[i])
		if i < len(other) {
			srv.AddPhones(other[i])
		}
	}
	var waits atomic.Int64
	wait := func(ctx context.Context) error {
		if len(listCalls(srv)) != int(waits.Load()) {
			t.Error("wait was not called before the page")
		}
		waits.Add(1)
		return ctx.Err()
	}
	phones, err := keyClient(t, srv, nil).ListAll(context.Background(), geelark.ListFilter{GroupName: "Shop-EU"}, wait)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(group))
	for i, p := range group {
		want[i] = p.ID
	}
	if got := ids(phones); !reflect.DeepEqual(got, want) {
		t.Fatalf("%d phones, want the group's 250 in order", len(got))
	}
	calls := listCalls(srv)
	if len(calls) != 3 || waits.Load() != 3 {
		t.Fatalf("%d list calls and %d waits, want 3 and 3", len(calls), waits.Load())
	}
	for i, c := range calls {
		if c.Page != i+1 || c.PageSize != geelark.MaxListPageSize || c.Filter.GroupName != "Shop-EU" || c.Code != 0 {
			t.Errorf("call %d: page %d size %d filter %+v code %d", i+1, c.Page, c.PageSize, c.Filter, c.Code)
		}
	}
	if n := len(calls[2].Listed); n != 50 {
		t.Errorf("page 3 listed %d phones, want 50", n)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.AddPhones(
		geelarktest.Phone{ID: "p1", SerialName: "shop-1", Remark: "morning", GroupName: "EU", Tags: []string{"eu", "tiktok"}},
		geelarktest.Phone{ID: "p2", SerialName: "shop-10", Remark: "morning shift", GroupName: "EU", Tags: []string{"eu"}},
		geelarktest.Phone{ID: "p3", SerialName: "shop-2", Remark: "evening", GroupName: "US", Tags: []string{"tiktok", "us"}},
		geelarktest.Phone{ID: "p4", SerialName: "Shop-1", Remark: "Morning", GroupName: "eu"},
	)
	c := tokenClient(t, srv, nil)
	tests := []struct {
		name string
		f    geelark.ListFilter
		want []string
	}{
		{"everything", geelark.ListFilter{}, []string{"p1", "p2", "p3", "p4"}},
		{"group, exact and case-sensitive", geelark.ListFilter{GroupName: "EU"}, []string{"p1", "p2"}},
		{"one tag", geelark.ListFilter{Tags: []string{"tiktok"}}, []string{"p1", "p3"}},
		{"every tag", geelark.ListFilter{Tags: []string{"eu", "tiktok"}}, []string{"p1"}},
		{"remark, exact", geelark.ListFilter{Remark: "morning"}, []string{"p1"}},
		{"name, exact", geelark.ListFilter{SerialName: "shop-1"}, []string{"p1"}},
		{"group and tag", geelark.ListFilter{GroupName: "US", Tags: []string{"tiktok"}}, []string{"p3"}},
		{"IDs", geelark.ListFilter{IDs: []string{"p4", "p2", "p9"}}, []string{"p2", "p4"}},
		{"IDs and group", geelark.ListFilter{IDs: []string{"p2", "p3"}, GroupName: "EU"}, []string{"p2"}},
		{"no match", geelark.ListFilter{GroupName: "EU", Tags: []string{"us"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := c.ListPhones(context.Background(), 1, geelark.MaxListPageSize, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range page.Items {
				got = append(got, p.ID)
				if !tt.f.Matches(p) {
					t.Errorf("Matches(%+v) = false for a phone the fake selected", p)
				}
			}
			if !reflect.DeepEqual(got, tt.want) || page.Total != len(tt.want) {
				t.Errorf("listed %v (total %d), want %v", got, page.Total, tt.want)
			}
			all, err := c.ListAll(context.Background(), tt.f, nil)
			if err != nil || !slices.Equal(ids(all), got) {
				t.Errorf("ListAll: %v, %v; want %v", ids(all), err, got)
			}
		})
	}
}

// With IDs GeeLark ignores paging, so ListAll asks once.
func TestListAllWithIDsAsksOnce(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.AddPhones(groupPhones("p", "g", 150)...)
	want := []string{"p00003", "p00120", "p00149"}
	phones, err := tokenClient(t, srv, nil).ListAll(context.Background(), geelark.ListFilter{IDs: want}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(phones), want) || len(listCalls(srv)) != 1 {
		t.Errorf("phones %v in %d calls, want %v in 1", ids(phones), len(listCalls(srv)), want)
	}
}

// A failed page ends the listing with its error and no phones.
func TestListAllFailedPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault geelarktest.Fault
		op    string // TransportError.Op; "" for an APIError
	}{
		{"HTTP 500", geelarktest.Fault{Kind: geelarktest.Fault500}, "status"},
		{"truncated body", geelarktest.Fault{Kind: geelarktest.FaultTruncated}, "decode"},
		{"dropped connection", geelarktest.Fault{Kind: geelarktest.FaultDrop}, "send"},
		{"40007", geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40007}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{})
			srv.AddPhones(groupPhones("p", "g", 250)...)
			srv.SetFaults(func(n int) geelarktest.Fault {
				if n == 2 {
					return tt.fault
				}
				return geelarktest.Fault{}
			})
			phones, err := keyClient(t, srv, nil).ListAll(context.Background(), geelark.ListFilter{GroupName: "g"}, nil)
			if err == nil || phones != nil {
				t.Fatalf("ListAll = %d phones, %v; want an error and no phones", len(phones), err)
			}
			calls := listCalls(srv)
			if len(calls) != 2 || calls[1].Page != 2 {
				t.Fatalf("%d list calls, want 2: the listing stops at the failed page", len(calls))
			}
			if !strings.Contains(err.Error(), "page 2") {
				t.Errorf("error %q does not name the page", err)
			}
			if tt.op == "" {
				if ae := apiError(t, err); ae.Code != 40007 || ae.TraceID != calls[1].TraceID {
					t.Errorf("APIError %+v, want 40007 with traceId %s", ae, calls[1].TraceID)
				}
				return
			}
			var te *geelark.TransportError
			if !errors.As(err, &te) || te.Op != tt.op || te.TraceID != calls[1].TraceID {
				t.Errorf("err %v (%T), want a %q *TransportError with traceId %s", err, err, tt.op, calls[1].TraceID)
			}
		})
	}
}

func TestListAllWaitError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.AddPhones(groupPhones("p", "g", 250)...)
	stop := errors.New("budget closed")
	n := 0
	phones, err := tokenClient(t, srv, nil).ListAll(context.Background(), geelark.ListFilter{}, func(context.Context) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || phones != nil || len(listCalls(srv)) != 1 {
		t.Errorf("ListAll = %d phones, %v after %d calls; want the wait's error after 1", len(phones), err, len(listCalls(srv)))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tokenClient(t, srv, nil).ListAll(ctx, geelark.ListFilter{}, nil); !errors.Is(err, context.Canceled) ||
		geelark.IsOutcomeUnknown(err) || len(listCalls(srv)) != 1 {
		t.Errorf("cancelled ListAll: %v; want context.Canceled before any call", err)
	}
}

// listServer answers every list call with the page that reply builds from
// the requested page number, and counts the calls.
func listServer(t *testing.T, reply func(page int) string) (*geelark.Client, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var body struct {
			Page int `json:"page"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		w.Write([]byte(reply(body.Page)))
	}))
	t.Cleanup(srv.Close)
	return newClient(t, geelark.Config{BaseURL: srv.URL, Token: testToken}, nil), &calls
}

// items returns n JSON list items with IDs prefix0, prefix1, ...
func items(prefix string, n int, extra string) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(`{"id":"%s%d"%s}`, prefix, i, extra)
	}
	return strings.Join(s, ",")
}

func TestListAllStopsARunawayServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     func(page int) string
		wantCalls int64
		wantIDs   int
	}{
		{"total grows with every page", func(p int) string {
			return fmt.Sprintf(`{"code":0,"data":{"total":%d,"items":[%s]}}`, 150+100*p, items(fmt.Sprint("p", p, "-"), 100, ""))
		}, 4, 400}, // the first page's total (250) needs 3 pages; one more is read, then no more
		{"paging ignored", func(int) string {
			return fmt.Sprintf(`{"code":0,"data":{"total":250,"items":[%s]}}`, items("p", 100, ""))
		}, 3, 100},
		{"empty page before the total", func(p int) string {
			if p > 1 {
				return `{"code":0,"data":{"total":1000,"items":[]}}`
			}
			return fmt.Sprintf(`{"code":0,"data":{"total":1000,"items":[%s]}}`, items("p", 100, ""))
		}, 2, 100},
		{"total 0 with items", func(int) string {
			return fmt.Sprintf(`{"code":0,"data":{"total":0,"items":[%s]}}`, items("p", 3, ""))
		}, 1, 3},
		{"no IDs", func(int) string {
			return `{"code":0,"data":{"total":2,"items":[{"serialName":"a"},{"id":""}]}}`
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, calls := listServer(t, tt.reply)
			phones, err := c.ListAll(context.Background(), geelark.ListFilter{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if calls.Load() != tt.wantCalls || len(phones) != tt.wantIDs {
				t.Errorf("%d calls, %d phones; want %d and %d", calls.Load(), len(phones), tt.wantCalls, tt.wantIDs)
			}
		})
	}
}

// GeeLark's matching is undocumented: whatever a looser server answers,
// ListAll keeps only the phones the filter names exactly.
func TestListAllKeepsOnlyExactMatches(t *testing.T) {
	t.Parallel()
	c, _ := listServer(t, func(int) string {
		return `{"code":0,"data":{"total":5,"items":[
			{"id":"1","serialName":"shop-1","group":{"name":"EU"},"tags":[{"name":"a"},{"name":"b"}]},
			{"id":"2","serialName":"shop-10","group":{"name":"EU"},"tags":[{"name":"a"},{"name":"b"}]},
			{"id":"3","serialName":"shop-1","group":{"name":"eu"},"tags":[{"name":"a"},{"name":"b"}]},
			{"id":"4","serialName":"shop-1","group":{"name":"EU"},"tags":[{"name":"a"}]},
			{"id":"5","serialName":"shop-1","tags":[{"name":"a"},{"name":"b"}]}
		]}}`
	})
	phones, err := c.ListAll(context.Background(), geelark.ListFilter{GroupName: "EU", SerialName: "shop-1", Tags: []string{"b", "a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(phones); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("kept %v, want [1]", got)
	}
}
