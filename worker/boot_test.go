package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// bootConfig checks booting phones every 200ms.
func (e *env) bootConfig(timeout time.Duration) worker.Config {
	c := e.fastConfig()
	c.BootPoll = 200 * time.Millisecond
	c.BootTimeout = timeout
	c.BatchWait = 50 * time.Millisecond
	return c
}

// waitPhone waits until phone id reaches one of states, and returns its
// record.
func (e *env) waitPhone(id string, timeout time.Duration, states ...string) fleet.Phone {
	e.t.Helper()
	var st fleet.Phone
	waitFor(e.t.(*testing.T), timeout, func() bool {
		s, err := e.store.Phones(context.Background(), id)
		if err != nil {
			return false
		}
		st = s[0]
		for _, want := range states {
			if st.State == want {
				return true
			}
		}
		return false
	})
	return st
}

func events(t *testing.T, e *env, id string) []fleet.Event {
	t.Helper()
	all, err := e.store.Events().Read(context.Background(), "0", 100000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []fleet.Event
	for _, ev := range all {
		if ev.Phone == id {
			out = append(out, ev)
		}
	}
	return out
}

// A phone that boots for 3 s is ready only after a status check that
// GeeLark answered 0 (Started), and keeps the url of its start reply.
func TestPhoneIsReadyOnlyWhenStatusSaysStarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "boot000001"
	e.fake.ScriptBoot(id, geelarktest.Boot{Time: 3 * time.Second})
	e.enqueue(enqueue.Request{IDs: []string{id}})
	e.startWorker(e.bootConfig(time.Minute))

	st := e.waitPhone(id, 30*time.Second, fleet.StateReady, fleet.StateDead)
	if st.State != fleet.StateReady || st.URL != geelarktest.PhoneURL(id) {
		t.Fatalf("state %+v, want ready with the start reply's url", st)
	}
	evs := events(t, e, id)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Event)
	}
	if !slices.Equal(kinds, []string{fleet.EventEnqueued, fleet.EventStarted, fleet.EventReady}) {
		t.Fatalf("events %v, want enqueued, started, ready", kinds)
	}
	// By the fake's own clock: the status checks before the boot ended
	// saw it Starting, and the one that made it ready saw it Started, at
	// least the boot time after its start call.
	var startAt, upAt time.Time
	var seen []geelark.PhoneState
	for _, c := range e.fake.Calls() {
		switch {
		case c.Path == geelark.StartPath && slices.Contains(c.IDs, id):
			startAt = c.Time
		case c.Path == geelark.StatusPath:
			if st, ok := c.States[id]; ok {
				seen = append(seen, st)
				if st == geelark.StateStarted && upAt.IsZero() {
					upAt = c.Time
				}
			}
		}
	}
	n := len(seen)
	notStarting := func(s geelark.PhoneState) bool { return s != geelark.StateStarting }
	if n < 2 || seen[n-1] != geelark.StateStarted || slices.ContainsFunc(seen[:n-1], notStarting) {
		t.Fatalf("status checks saw the phone %v: want Starting (at least once: the test waits for a boot), then Started last", seen)
	}
	if upAt.IsZero() || upAt.Sub(startAt) < 3*time.Second {
		t.Fatalf("start call at %v, first status call seeing it Started at %v: ready before the phone booted", startAt, upAt)
	}
	if n := e.fake.Starts(id); n != 1 {
		t.Errorf("started %d times", n)
	}
}

// A phone that never leaves Starting is started again after the boot
// timeout, and is dead with reason boot_timeout when attempts run out.
func TestPhoneStuckStartingIsRetriedThenDead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "boot000002"
	e.fake.ScriptBoot(id, geelarktest.Boot{Never: true})
	e.enqueue(enqueue.Request{IDs: []string{id}})
	cfg := e.bootConfig(time.Second)
	cfg.MaxAttempts = 2
	e.startWorker(cfg)

	st := e.waitPhone(id, 60*time.Second, fleet.StateDead)
	if st.Reason != "boot_timeout" || st.Code != 0 || st.Attempt != 2 {
		t.Fatalf("state %+v, want dead with boot_timeout after 2 attempts", st)
	}
	if n := e.fake.Starts(id); n != 2 {
		t.Errorf("started %d times, want 2 (one per attempt)", n)
	}
	dead, err := e.store.Ledger().Get(context.Background(), id)
	if err != nil || len(dead) != 1 || dead[0].Reason != "boot_timeout" || dead[0].Msg == "" {
		t.Fatalf("ledger %+v %v", dead, err)
	}
	t.Logf("dead: %s", dead[0].Msg)
}

// A phone that falls back to Shut down after its start was accepted is
// started again, and then boots.
func TestPhoneThatFallsBackIsStartedAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "boot000003"
	e.fake.ScriptBoot(id, geelarktest.Boot{Time: 500 * time.Millisecond, FallBack: true, Times: 1})
	e.enqueue(enqueue.Request{IDs: []string{id}})
	e.startWorker(e.bootConfig(time.Minute))

	st := e.waitPhone(id, 60*time.Second, fleet.StateReady, fleet.StateDead)
	if st.State != fleet.StateReady || st.Attempt != 2 {
		t.Fatalf("state %+v, want ready on attempt 2", st)
	}
	if n := e.fake.Starts(id); n != 2 {
		t.Errorf("started %d times, want 2", n)
	}
	var retry bool
	for _, ev := range events(t, e, id) {
		if ev.Event == fleet.EventRetry && ev.Reason == "boot_failed" {
			retry = true
		}
	}
	if !retry {
		t.Error("no retry event with reason boot_failed")
	}
}

