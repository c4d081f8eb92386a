package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

func (e *env) stop(req enqueue.StopRequest) enqueue.StopReport {
	e.t.Helper()
	rep, err := e.enq.Stop(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// calls returns the fake's calls to path.
func (e *env) calls(path string) []geelarktest.Call {
	var out []geelarktest.Call
	for _, c := range e.fake.Calls() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// 1,000 stops go out in 5 calls of 200, and every phone is stopped once.
func TestStopBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("stop", 1000)
	if rep := e.stop(enqueue.StopRequest{IDs: ids}); rep.Stopped != 1000 {
		t.Fatalf("report %+v, want 1000 stopped", rep)
	}
	cfg := e.fastConfig()
	cfg.BatchWait = 10 * time.Minute // only size cuts a batch, however slow asynq is: 5 full ones, none waits
	w := e.startWorker(cfg)
	waitFor(t, 3*time.Minute, func() bool { return w.Stats().Stopped == 1000 })
	for _, id := range ids {
		if n := e.fake.Stops(id); n != 1 {
			t.Fatalf("phone %s stopped %d times, want 1", id, n)
		}
	}
	calls := e.calls(geelark.StopPath)
	if len(calls) != 5 {
		t.Errorf("%d stop calls, want 5 (1000 / %d)", len(calls), geelark.MaxStopIDs)
	}
	if n := len(e.calls(geelark.StartPath)); n != 0 {
		t.Errorf("%d start calls for stops", n)
	}
	if st := e.waitPhone(ids[0], 5*time.Second, fleet.StateStopped); st.State != fleet.StateStopped {
		t.Errorf("phone state %q, want stopped", st.State)
	}
}

// A phone executing a task (43005) is stopped again with backoff, and
// stops once GeeLark lets it.
func TestStopRetries43005(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	e.fake.ScriptStop("busy000001", geelarktest.Script{Code: 43005, Times: 2})
	e.stop(enqueue.StopRequest{IDs: []string{"busy000001"}})
	cfg := e.fastConfig()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	w := e.startWorker(cfg)
	waitFor(t, 20*time.Second, func() bool { return w.Stats().Stopped == 1 })
	if n := e.fake.Stops("busy000001"); n != 1 {
		t.Errorf("stopped %d times, want 1", n)
	}
	if n := len(e.calls(geelark.StopPath)); n != 3 {
		t.Errorf("%d stop calls, want 3 (two answered 43005, then stopped)", n)
	}
	if d, _ := e.store.Ledger().Get(context.Background(), "busy000001"); len(d) != 0 {
		t.Errorf("phone dead-lettered: %+v", d)
	}
	got := counters(t, reg)
	for k, want := range map[string]float64{
		`phonestart_stop_calls_total{result="answered"}`:         3,
		`phonestart_stops_total{code="43005",outcome="retried"}`: 2,
		`phonestart_stops_total{code="0",outcome="stopped"}`:     1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v (have %v)", k, got[k], want, got)
		}
	}
}

// counters returns reg's counters by name{label="value",...}.
func counters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

// A phone that does not exist (42001) is dead with action stop.
func TestStopDead42001(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	e.fake.Script("gone000001", geelarktest.Script{Code: 42001})
	e.stop(enqueue.StopRequest{IDs: []string{"gone000001"}})
	e.startWorker(e.fastConfig())
	ledger := e.store.Ledger()
	var dead []fleet.DeadPhone
	waitFor(t, 20*time.Second, func() bool {
		dead, _ = ledger.Get(context.Background(), "gone000001")
		return len(dead) == 1
	})
	if d := dead[0]; d.Action != fleet.ActionStop || d.Code != 42001 || d.Reason != fleet.ReasonGeeLark {
		t.Errorf("dead entry %+v, want action stop, code 42001", d)
	}
	if n := len(e.calls(geelark.StopPath)); n != 1 {
		t.Errorf("%d stop calls, want 1: 42001 is not retried", n)
	}
}

// A stop cancels the scheduled start of the same phone: the start never
// reaches the API.
func TestStopCancelsScheduledStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "both000001"
	e.enqueue(enqueue.Request{IDs: []string{id}, In: time.Second})
	start := e.phone(id)
	rep := e.stop(enqueue.StopRequest{IDs: []string{id}})
	if rep.Stopped != 1 || rep.CancelledStarts != 1 {
		t.Fatalf("report %+v, want 1 stopped, 1 cancelled start", rep)
	}
	if _, err := e.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id, start.Gen, start.Task)); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Fatalf("start task still there: %v", err)
	}
	w := e.startWorker(e.fastConfig())
	waitFor(t, 20*time.Second, func() bool { return w.Stats().Stopped == 1 })
	time.Sleep(1500 * time.Millisecond) // past the start's planned time
	if n := len(e.calls(geelark.StartPath)); n != 0 || e.fake.Starts(id) != 0 {
		t.Errorf("%d start calls after the stop, want 0", n)
	}
}

