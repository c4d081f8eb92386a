//go:build reliability

package reliability

import (
	psfleet "github.com/phonestart/phonestart/internal/fleet"
	"syscall"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/redistest"
)

// sigtermMidCall enqueues n phones, starts a worker with the shutdown
// timeout given, sends it SIGTERM while the fake holds its first calls for
// latency, and returns how long it took to exit 0. When the calls take less
// than the timeout, their phones must be started by the time it exits. A
// second worker then starts what is left, and every phone must end started.
func sigtermMidCall(t *testing.T, n int, latency, shutdownTimeout time.Duration) time.Duration {
	t.Helper()
	r := redistest.New(t)
	f := newFleet(t, r.URL)
	fake := geelarktest.NewServer(geelarktest.Config{StartLatency: latency})
	t.Cleanup(fake.Close)
	ids := phoneIDs("5577905", n)
	f.enqueue(ids)

	// The call timeout must be shorter than the shutdown timeout (a worker
	// refuses anything else): a call that outlasts it ends unanswered.
	env := workerEnv(r.URL, fake.URL, "PHONESTART_SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
		"GEELARK_CALL_TIMEOUT="+(shutdownTimeout*3/4).String())
	w1 := startProc(t, "worker 1", env, "worker")
	eventually(t, 60*time.Second, func() bool { return w1.exited() || len(fake.CallsTo(geelark.StartPath)) > 0 },
		func() string { return "the fake got no call; log:\n" + tail(w1.stderr.String(), 30) })
	code, took := w1.stop(syscall.SIGTERM, shutdownTimeout+latency+30*time.Second)
	inCalls := calledIDs(fake.CallsTo(geelark.StartPath))
	t.Logf("worker 1 exited %d %v after SIGTERM (shutdown timeout %v, calls take %v); %d phones were in its calls",
		code, took.Round(time.Millisecond), shutdownTimeout, latency, len(inCalls))
	if code != 0 {
		t.Errorf("worker 1 exited %d after SIGTERM, want 0; log:\n%s", code, tail(w1.stderr.String(), 30))
	}
	q, err := f.counts()
	if err != nil {
		t.Fatal(err)
	}
	// A stopped worker leaves nothing active: it settled or handed back
	// every phone it held.
	if q.Active != 0 {
		t.Errorf("%d phones still active after worker 1 exited; log:\n%s", q.Active, tail(w1.stderr.String(), 30))
	}
	t.Logf("after worker 1: %d queued, %d retry, %d booting, %d started", q.Pending, q.Retry, q.Booting, q.Completed)
	if latency < shutdownTimeout {
		state, _ := f.states(ids)
		for id := range inCalls {
			// Settled by its call: booting (GeeLark accepted it), not
			// sent back to be started again.
			if s := state[id]; s != psfleet.StateBooting && s != psfleet.StateReady {
				t.Errorf("phone %s was in a call the worker had time to finish, but is %s", id, s)
			}
		}
	}

	w2 := startProc(t, "worker 2", workerEnv(r.URL, fake.URL), "worker")
	f.waitSettled(ids, 90*time.Second, func() string { return tail(w2.stderr.String(), 30) })
	byState, _ := f.assertNoneLost(ids, fake)
	if byState[psfleet.StateReady] != len(ids) {
		t.Errorf("phones by state %v: every phone starts at the fake, so each should be ready", byState)
	}
	assertNoneTwice(t, fake, ids)
	dups, extra := duplicates(fake, ids)
	t.Logf("duplicates: %d of %d phones started twice (%d extra starts)", len(dups), len(ids), extra)
	if code, _ := w2.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("worker 2 exited %d after SIGTERM; log:\n%s", code, tail(w2.stderr.String(), 30))
	}
	return took
}

// TestSIGTERMWithCallsInFlightLosesNoPhone stops a worker whose calls take
// less than its shutdown timeout: it lets them finish, so their phones are
// started once, and exits 0 within the timeout.
func TestSIGTERMWithCallsInFlightLosesNoPhone(t *testing.T) {
	t.Parallel()
	const latency, timeout = 2 * time.Second, 10 * time.Second
	took := sigtermMidCall(t, 600, latency, timeout)
	// A margin for a slow machine: process start-up and asynq's own stop.
	if took > timeout+3*time.Second {
		t.Errorf("worker took %v to exit after SIGTERM, shutdown timeout %v", took.Round(time.Millisecond), timeout)
	}
}

// TestSIGTERMExitsWithinShutdownTimeoutWhenACallOutlastsIt stops a worker
// whose call takes longer than PHONESTART_SHUTDOWN_TIMEOUT. The README
// promises that a stopping worker lets calls in flight finish "up to
// PHONESTART_SHUTDOWN_TIMEOUT" and exits 0: so it must exit about when the
// timeout ends, and the phones of the unfinished call, whose outcome is
// unknown, must be checked and settled rather than lost or started twice.
func TestSIGTERMExitsWithinShutdownTimeoutWhenACallOutlastsIt(t *testing.T) {
	t.Parallel()
	const latency, timeout = 8 * time.Second, 2 * time.Second
	took := sigtermMidCall(t, 300, latency, timeout)
	if took > timeout+3*time.Second {
		t.Errorf("worker took %v to exit after SIGTERM, shutdown timeout %v: it waited for the %v call instead",
			took.Round(time.Millisecond), timeout, latency)
	}
}
