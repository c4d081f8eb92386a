package worker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// Where one part of the fleet hands a phone to another: a pause and its
// lift, a lost answer and the boot check, a boot check and its claim, a
// request and its Wait, a phone's two actions and the ledger.

// kinds lists the events of phone id, oldest first.
func kinds(t *testing.T, e *env, id string) []string {
	t.Helper()
	var out []string
	for _, ev := range events(t, e, id) {
		out = append(out, ev.Event)
	}
	return out
}

// beforeMinuteEnd is a clock at the wall clock's pace that reads lead
// before the end of a minute now: a 40007 pause set at once (until the
// next minute) ends by itself lead later. It is never behind the wall
// clock, so the pause's key does not expire early in Redis.
func beforeMinuteEnd(lead time.Duration) *clock {
	c := newClock(1)
	now := c.Now()
	off := now.Truncate(time.Minute).Add(time.Minute).Sub(now) - lead
	if off < 0 {
		off += time.Minute
	}
	c.Advance(off)
	return c
}

// Phones sent back for a 40007 pause start once when it ends by itself; a
// `pause lift` after that finds no pause and makes no start call: none of
// those phones is started again.
func TestLiftAfterAPauseThatEndedStartsNothing(t *testing.T) {
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	clk := beforeMinuteEnd(3 * time.Second)
	cfg := e.fastConfig()
	cfg.Now = clk.Now
	e.startWorker(cfg)
	ids := phoneIDs("ended", 20)
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: geelark.CodeTooManyRequests})
	e.enqueue(enqueue.Request{IDs: ids})
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady || e.fake.Starts(id) != 1 {
			t.Fatalf("%s: %s, started %d times; want ready once", id, st[id], e.fake.Starts(id))
		}
	}
	before := startCalls(e.fake)
	if len(before) < 2 || before[0].Code != geelark.CodeTooManyRequests {
		t.Fatalf("start calls %+v: want a 40007 and the calls after the pause", before)
	}
	pauses := e.store.Pauses(clk.Now)
	if p, on, err := pauses.Fresh(ctx); err != nil || on {
		t.Fatalf("pause %+v in force (%v) after the phones started", p, err)
	}

	res, _, err := pauses.Lift(ctx, "", "ops@test")
	if err != nil || res.Lifted.ID != "" || res.Ran != 0 {
		t.Fatalf("lift: %+v, %v; want no pause lifted and no phone run", res, err)
	}
	// A phone enqueued after the lift goes out behind any task the lift
	// sent back to the queue: once it is ready, those would have been sent.
	marker := "endedmark1"
	e.enqueue(enqueue.Request{IDs: []string{marker}})
	e.waitSettled([]string{marker}, 3*time.Minute)
	after := startCalls(e.fake)[len(before):]
	if len(after) != 1 || !slices.Equal(after[0].IDs, []string{marker}) {
		for _, c := range after {
			t.Errorf("start call after the lift: %v", c.IDs)
		}
		t.Fatalf("%d start calls after the lift, want the marker's alone", len(after))
	}
	for _, id := range ids {
		if n := e.fake.Starts(id); n != 1 {
			t.Errorf("%s started %d times", id, n)
		}
	}
	if n := e.fake.DoubleStarts(); n != 0 {
		t.Errorf("%d starts of running phones", n)
	}
}