// A start cancels the pending stop of the same phone.
func TestStartCancelsPendingStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "flip000001"
	e.stop(enqueue.StopRequest{IDs: []string{id}, In: time.Hour})
	stop := e.phone(id)
	rep := e.enqueue(enqueue.Request{IDs: []string{id}})
	if rep.Enqueued != 1 || rep.CancelledStops != 1 {
		t.Fatalf("report %+v, want 1 enqueued, 1 cancelled stop", rep)
	}
	if _, err := e.insp.GetTaskInfo(tasks.StopQueue, tasks.TaskID(id, stop.Gen, stop.Task)); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Fatalf("stop task still there: %v", err)
	}
}

// --stop-after 5s stops a phone between 5 s and 5 s + batch wait + a poll
// after it became ready, as the events stream dates them, give or take
// asynq's whole-second schedule and the stop call's time.
func TestStopAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: 300 * time.Millisecond} }})
	id := "bill000001"
	e.enqueue(enqueue.Request{IDs: []string{id}, StopAfter: 5 * time.Second})
	cfg := e.bootConfig(time.Minute)
	e.startWorker(cfg)
	e.waitPhone(id, 30*time.Second, fleet.StateStopped)
	var ready, stopped time.Time
	for _, ev := range events(t, e, id) {
		switch ev.Event {
		case fleet.EventReady:
			ready = ev.At
		case fleet.EventStopped:
			stopped = ev.At
		}
	}
	if ready.IsZero() || stopped.IsZero() {
		t.Fatalf("events ready %v, stopped %v", ready, stopped)
	}
	// The stop task comes due at the whole second before its time (asynq's
	// precision), and the worker waits out the rest: the stop goes out a
	// batch wait and at most a poll after its time. The call to the fake
	// takes milliseconds; a second is allowed for a busy machine.
	d := stopped.Sub(ready)
	lo, hi := 5*time.Second, 5*time.Second+cfg.BatchWait+cfg.PollInterval+time.Second
	if d < lo || d > hi {
		t.Errorf("stopped %v after ready, want %v..%v", d, lo, hi)
	}
	t.Logf("stopped %v after it became ready (batch wait %v, poll %v)", d, cfg.BatchWait, cfg.PollInterval)
	if e.fake.Running(id) {
		t.Error("phone still running at the fake")
	}
}

// PHONESTART_MAX_RUNTIME (Config.MaxRuntime) stops a phone started without
// a stop-after of its own; with boot confirmation off, from its start.
func TestMaxRuntime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "long000001"
	e.enqueue(enqueue.Request{IDs: []string{id}})
	cfg := e.fastConfig()
	cfg.BootTimeout = -1
	cfg.MaxRuntime = time.Second
	w := e.startWorker(cfg)
	waitFor(t, 20*time.Second, func() bool { return w.Stats().Stopped == 1 })
	if e.fake.Starts(id) != 1 || e.fake.Stops(id) != 1 || e.fake.Running(id) {
		t.Errorf("starts %d, stops %d, running %v; want started once and stopped", e.fake.Starts(id), e.fake.Stops(id), e.fake.Running(id))
	}
}
