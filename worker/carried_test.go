package worker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// A phone asked to start, stop and start again while its first start call
// is out: the stop is replaced before it reaches GeeLark, and the second
// start waits for the call. The call started the phone, so it is the second
// start's too: the phone is started once, ready, and stopped by the second
// start's stop-after; both requests end.
func TestStartStopStartDuringACallStartsThePhoneOnce(t *testing.T) {
	e := newEnv(t, geelarktest.Config{StartLatency: 2 * time.Second})
	ctx := context.Background()
	id := "again0001"
	first := e.enqueue(enqueue.Request{IDs: []string{id}})
	e.startWorker(e.fastConfig())
	// The call is out: GeeLark started the phone, its answer is on its way.
	waitFor(t, 30*time.Second, func() bool { return e.fake.Starts(id) == 1 })
	e.stop(enqueue.StopRequest{IDs: []string{id}})
	second := e.enqueue(enqueue.Request{IDs: []string{id}, StopAfter: time.Second})
	if p := e.phone(id); p.Call == "" {
		t.Fatalf("record %+v: the call was answered before the second start; the test needs a longer StartLatency", p)
	}
	e.waitPhone(id, 30*time.Second, fleet.StateStopped)
	if e.fake.Starts(id) != 1 || e.fake.DoubleStarts() != 0 || e.fake.Stops(id) != 1 {
		t.Fatalf("started %d times (%d of a running phone), stopped %d; want once each",
			e.fake.Starts(id), e.fake.DoubleStarts(), e.fake.Stops(id))
	}
	for _, r := range []string{first.Request, second.Request} {
		o, err := e.enq.Wait(ctx, r, enqueue.WaitOptions{Timeout: 10 * time.Second})
		if err != nil || !o.Ended || len(o.Unfinished) != 0 {
			t.Errorf("request %s: %+v, %v; want it ended", r, o, err)
		}
	}
	var kinds []string
	for _, ev := range events(t, e, id) {
		kinds = append(kinds, ev.Event)
	}
	want := []string{fleet.EventEnqueued, fleet.EventStopEnqueued, fleet.EventEnqueued, fleet.EventReady, fleet.EventStopped}
	if !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}
