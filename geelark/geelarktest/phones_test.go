package geelarktest_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestReplyShape(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	f.Script("p2", geelarktest.Script{Code: 42001})
	f.Script("p3", geelarktest.Script{Code: 43004, Msg: "env is expired"})
	h := goodHeaders()
	r := call(t, f, h, idsBody("p1", "p2", "p3", "p4"))
	if *r.Code != 0 || r.Msg != "success" || r.TraceID != h.Get("traceId") {
		t.Fatalf("envelope code %d msg %q traceId %q, want 0 \"success\" %q", *r.Code, r.Msg, r.TraceID, h.Get("traceId"))
	}
	d := r.Data
	if d == nil {
		t.Fatal("no data")
	}
	if d.TotalAmount != 4 || d.SuccessAmount != 2 || d.FailAmount != 2 {
		t.Errorf("amounts total %d success %d fail %d, want 4 2 2", d.TotalAmount, d.SuccessAmount, d.FailAmount)
	}
	if len(d.SuccessDetails) != 2 || d.SuccessDetails[0].ID != "p1" || d.SuccessDetails[1].ID != "p4" {
		t.Fatalf("successDetails %+v, want p1 and p4", d.SuccessDetails)
	}
	for _, s := range d.SuccessDetails {
		if s.URL != "https://fake.geelark.test/phone/"+s.ID || s.ChargingMethod != "Per-minute usage" {
			t.Errorf("success detail %+v", s)
		}
	}
	want := []struct {
		code int
		id   string
		msg  string
	}{{42001, "p2", geelark.Lookup(42001).Meaning}, {43004, "p3", "env is expired"}}
	if len(d.FailDetails) != len(want) {
		t.Fatalf("failDetails %+v", d.FailDetails)
	}
	for i, w := range want {
		if fd := d.FailDetails[i]; fd.Code != w.code || fd.ID != w.id || fd.Msg != w.msg {
			t.Errorf("failDetails[%d] = %+v, want %+v", i, fd, w)
		}
	}
	c := f.Calls()[0]
	if !reflect.DeepEqual(c.Started, []string{"p1", "p4"}) ||
		!reflect.DeepEqual(c.Failed, map[string]int{"p2": 42001, "p3": 43004}) {
		t.Errorf("call recorded Started %v Failed %v", c.Started, c.Failed)
	}
}

func TestScriptTimes(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{
		// Scripts win over Default.
		Default: func(string, int) geelarktest.Reply { return geelarktest.Reply{Code: 50000} },
	})
	f.Script("twice", geelarktest.Script{Code: 47002, Times: 2})
	f.Script("never", geelarktest.Script{Code: 42001})
	f.Script("always", geelarktest.Script{})
	want := []map[string]int{ // per call: id -> code answered (0 = started)
		{"twice": 47002, "never": 42001, "always": 0},
		{"twice": 47002, "never": 42001, "always": 0},
		{"twice": 0, "never": 42001, "always": 0},
		{"twice": 0, "never": 42001, "always": 0},
	}
	for i, w := range want {
		r := call(t, f, goodHeaders(), idsBody("twice", "never", "always"))
		got := map[string]int{}
		for _, s := range r.Data.SuccessDetails {
			got[s.ID] = 0
		}
		for _, fd := range r.Data.FailDetails {
			got[fd.ID] = fd.Code
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("attempt %d: %v, want %v", i+1, got, w)
		}
	}
	for id, want := range map[string][2]int{"twice": {4, 2}, "never": {4, 0}, "always": {4, 4}} {
		if a, s := f.Attempts(id), f.Starts(id); a != want[0] || s != want[1] {
			t.Errorf("%s: Attempts %d Starts %d, want %d %d", id, a, s, want[0], want[1])
		}
	}
}

func TestDefaultSeesAttempts(t *testing.T) {
	t.Parallel()
	var seen []int
	f := geelarktest.New(geelarktest.Config{Default: func(id string, attempt int) geelarktest.Reply {
		seen = append(seen, attempt) // called with the fake's lock held
		if attempt < 3 {
			return geelarktest.Reply{Code: 43020}
		}
		return geelarktest.Reply{}
	}})
	call(t, f, goodHeaders(), idsBody("p1"))
	call(t, f, tokenHeaders("wrong"), idsBody("p1")) // refused: not an attempt
	call(t, f, goodHeaders(), idsBody("p1"))
	r := call(t, f, goodHeaders(), idsBody("p1"))
	if !reflect.DeepEqual(seen, []int{1, 2, 3}) {
		t.Errorf("Default saw attempts %v, want [1 2 3]", seen)
	}
	if r.Data.SuccessAmount != 1 || f.Attempts("p1") != 3 || f.Starts("p1") != 1 {
		t.Errorf("third attempt: success %d, Attempts %d, Starts %d; want 1 3 1",
			r.Data.SuccessAmount, f.Attempts("p1"), f.Starts("p1"))
	}
}

func TestStartedTwiceCountsTwice(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{})
	call(t, f, goodHeaders(), idsBody("p1"))
	call(t, f, goodHeaders(), idsBody("p1", "p2"))
	if f.Starts("p1") != 2 || f.Starts("p2") != 1 || f.Starts("p3") != 0 {
		t.Errorf("Starts p1 %d p2 %d p3 %d, want 2 1 0", f.Starts("p1"), f.Starts("p2"), f.Starts("p3"))
	}
}

func TestResetAndCallsCopy(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{RatePerMinute: 1, Now: func() time.Time { return t0 }})
	f.Script("p1", geelarktest.Script{Code: 42001})
	f.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40000})
	call(t, f, goodHeaders(), idsBody("p1"))
	call(t, f, goodHeaders(), idsBody("p1")) // over the budget

	calls := f.Calls()
	calls[0].IDs[0] = "changed"
	if f.Calls()[0].IDs[0] != "p1" {
		t.Error("Calls returned the fake's own slice")
	}
	if f.Violations() != 1 {
		t.Fatalf("Violations %d, want 1", f.Violations())
	}

	f.Reset()
	if len(f.Calls()) != 0 || f.Violations() != 0 || f.Attempts("p1") != 0 {
		t.Fatalf("after Reset: %d calls, %d violations, %d attempts", len(f.Calls()), f.Violations(), f.Attempts("p1"))
	}
	r := call(t, f, goodHeaders(), idsBody("p1"))
	if *r.Code != 0 || r.Data.SuccessAmount != 1 || f.Calls()[0].N != 1 {
		t.Errorf("after Reset the budget, script or fault survived: code %d, data %+v", *r.Code, r.Data)
	}
}
