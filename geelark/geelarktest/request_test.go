package geelarktest_test

import (
	"errors"
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

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	ids := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint("p", i)
		}
		return idsBody(s...)
	}
	tests := []struct {
		name string
		body string
		want int
	}{
		{"one id", `{"ids":["p1"]}`, 0},
		{"200 ids", ids(200), 0},
		{"201 ids", ids(201), 40004},
		{"not JSON", `ids=p1`, 40004},
		{"trailing garbage", `{"ids":["p1"]} x`, 40004},
		{"no ids", `{}`, 40004},
		{"empty ids", `{"ids":[]}`, 40004},
		{"ids not a list", `{"ids":"p1"}`, 40004},
		{"empty id", `{"ids":["p1",""]}`, 40004},
		{"null id", `{"ids":[null]}`, 40004},
		{"numeric id", `{"ids":[1]}`, 40004},
		{"duplicate id", `{"ids":["p1","p2","p1"]}`, 40004},
		{"width 0", `{"ids":["p1"],"width":0}`, 0},
		{"width 199", `{"ids":["p1"],"width":199}`, 40004},
		{"width 200", `{"ids":["p1"],"width":200}`, 0},
		{"width 600", `{"ids":["p1"],"width":600}`, 0},
		{"width 601", `{"ids":["p1"],"width":601}`, 40004},
		{"width 336.5", `{"ids":["p1"],"width":336.5}`, 40004},
		{"center 0", `{"ids":["p1"],"center":0}`, 0},
		{"center 1", `{"ids":["p1"],"center":1}`, 0},
		{"center null", `{"ids":["p1"],"center":null}`, 0},
		{"center 2", `{"ids":["p1"],"center":2}`, 40004},
		{"center -1", `{"ids":["p1"],"center":-1}`, 40004},
		{"bool not bool", `{"ids":["p1"],"hideMirror":"yes"}`, 40004},
		{"newer field", `{"ids":["p1"],"energySavingMode":1}`, 0},
		{"body over 1 MiB", `{"ids":["p1"],"x":"` + strings.Repeat("x", 1<<20) + `"}`, 40001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := geelarktest.New(geelarktest.Config{})
			r := call(t, f, goodHeaders(), tt.body)
			if *r.Code != tt.want {
				t.Fatalf("code %d (%s), want %d", *r.Code, r.Msg, tt.want)
			}
			if tt.want != 0 {
				if r.Data != nil {
					t.Errorf("refused call has data")
				}
				if got := f.Attempts("p1"); got != 0 {
					t.Errorf("refused call attempted p1 %d times", got)
				}
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestUnreadableBody(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	req := httptest.NewRequest(http.MethodPost, geelark.StartPath, failingReader{})
	req.Header = goodHeaders()
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"code":40001`) {
		t.Errorf("reply %q, want code 40001", rec.Body)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, geelark.StartPath, http.StatusMethodNotAllowed},
		{http.MethodPut, geelark.StartPath, http.StatusMethodNotAllowed},
		{http.MethodPost, "/open/v1/phone/delete", http.StatusNotFound},
		{http.MethodGet, geelark.StatusPath, http.StatusMethodNotAllowed},
		{http.MethodPost, geelark.StartPath + "/", http.StatusNotFound},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(idsBody("p1")))
		req.Header = goodHeaders()
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s %s: HTTP %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
		if tt.want == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s %s: Allow %q, want POST", tt.method, tt.path, rec.Header().Get("Allow"))
		}
	}
	if n := len(f.Calls()); n != 0 {
		t.Errorf("%d calls recorded for other paths and methods, want 0", n)
	}
}

func TestCallRecordsRequest(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{Now: func() time.Time { return t0 }})
	h := goodHeaders()
	call(t, f, h, `{"ids":["p1","p2"],"hideSideBar":true,"displayTimer":true,"width":420,"center":0,"hideLibrary":true,"hideMirror":true}`)
	call(t, f, tokenHeaders("wrong"), `{"ids":["p3"]}`)
	calls := f.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	c := calls[0]
	zero := 0
	want := geelark.StartOptions{HideSideBar: true, DisplayTimer: true, Width: 420, Center: &zero, HideLibrary: true, HideMirror: true}
	if c.N != 1 || !c.Time.Equal(t0) || c.TraceID != h.Get("traceId") || !reflect.DeepEqual(c.IDs, []string{"p1", "p2"}) ||
		!reflect.DeepEqual(c.Options, want) || c.Auth != "token" || c.Code != 0 {
		t.Errorf("call 1 = %+v", c)
	}
	if c := calls[1]; c.N != 2 || c.Code != 40003 || !reflect.DeepEqual(c.IDs, []string{"p3"}) ||
		c.Options.Center != nil || c.Options.Width != 0 {
		t.Errorf("refused call 2 = %+v, want its IDs recorded and default options", c)
	}
}
