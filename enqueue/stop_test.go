package enqueue_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// A start's stop-after is kept in its record: once the phone is ready, its
// billing guard stops it that long after.
func TestStopAfterIsTheBillingGuardOfTheReadyPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	e.start(enqueue.Request{IDs: []string{"guarded"}, StopAfter: 90 * time.Minute})
	e.start(enqueue.Request{IDs: []string{"plain"}})
	if p := e.phone("guarded"); p.StopAfter != 90*time.Minute {
		t.Fatalf("record keeps stop-after %v, want 1h30m", p.StopAfter)
	}
	token := e.Claim(fleet.ActionStart, "guarded", "plain")
	now := e.store.Now()
	res := e.Settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToReady}, "guarded", "plain")
	if want := now.Add(90 * time.Minute).Truncate(time.Millisecond); res[0].Guard.Before(want) || res[0].Guard.After(want.Add(time.Minute)) {
		t.Errorf("guarded phone ready at %v is stopped at %v, want 1h30m later", now, res[0].Guard)
	}
	if !res[1].Guard.IsZero() {
		t.Errorf("a phone without a stop-after (and no max runtime) is stopped at %v, want never", res[1].Guard)
	}
}

func TestStopRequestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r     enqueue.StopRequest
		field string
	}{
		{enqueue.StopRequest{}, "ids"},
		{enqueue.StopRequest{IDs: []string{"ok", "not ok"}}, "ids[2]"},
		{enqueue.StopRequest{IDs: []string{"ok"}, In: time.Hour, At: time.Now()}, "at"},
		{enqueue.StopRequest{IDs: []string{"ok"}, In: -time.Hour}, "in"},
		{enqueue.StopRequest{IDs: []string{"ok"}, Label: "two words"}, "label"},
		{enqueue.StopRequest{IDs: []string{"ok"}, NotifyURL: "mailto:ops@example.com"}, "notify_url"},
	} {
		var in *enqueue.InputError
		if err := tc.r.Validate(); !errors.As(err, &in) || in.Field != tc.field {
			t.Errorf("%+v: %v, want an InputError on %s", tc.r, err, tc.field)
		}
	}
	var in *enqueue.InputError
	if err := (enqueue.CancelRequest{IDs: []string{"ok", ""}}).Validate(); !errors.As(err, &in) || in.Field != "ids[2]" {
		t.Errorf("cancel of an empty ID: %v, want an InputError on ids[2]", err)
	}
}

// Each phone of a stop request gets one stop task in the stop queue; a
// phone whose stop is still to come is a duplicate that joins the request.
func TestStopWritesOneStopTaskPerPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	rep := e.stop(enqueue.StopRequest{IDs: []string{"s1", "s2", "s1"}, Label: "evening"})
	if rep.Stopped != 2 || !slices.Equal(rep.Duplicates, []string{"s1"}) || rep.CancelledStarts != 0 || !fleet.ValidRequestID(rep.Request) {
		t.Fatalf("report %+v, want 2 stops, s1 given twice", rep)
	}
	for _, id := range []string{"s1", "s2"} {
		p := e.phone(id)
		if p.State != fleet.StateStopping || p.Action != fleet.ActionStop {
			t.Errorf("%s: record %+v, want a stop waiting", id, p)
		}
		ti := e.task(id)
		if ti.Queue != tasks.StopQueue || ti.Type != tasks.TypeStopPhone || ti.State != asynq.TaskStatePending {
			t.Errorf("%s: task %s %s %v, want a pending stop", id, ti.Queue, ti.Type, ti.State)
		}
		if pl, err := tasks.ParseStopPhone(ti.Payload); err != nil || pl.ID != id || pl.Gen != p.Gen {
			t.Errorf("%s: payload %+v, %v", id, pl, err)
		}
	}
	again := e.stop(enqueue.StopRequest{IDs: []string{"s2", "s3"}})
	if again.Stopped != 1 || !slices.Equal(again.Duplicates, []string{"s2"}) {
		t.Fatalf("second stop: %+v, want s3 stopped, s2 a duplicate", again)
	}
	if q := e.queue(tasks.StopQueue); q.Size != 3 {
		t.Fatalf("stop queue holds %d tasks, want 3", q.Size)
	}
	e.Stopped("s2")
	for _, r := range []string{rep.Request, again.Request} {
		if out := e.outcome(r); !slices.Contains(out.Stopped, "s2") {
			t.Errorf("request %s: %+v, want s2 stopped", r, out)
		}
	}
	if out := e.outcome(rep.Request); out.Label != "evening" || out.Ended || !slices.Equal(out.Unfinished, []string{"s1"}) {
		t.Errorf("first stop request: %+v, want it open on s1", out)
	}
}

