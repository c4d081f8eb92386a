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

// TestSIGKILLMidCallLosesNoPhone kills a worker while two of its calls are
// at the API (the phones started there, the worker never heard), and starts
// another 2 s later. Every phone must end started, none twice: the phones
// of the killed worker's calls are marked as sent, so the next worker checks
// them with the status endpoint instead of starting them again.
//
// The killed worker's phones stay active in Redis until asynq recovers them,
// and that takes a minute however soon the next worker starts: a task's
// lease lasts 30s from the dead worker's last heartbeat (rdb.LeaseDuration,
// not configurable), the recoverer takes only leases expired 30s or more
// ago (for clock skew), and it looks at start-up and then once a minute. So
// the second worker recovers them on its second look, about 60s after the
// kill; this case takes about 65s and runs in parallel with the others.
func TestSIGKILLMidCallLosesNoPhone(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	f := newFleet(t, r.URL)
	fake := geelarktest.NewServer(geelarktest.Config{Latency: 1500 * time.Millisecond})
	t.Cleanup(fake.Close)
	ids := phoneIDs("5577901", 1000)
	f.enqueue(ids)

	env := workerEnv(r.URL, fake.URL)
	w1 := startProc(t, "worker 1", env, "worker")
	eventually(t, 60*time.Second, func() bool { return w1.exited() || len(fake.CallsTo(geelark.StartPath)) >= 2 },
		func() string { return "the fake got fewer than two calls; log:\n" + tail(w1.stderr.String(), 30) })
	if w1.exited() {
		t.Fatalf("worker 1 exited %d; log:\n%s", w1.exitCode(), tail(w1.stderr.String(), 30))
	}
	w1.kill()
	killed := time.Now()
	inKilledCalls := calledIDs(fake.CallsTo(geelark.StartPath))
	t.Logf("SIGKILL with %d calls made (%d phones) by worker 1", len(fake.CallsTo(geelark.StartPath)), len(inKilledCalls))

	time.Sleep(2 * time.Second) // the replacement comes up 2 s later
	w2 := startProc(t, "worker 2", env, "worker")
	f.waitSettled(ids, 150*time.Second, func() string { return tail(w2.stderr.String(), 30) })
	t.Logf("all %d phones settled %v after the kill", len(ids), time.Since(killed).Round(time.Second))

	byState, _ := f.assertNoneLost(ids, fake)
	if byState[psfleet.StateReady] != len(ids) {
		t.Errorf("phones by state %v: every phone starts at the fake, so each should be ready", byState)
	}
	assertNoneTwice(t, fake, ids)
	dups, extra := duplicates(fake, ids)
	t.Logf("duplicates: %d of %d phones started twice (%d extra starts); %d phones were in the killed worker's calls",
		len(dups), len(ids), extra, len(inKilledCalls))

	if code, _ := w2.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("worker 2 exited %d after SIGTERM; log:\n%s", code, tail(w2.stderr.String(), 30))
	}
}