// The phones of a start call that GeeLark processed but whose reply was
// lost (dropped, or cut short) go the way of any started phone: the check
// finds them booting, a boot check finds them up, and their stop-after
// stops them. Each step is in the events stream once, and each phone was
// started and stopped once.
func TestLostAnswerPhonesBootThenStopAfter(t *testing.T) {
	for _, kind := range []geelarktest.FaultKind{geelarktest.FaultDrop, geelarktest.FaultTruncated} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, geelarktest.Config{Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: time.Second} }})
			ids := phoneIDs("lostboot"+kind.String()[:3], 10)
			e.fake.FailNext(1, geelarktest.Fault{Kind: kind})
			e.enqueue(enqueue.Request{IDs: ids, StopAfter: time.Second})
			cfg := e.bootConfig(time.Minute)
			// Only size cuts the batch: all 10 in the first call, however
			// slowly asynq hands them over.
			cfg.BatchSize, cfg.BatchWait = len(ids), 10*time.Minute
			e.startWorker(cfg)
			for _, id := range ids {
				e.waitPhone(id, 3*time.Minute, fleet.StateStopped, fleet.StateDead)
			}
			// The lost answer is a retry (unanswered) before the check.
			want := []string{fleet.EventEnqueued, fleet.EventRetry, fleet.EventStarted, fleet.EventReady, fleet.EventStopped}
			for _, id := range ids {
				if got := kinds(t, e, id); !slices.Equal(got, want) {
					t.Errorf("%s: events %v, want %v", id, got, want)
				}
				if s, p := e.fake.Starts(id), e.fake.Stops(id); s != 1 || p != 1 {
					t.Errorf("%s: started %d and stopped %d times, want once each", id, s, p)
				}
			}
			first := startCalls(e.fake)[0]
			if first.Fault != kind || len(first.Started) != len(ids) {
				t.Fatalf("first start call: fault %s, %d started; want %s with every phone started", first.Fault, len(first.Started), kind)
			}
		})
	}
}

// A status check that answers a transient code for a booting phone
// (50000, 40010) says nothing about its boot: the phone is checked again,
// not started again, and is ready after its one start.
func TestTransientStatusCodeDoesNotRestartABootingPhone(t *testing.T) {
	for _, code := range []int{50000, 40010} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, geelarktest.Config{})
			id := fmt.Sprintf("busy%d", code)
			e.fake.ScriptBoot(id, geelarktest.Boot{Time: 2 * time.Second})
			e.fake.ScriptStatus(id, geelarktest.Script{Code: code, Times: 2})
			e.enqueue(enqueue.Request{IDs: []string{id}})
			e.startWorker(e.bootConfig(time.Minute))
			p := e.waitPhone(id, time.Minute, fleet.StateReady, fleet.StateDead)
			answered := 0
			for _, c := range e.calls(geelark.StatusPath) {
				if c.Failed[id] == code {
					answered++
				}
			}
			if answered != 2 {
				t.Fatalf("%d status calls answered %d for the phone, want 2", answered, code)
			}
			if p.State != fleet.StateReady || e.fake.Starts(id) != 1 || e.fake.DoubleStarts() != 0 {
				t.Fatalf("phone %s after a status code %d, started %d times (%d of a running phone); want ready, started once",
					p.State, code, e.fake.Starts(id), e.fake.DoubleStarts())
			}
			if got, want := kinds(t, e, id), []string{fleet.EventEnqueued, fleet.EventStarted, fleet.EventReady}; !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
		})
	}
}