// A stop At a time is due then: its record to the millisecond, its task at
// the second before, carrying the exact time for the worker to wait out.
func TestStopAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	at := time.Now().Add(time.Hour).Truncate(time.Second).Add(700 * time.Millisecond)
	e.stop(enqueue.StopRequest{IDs: []string{"s1"}, At: at})
	if p := e.phone("s1"); !p.Due.Equal(at) {
		t.Errorf("record due %v, want %v", p.Due, at)
	}
	ti := e.task("s1")
	if ti.State != asynq.TaskStateScheduled || !ti.NextProcessAt.Equal(at.Truncate(time.Second)) {
		t.Errorf("task %v at %v, want scheduled at %v", ti.State, ti.NextProcessAt, at.Truncate(time.Second))
	}
	if pl, err := tasks.ParseStopPhone(ti.Payload); err != nil || !pl.NotBefore.Equal(at) {
		t.Errorf("payload %+v, %v; want not before %v", pl, err, at)
	}
}

// One phone, one intent, the later request wins: a stop cancels a start
// still waiting (its request ends "cancelled" for the phone, its task is
// deleted); a start already at GeeLark is not recalled, and the stop
// follows it: both requests end when the phone stopped.
func TestStopCancelsAWaitingStartAndFollowsOneAtGeeLark(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	start := e.start(enqueue.Request{IDs: []string{"waiting", "calling"}})
	e.Claim(fleet.ActionStart, "calling")
	token := e.phone("calling").Call

	rep := e.stop(enqueue.StopRequest{IDs: []string{"waiting", "calling"}})
	if rep.Stopped != 2 || rep.CancelledStarts != 1 {
		t.Fatalf("report %+v, want 2 stops, 1 start cancelled", rep)
	}
	out := e.outcome(start.Request)
	if !slices.Equal(out.Cancelled, []string{"waiting"}) || !slices.Equal(out.Unfinished, []string{"calling"}) {
		t.Fatalf("start request: %+v, want waiting cancelled, calling unfinished", out)
	}
	if q := e.queue(tasks.Queue); q.Size != 1 {
		t.Fatalf("start queue holds %d tasks, want the cancelled start's deleted", q.Size)
	}
	// GeeLark accepts the start; the stop goes next.
	res := e.Settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, Due: e.store.Now(), Deadline: e.store.Now()}, "calling")
	if res[0].Outcome != fleet.SettledSuperseded {
		t.Fatalf("start settle: %s, want superseded by the stop", res[0].Outcome)
	}
	e.Stopped("waiting", "calling")
	for _, r := range []string{start.Request, rep.Request} {
		out := e.outcome(r)
		if !out.Ended || !slices.Contains(out.Stopped, "calling") {
			t.Errorf("request %s: %+v, want it ended with calling stopped", r, out)
		}
	}
}

// Cancel calls off what waits (starts and stops, now or scheduled), leaves
// a phone in a call, has nothing to call off for a phone that started or
// that phonestart does not know, and deletes the tasks it made stale.
func TestCancelCallsOffOnlyWhatWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, enqueue.Config{})
	rep := e.start(enqueue.Request{IDs: []string{"queued", "sending", "booting"}})
	later := e.start(enqueue.Request{IDs: []string{"later"}, In: time.Hour})
	stop := e.stop(enqueue.StopRequest{IDs: []string{"stopping"}, In: time.Hour})
	e.Claim(fleet.ActionStart, "sending")
	e.Boot("booting")

	got, err := e.enq.Cancel(ctx, enqueue.CancelRequest{IDs: []string{"queued", "later", "sending", "booting", "never", "stopping", "queued"}})
	if err != nil {
		t.Fatal(err)
	}
	want := enqueue.CancelReport{Cancelled: []string{"queued", "later", "stopping"}, NotFound: []string{"booting", "never"},
		Active: []string{"sending"}}
	if !slices.Equal(got.Cancelled, want.Cancelled) || !slices.Equal(got.NotFound, want.NotFound) || !slices.Equal(got.Active, want.Active) {
		t.Fatalf("Cancel = %+v\nwant %+v", got, want)
	}
	for _, id := range want.Cancelled {
		if p := e.phone(id); p.State != fleet.StateCancelled {
			t.Errorf("%s: %s, want cancelled", id, p.State)
		}
	}
	if q := e.queue(tasks.Queue); q.Size != 2 {
		t.Errorf("start queue holds %d tasks, want those of sending and booting alone", q.Size)
	}
	if q := e.queue(tasks.StopQueue); q.Size != 0 {
		t.Errorf("stop queue holds %d tasks, want the cancelled stop's deleted", q.Size)
	}
	if out := e.outcome(rep.Request); !slices.Equal(out.Cancelled, []string{"queued"}) || out.Ended {
		t.Errorf("start request: %+v, want queued cancelled, the rest open", out)
	}
	for _, r := range []string{later.Request, stop.Request} {
		if out := e.outcome(r); !out.Ended || len(out.Cancelled) != 1 {
			t.Errorf("request %s: %+v, want it ended, its phone cancelled", r, out)
		}
	}
	if _, err := e.enq.Cancel(ctx, enqueue.CancelRequest{}); err == nil {
		t.Error("a cancel of no phones was accepted")
	}
}
