package geelarktest_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("500", func(t *testing.T) {
		t.Parallel()
		f := geelarktest.New(geelarktest.Config{})
		f.FailNext(1, geelarktest.Fault{Kind: geelarktest.Fault500})
		status, body := serve(t, f, goodHeaders(), idsBody("p1"))
		if status != http.StatusInternalServerError || len(body) != 0 {
			t.Errorf("HTTP %d body %q, want 500 and no body", status, body)
		}
		if f.Attempts("p1") != 0 || f.Calls()[0].Fault != geelarktest.Fault500 {
			t.Errorf("Attempts %d, call %+v: a 500 processes no phone", f.Attempts("p1"), f.Calls()[0])
		}
	})
	t.Run("code", func(t *testing.T) {
		t.Parallel()
		f := geelarktest.New(geelarktest.Config{})
		f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40007})
		f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40010, Msg: "busy"})
		f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode})
		for _, want := range []struct {
			code int
			msg  string
		}{{40007, "too many requests"}, {40010, "busy"}, {50000, "internal error"}, {0, "success"}} {
			r := call(t, f, goodHeaders(), idsBody("p1"))
			if *r.Code != want.code || r.Msg != want.msg {
				t.Errorf("code %d msg %q, want %d %q", *r.Code, r.Msg, want.code, want.msg)
			}
		}
		if f.Attempts("p1") != 1 || f.Violations() != 0 {
			t.Errorf("Attempts %d Violations %d, want 1 0", f.Attempts("p1"), f.Violations())
		}
	})
	t.Run("truncated", func(t *testing.T) {
		t.Parallel()
		f := geelarktest.New(geelarktest.Config{})
		f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultTruncated})
		status, body := serve(t, f, goodHeaders(), idsBody("p1", "p2"))
		if status != http.StatusOK || json.Valid(body) || len(body) == 0 {
			t.Errorf("HTTP %d body %q, want 200 and half a JSON body", status, body)
		}
		if f.Starts("p1") != 1 || f.Starts("p2") != 1 {
			t.Errorf("Starts %d %d, want the phones started anyway", f.Starts("p1"), f.Starts("p2"))
		}
	})
	t.Run("omit", func(t *testing.T) {
		t.Parallel()
		f := geelarktest.New(geelarktest.Config{})
		f.Script("p1", geelarktest.Script{Code: 42001})
		f.FailNext(2, geelarktest.Fault{Kind: geelarktest.FaultOmit})
		r := call(t, f, goodHeaders(), idsBody("p1", "p2", "p3"))
		d := r.Data
		if *r.Code != 0 || d.TotalAmount != 3 || d.SuccessAmount != 1 || d.FailAmount != 1 ||
			len(d.SuccessDetails) != 1 || d.SuccessDetails[0].ID != "p3" {
			t.Fatalf("reply %+v, want p2 left out", d)
		}
		c := f.Calls()[0]
		if c.Omitted != "p2" || !reflect.DeepEqual(c.Started, []string{"p3"}) || f.Starts("p2") != 1 {
			t.Errorf("call Omitted %q Started %v, Starts(p2) %d", c.Omitted, c.Started, f.Starts("p2"))
		}
		// Nothing started: nothing to leave out.
		r = call(t, f, goodHeaders(), idsBody("p1"))
		if r.Data.FailAmount != 1 || f.Calls()[1].Omitted != "" {
			t.Errorf("FaultOmit without a started phone changed the reply: %+v", r.Data)
		}
	})
}

func TestFaultOrder(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	f.SetFaults(func(n int) geelarktest.Fault {
		if n%2 == 0 {
			return geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 50000}
		}
		return geelarktest.Fault{}
	})
	f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40010})
	f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40017})

	codes := func(hdr http.Header) int { return *call(t, f, hdr, idsBody("p1")).Code }
	got := []int{
		codes(tokenHeaders("wrong")), // call 1: refused, takes no fault
		codes(goodHeaders()),         // call 2: first FailNext
		codes(goodHeaders()),         // call 3: second FailNext
		codes(goodHeaders()),         // call 4: SetFaults(4)
		codes(goodHeaders()),         // call 5: SetFaults(5)
	}
	if want := []int{40003, 40010, 40017, 50000, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("codes %v, want %v", got, want)
	}
	f.SetFaults(nil)
	if c := codes(goodHeaders()); c != 0 {
		t.Errorf("after SetFaults(nil): code %d, want 0", c)
	}
	var kinds []geelarktest.FaultKind
	for _, c := range f.Calls() {
		kinds = append(kinds, c.Fault)
	}
	want := []geelarktest.FaultKind{0, geelarktest.FaultCode, geelarktest.FaultCode, geelarktest.FaultCode, 0, 0}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("recorded faults %v, want %v", kinds, want)
	}
}

func TestFaultKindString(t *testing.T) {
	t.Parallel()
	if s := geelarktest.FaultOmit.String(); s != "omit" {
		t.Errorf("FaultOmit.String() = %q", s)
	}
	if s := geelarktest.FaultKind(42).String(); s != "FaultKind(42)" {
		t.Errorf("FaultKind(42).String() = %q", s)
	}
}