// Wait ends when a request's phones have ended, however they ended: a
// start called off ends "cancelled"; a start whose phone a stop reached
// while it booted ends "stopped", as does the stop.
func TestWaitEndsOnCancelAndOnStop(t *testing.T) {
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	wait := func(request string) enqueue.Outcome {
		t.Helper()
		o, err := e.enq.Wait(ctx, request, enqueue.WaitOptions{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	called := "waitcancel"
	later := e.enqueue(enqueue.Request{IDs: []string{called}, In: time.Hour})
	if rep, err := e.enq.Cancel(ctx, enqueue.CancelRequest{IDs: []string{called}}); err != nil || len(rep.Cancelled) != 1 {
		t.Fatalf("cancel: %+v, %v", rep, err)
	}
	if o := wait(later.Request); !o.Ended || !slices.Equal(o.Cancelled, []string{called}) || len(o.Unfinished) != 0 {
		t.Fatalf("Wait on the cancelled start: %+v, want it ended, cancelled", o)
	}

	stopped := "waitstop"
	e.fake.ScriptBoot(stopped, geelarktest.Boot{Never: true})
	e.startWorker(e.bootConfig(time.Minute))
	start := e.enqueue(enqueue.Request{IDs: []string{stopped}})
	e.waitPhone(stopped, 30*time.Second, fleet.StateBooting)
	stop := e.stop(enqueue.StopRequest{IDs: []string{stopped}})
	for what, request := range map[string]string{"start": start.Request, "stop": stop.Request} {
		if o := wait(request); !o.Ended || !slices.Equal(o.Stopped, []string{stopped}) || len(o.Unfinished) != 0 {
			t.Errorf("Wait on the %s: %+v, want it ended, stopped", what, o)
		}
	}
	if e.fake.Running(stopped) {
		t.Error("the phone still runs at GeeLark")
	}
}

// A phone GeeLark does not know (42001) whose start is dead, and whose
// stop asked for later is dead too, is listed twice in the dead-letter
// ledger: once for its start, once for its stop.
func TestDeadStartAndDeadStopAreBothListed(t *testing.T) {
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	id := "nosuchphone"
	e.fake.Script(id, geelarktest.Script{Code: 42001})
	e.enqueue(enqueue.Request{IDs: []string{id}})
	e.startWorker(e.fastConfig())
	e.waitPhone(id, 30*time.Second, fleet.StateDead)
	e.stop(enqueue.StopRequest{IDs: []string{id}})
	waitFor(t, 30*time.Second, func() bool {
		p := e.phone(id)
		return p.State == fleet.StateDead && p.Action == fleet.ActionStop
	})
	got, err := e.store.Ledger().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, d := range got {
		if d.Code != 42001 {
			t.Errorf("entry %+v, want code 42001", d)
		}
		acts = append(acts, d.Action)
	}
	if !slices.Equal(acts, []string{fleet.ActionStart, fleet.ActionStop}) {
		t.Fatalf("ledger entries of the phone: %v, want its start and its stop", acts)
	}
	if n, err := e.store.Ledger().Count(ctx); err != nil || n != 2 {
		t.Errorf("ledger count %d (%v), want 2", n, err)
	}
}

// When GeeLark refuses every worker (40003: the key is wrong), the fleet
// pauses and each worker waits for its probe a minute later. Once a person
// fixes the key and lifts the pause, the refused workers call at once: the
// next start call comes before either worker's probe time, by the clock
// the workers and GeeLark share.
func TestLiftEndsTheRefusalOfEveryWorker(t *testing.T) {
	clk := newClock(2)
	e := newEnv(t, geelarktest.Config{Now: clk.Now})
	ctx := context.Background()
	e.fake.SetFaults(func(int) geelarktest.Fault {
		return geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40003}
	})
	ids := phoneIDs("refused", 20)
	e.enqueue(enqueue.Request{IDs: ids})
	for range 2 {
		cfg := e.fastConfig()
		cfg.Now, cfg.Redis = clk.Now, e.r.Client(t)
		e.startWorker(cfg)
	}
	pauses := e.store.Pauses(clk.Now)
	var p fleet.Pause
	waitFor(t, 30*time.Second, func() bool {
		var on bool
		p, on, _ = pauses.Fresh(ctx)
		return on
	})
	if p.Code != 40003 {
		t.Fatalf("fleet pause %+v, want 40003", p)
	}
	refused := e.calls(geelark.StartPath)
	probe := refused[0].Time.Add(worker.AccountProbeInterval) // the first refused worker's
	if !clk.Now().Before(probe) {
		t.Fatalf("the workers took until %v to be refused: past the first probe at %v", clk.Now(), probe)
	}

	e.fake.SetFaults(nil) // a person fixed the key
	n := len(e.fake.Calls())
	if _, _, err := pauses.Lift(ctx, p.ID, "ops@test"); err != nil {
		t.Fatal(err)
	}
	var next geelarktest.Call
	for next.N == 0 {
		for _, c := range e.fake.Calls()[n:] {
			if c.Path == geelark.StartPath {
				next = c
				break
			}
		}
		if next.N == 0 && !clk.Now().Before(probe) {
			t.Fatalf("no start call between the lift and the refused workers' probe at %v", probe)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if next.Code != 0 || !next.Time.Before(probe) {
		t.Fatalf("the next start call: code %d at %v; want one accepted before the probe at %v", next.Code, next.Time, probe)
	}
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady || e.fake.Starts(id) != 1 {
			t.Errorf("%s: %s, started %d times", id, st[id], e.fake.Starts(id))
		}
	}
}
