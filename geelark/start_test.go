package geelark_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestOutcomesInRequestOrder(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.Script("p2", geelarktest.Script{Code: 42001})
	srv.Script("p4", geelarktest.Script{Code: 43010})
	res := mustStart(t, keyClient(t, srv, nil), "p1", "p2", "p3", "p4")
	want := []geelark.Outcome{
		{ID: "p1", Status: geelark.StatusStarted, URL: geelarktest.PhoneURL("p1"), ChargingMethod: "Per-minute usage"},
		{ID: "p2", Status: geelark.StatusFailed, Code: 42001, Msg: geelark.Lookup(42001).Meaning},
		{ID: "p3", Status: geelark.StatusStarted, URL: geelarktest.PhoneURL("p3"), ChargingMethod: "Per-minute usage"},
		{ID: "p4", Status: geelark.StatusFailed, Code: 43010, Msg: geelark.Lookup(43010).Meaning},
	}
	if !reflect.DeepEqual(res.Outcomes, want) {
		t.Errorf("outcomes\n got %+v\nwant %+v", res.Outcomes, want)
	}
	if res.TraceID != srv.Calls()[0].TraceID {
		t.Errorf("TraceID %q, fake saw %q", res.TraceID, srv.Calls()[0].TraceID)
	}
}

func TestOmittedIDIsUnknown(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultOmit})
	res := mustStart(t, keyClient(t, srv, nil), "p1", "p2", "p3")
	got := []geelark.Status{res.Outcomes[0].Status, res.Outcomes[1].Status, res.Outcomes[2].Status}
	want := []geelark.Status{geelark.StatusUnknown, geelark.StatusStarted, geelark.StatusStarted}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if res.Outcomes[0].ID != "p1" {
		t.Errorf("unknown outcome names %q, want p1", res.Outcomes[0].ID)
	}
	if srv.Starts("p1") != 1 {
		t.Errorf("the fake started p1 %d times, want 1: unknown is not failed", srv.Starts("p1"))
	}
}

func TestScriptedFailureThenStart(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.Script("p1", geelarktest.Script{Code: 47002, Times: 2})
	c := tokenClient(t, srv, nil)
	for attempt := 1; attempt <= 3; attempt++ {
		o := mustStart(t, c, "p1").Outcomes[0]
		switch {
		case attempt <= 2 && (o.Status != geelark.StatusFailed || o.Code != 47002 ||
			geelark.Lookup(o.Code).Class != geelark.ClassTransient):
			t.Errorf("attempt %d: %+v, want failed with transient 47002", attempt, o)
		case attempt == 3 && o.Status != geelark.StatusStarted:
			t.Errorf("attempt 3: %+v, want started", o)
		}
	}
	if srv.Attempts("p1") != 3 || srv.Starts("p1") != 1 {
		t.Errorf("Attempts %d Starts %d, want 3 1", srv.Attempts("p1"), srv.Starts("p1"))
	}
}

func TestOptionsReachTheAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts geelark.StartOptions
	}{
		{"defaults", geelark.StartOptions{}},
		{"all set", geelark.StartOptions{HideSideBar: true, DisplayTimer: true, Width: 480, Center: ptr(1),
			HideLibrary: true, HideMirror: true}},
		{"not centered", geelark.StartOptions{Center: ptr(0)}},
		{"narrow", geelark.StartOptions{Width: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, geelarktest.Config{})
			if _, err := keyClient(t, srv, nil).StartPhones(context.Background(), []string{"p1"}, tt.opts); err != nil {
				t.Fatal(err)
			}
			if got := srv.Calls()[0].Options; !reflect.DeepEqual(got, tt.opts) {
				t.Errorf("fake received %+v, want %+v", got, tt.opts)
			}
		})
	}
}

func TestRateBudget(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{RatePerMinute: 3})
	c := keyClient(t, srv, nil)
	for i := range 3 {
		if _, err := start(t, c, "p1"); err != nil {
			t.Fatalf("call %d within the budget: %v", i+1, err)
		}
	}
	for range 2 {
		_, err := start(t, c, "p2")
		if ae := apiError(t, err); ae.Code != geelark.CodeTooManyRequests || ae.Class() != geelark.ClassRateLimited {
			t.Fatalf("over the budget: code %d class %s, want 40007 rate-limited", ae.Code, ae.Class())
		}
	}
	if srv.Violations() != 2 || srv.Attempts("p2") != 0 {
		t.Errorf("Violations %d, Attempts(p2) %d; want 2 0", srv.Violations(), srv.Attempts("p2"))
	}
}

func TestHourlyLockout(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{RatePerHour: 1})
	c := tokenClient(t, srv, nil)
	mustStart(t, c, "p1")
	for range 2 {
		_, err := start(t, c, "p1")
		ae := apiError(t, err)
		if ae.Code != geelark.CodeHourlyLimitLocked || ae.Class() != geelark.ClassRateLimited {
			t.Fatalf("code %d class %s, want 40014 rate-limited", ae.Code, ae.Class())
		}
		if d := geelark.Lookup(ae.Code).RetryAfter(time.Now()); d != geelark.LockoutDuration {
			t.Errorf("RetryAfter %v, want %v", d, geelark.LockoutDuration)
		}
	}
	if srv.Violations() != 2 {
		t.Errorf("Violations %d, want 2", srv.Violations())
	}
}

func TestCallLevelCode(t *testing.T) {
	t.Parallel()
	srv := newServer(t, geelarktest.Config{})
	srv.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40007})
	res, err := start(t, keyClient(t, srv, nil), "p1")
	ae := apiError(t, err)
	if ae.Code != 40007 || ae.Class() != geelark.ClassRateLimited || geelark.IsOutcomeUnknown(err) {
		t.Fatalf("APIError %+v class %s", ae, ae.Class())
	}
	if ae.Msg != geelark.Lookup(40007).Meaning || ae.TraceID != srv.Calls()[0].TraceID || res.TraceID != ae.TraceID {
		t.Errorf("APIError %+v, result %+v, fake traceId %s", ae, res, srv.Calls()[0].TraceID)
	}
	now := time.Date(2024, 5, 29, 8, 54, 52, 166e6, time.UTC)
	if at := now.Add(geelark.Lookup(ae.Code).RetryAfter(now)); !at.Equal(time.Date(2024, 5, 29, 8, 55, 0, 0, time.UTC)) {
		t.Errorf("40007 clears at %v, want the next minute", at)
	}
	if srv.Attempts("p1") != 0 {
		t.Error("a call answered 40007 processed a phone")
	}
}
