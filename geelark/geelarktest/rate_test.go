package geelarktest_test

import (
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func TestRatePerMinuteSlidingWindow(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	f := geelarktest.New(geelarktest.Config{RatePerMinute: 2, Now: clk.Now})
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 0},                // t0: 1 in the window
		{30 * time.Second, 0}, // t0+30s: 2
		{29 * time.Second, 40007},
		{0, 40007},            // refused calls spend nothing...
		{time.Second, 0},      // t0+60s: the t0 call left the window
		{time.Second, 40007},  // t0+30s and t0+60s are in it
		{29 * time.Second, 0}, // t0+90s: t0+30s left
		{2 * time.Minute, 0},  // a quiet period empties the window
		{0, 0},
		{0, 40007},
	}
	violations := 0
	for i, s := range steps {
		clk.Advance(s.advance)
		r := call(t, f, goodHeaders(), idsBody("p1"))
		if *r.Code != s.want {
			t.Fatalf("step %d at t0+%v: code %d, want %d", i, clk.Now().Sub(t0), *r.Code, s.want)
		}
		if s.want != 0 {
			violations++
			if r.Data != nil {
				t.Errorf("step %d: refused call carries data", i)
			}
		}
	}
	if got := f.Violations(); got != violations {
		t.Errorf("Violations %d, want %d", got, violations)
	}
	if got, want := f.Attempts("p1"), len(steps)-violations; got != want {
		t.Errorf("Attempts %d, want %d: refused calls must not process phones", got, want)
	}
}

func TestRatePerHourLocksForTwoHours(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	f := geelarktest.New(geelarktest.Config{RatePerHour: 3, Now: clk.Now})
	for i := range 3 {
		clk.Advance(time.Minute)
		if r := call(t, f, goodHeaders(), idsBody("p1")); *r.Code != 0 {
			t.Fatalf("call %d: code %d, want 0", i+1, *r.Code)
		}
	}
	clk.Advance(time.Minute)
	if r := call(t, f, goodHeaders(), idsBody("p1")); *r.Code != 40014 {
		t.Fatalf("4th call in the hour: code %d, want 40014", *r.Code)
	}
	lockedAt := clk.Now()
	// The hourly window is empty again after an hour, but the lock holds.
	for _, at := range []time.Duration{time.Minute, 61 * time.Minute, 2*time.Hour - time.Millisecond} {
		clk.Advance(lockedAt.Add(at).Sub(clk.Now()))
		if r := call(t, f, goodHeaders(), idsBody("p1")); *r.Code != 40014 {
			t.Fatalf("%v after the lock: code %d, want 40014", at, *r.Code)
		}
	}
	clk.Advance(time.Millisecond)
	if r := call(t, f, goodHeaders(), idsBody("p1")); *r.Code != 0 {
		t.Fatalf("2h after the lock: code %d, want 0", *r.Code)
	}
	if got := f.Violations(); got != 4 {
		t.Errorf("Violations %d, want 4", got)
	}
}

func TestBudgetCountsOnlyAcceptedCalls(t *testing.T) {
	t.Parallel()
	f := geelarktest.New(geelarktest.Config{RatePerMinute: 1, Now: func() time.Time { return t0 }})
	call(t, f, tokenHeaders("wrong"), idsBody("p1"))
	call(t, f, goodHeaders(), `{"ids":[]}`)
	if r := call(t, f, goodHeaders(), idsBody("p1")); *r.Code != 0 {
		t.Fatalf("first valid call: code %d, want 0: refused calls spent the budget", *r.Code)
	}
	if f.Violations() != 0 {
		t.Errorf("Violations %d, want 0", f.Violations())
	}
}