// A phone stopped while it booted is shut down on purpose: its boot ends
// with the stop, and it is not started again as a failed boot.
func TestStoppedPhoneIsNotRestartedAsAFailedBoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	id := "boot000009"
	e.fake.ScriptBoot(id, geelarktest.Boot{Time: time.Hour})
	e.enqueue(enqueue.Request{IDs: []string{id}})
	e.startWorker(e.bootConfig(time.Minute))
	e.waitPhone(id, 30*time.Second, fleet.StateBooting)
	if _, err := e.enq.Stop(ctx, enqueue.StopRequest{IDs: []string{id}}); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhone(id, 30*time.Second, fleet.StateStopped)
	time.Sleep(time.Second) // a restart would have been asked for by now (poll 200ms)
	if n := e.fake.Starts(id); n != 1 {
		t.Fatalf("a phone stopped while it booted was started %d times, want 1", n)
	}
	if p := e.phone(id); p.State != fleet.StateStopped {
		t.Fatalf("state %s after the stop, want stopped (was %+v)", p.State, st)
	}
	if n, _ := e.store.Counts(ctx); n.ByState[fleet.StateBooting] != 0 {
		t.Fatalf("%d phones still counted booting", n.ByState[fleet.StateBooting])
	}
}

// bootIDs returns n phone IDs: prefix and a number.
func bootIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return ids
}

// checked returns how many phone IDs the status calls checked in all.
func checked(e *env) (calls, ids int) {
	for _, c := range e.calls(geelark.StatusPath) {
		calls++
		ids += len(c.IDs)
	}
	return calls, ids
}

// A burst on a fresh fleet spends about one status call a poll learning
// how long its phones boot, then checks each phone about once: checking
// every phone each poll would take ten checks a phone here.
func TestBurstLearnsTheBootTime(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("2,000 phones: runs without -short")
	}
	const n, boot = 2000, 2 * time.Second
	e := newEnv(t, geelarktest.Config{Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: boot} }})
	ids := bootIDs("burst", n)
	e.enqueue(enqueue.Request{IDs: ids})
	cfg := e.bootConfig(time.Minute) // poll 200ms: 10 polls a boot
	w := e.startWorker(cfg)
	waitFor(t, 2*time.Minute, func() bool { return w.Stats().Ready >= n })

	calls, seen := checked(e)
	t.Logf("%d phones booting %v, poll %v: %d status calls checked %d IDs, %.1f confirmations a call",
		n, boot, cfg.BootPoll, calls, seen, float64(n)/float64(calls))
	if seen > 2*n {
		t.Errorf("status calls checked %d IDs for %d phones: want at most %d (one check each, and a call's worth a poll to learn)", seen, n, 2*n)
	}
	first, learned, err := e.store.FirstCheck(context.Background(), fleet.Checks{Poll: cfg.BootPoll, Max: time.Minute})
	if err != nil || !learned || first <= cfg.BootPoll {
		t.Errorf("first check %v (learned %v, %v): nothing learned of the boot time %v", first, learned, err, boot)
	}
}

// Phones that never leave Starting, checked again and again until their
// timeout, do not hold back the others: the first check stays near the
// boot time of the phones that come up.
func TestStuckPhonesDoNotHoldBackTheOthers(t *testing.T) {
	t.Parallel()
	const boot = time.Second
	stuck, good := bootIDs("boota", 20), bootIDs("bootb", 180)
	e := newEnv(t, geelarktest.Config{Boot: func(id string) geelarktest.Boot {
		if strings.HasPrefix(id, "boota") {
			return geelarktest.Boot{Never: true}
		}
		return geelarktest.Boot{Time: boot}
	}})
	e.enqueue(enqueue.Request{IDs: append(slices.Clone(stuck), good...)})
	cfg := e.bootConfig(20 * time.Second)
	e.startWorker(cfg)
	waitFor(t, time.Minute, func() bool {
		st, err := e.store.Phones(context.Background(), good...)
		if err != nil {
			return false
		}
		for _, s := range st {
			if s.State != fleet.StateReady {
				return false
			}
		}
		return true
	})
	// The stuck phones go on being checked, Starting every time, until
	// their timeout: let each be seen so at least 10 times.
	stuckSeen := func() int {
		n := 0
		for _, c := range e.calls(geelark.StatusPath) {
			for _, id := range c.IDs {
				if c.States[id] == geelark.StateStarting && strings.HasPrefix(id, "boota") {
					n++
				}
			}
		}
		return n
	}
	waitFor(t, time.Minute, func() bool { return stuckSeen() >= 10*len(stuck) })
	first, learned, err := e.store.FirstCheck(context.Background(), fleet.Checks{Poll: cfg.BootPoll, Max: cfg.BootTimeout / 2})
	if err != nil || !learned || first <= cfg.BootPoll {
		t.Fatalf("first check %v (learned %v, %v): the burst taught nothing", first, learned, err)
	}
	if first > boot+2*cfg.BootPoll {
		t.Fatalf("first check %v (%v): the stuck phones pushed it past the good ones' boot time %v and two polls", first, err, boot)
	}
}
