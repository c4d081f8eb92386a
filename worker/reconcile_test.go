package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// A start call whose answer is lost leaves its phones unknown. Each is
// checked with the status endpoint before any second start: the phones the
// lost call did start are settled as started, the ones it did not are
// started again. None is started twice, none is lost.
func TestUnansweredCallsAreCheckedNotRepeated(t *testing.T) {
	for _, kind := range []geelarktest.FaultKind{
		geelarktest.FaultDrop,      // processed, no reply
		geelarktest.FaultTruncated, // processed, unreadable reply
		geelarktest.FaultOmit,      // processed, one started phone missing from the reply
		geelarktest.Fault500,       // not processed
	} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, geelarktest.Config{})
			ids := phoneIDs("lost"+kind.String()[:3], 40)
			e.fake.FailNext(1, geelarktest.Fault{Kind: kind})
			e.enqueue(enqueue.Request{IDs: ids})
			cfg := e.fastConfig()
			cfg.BatchWait = time.Second
			e.startWorker(cfg)
			st := e.waitSettled(ids, time.Minute)
			for _, id := range ids {
				if st[id] != "completed" {
					t.Errorf("%s: %s", id, st[id])
				}
				if n := e.fake.Starts(id); n != 1 {
					t.Errorf("%s started %d times", id, n)
				}
			}
			if kind != geelarktest.Fault500 && statusCalls(e.fake) == 0 {
				t.Error("no status call checked the phones of the lost call")
			}
			if n := e.fake.DoubleStarts(); n != 0 {
				t.Errorf("%d starts of running phones", n)
			}
		})
	}
}

// While the status check itself fails, the phones wait and are checked
// again: never started blindly, never given up, no attempt used.
func TestFailingStatusCheckWaitsAndRetries(t *testing.T) {
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("chk", 20)
	// Call 1 (start) loses its reply; calls 2..4 (status checks) fail.
	e.fake.SetFaults(func(call int) geelarktest.Fault {
		switch {
		case call == 1:
			return geelarktest.Fault{Kind: geelarktest.FaultDrop}
		case call <= 4:
			return geelarktest.Fault{Kind: geelarktest.Fault500}
		}
		return geelarktest.Fault{}
	})
	e.enqueue(enqueue.Request{IDs: ids})
	cfg := e.fastConfig()
	cfg.BatchWait = time.Second
	cfg.MaxAttempts = 2 // the three failed checks must not use attempts
	e.startWorker(cfg)
	st := e.waitSettled(ids, time.Minute)
	for _, id := range ids {
		if st[id] != "completed" || e.fake.Starts(id) != 1 {
			t.Errorf("%s: %s, started %d times", id, st[id], e.fake.Starts(id))
		}
	}
	if n := statusCalls(e.fake); n < 4 {
		t.Errorf("%d status calls, want the 3 failed ones and one that answered", n)
	}
}

// A phone marked as sent whose check says it is shut down is started
// again; one already running is not.
func TestMarkedPhonesByState(t *testing.T) {
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	running, off := "state000001", "state000002"
	// running was started by a call whose answer nobody heard.
	if _, err := e.api.StartPhones(ctx, []string{running}, geelark.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fleet.NewSent(e.rdb).Mark(ctx, "lost", []string{running, off}); err != nil {
		t.Fatal(err)
	}
	e.enqueue(enqueue.Request{IDs: []string{running, off}})
	e.startWorker(e.fastConfig())
	st := e.waitSettled([]string{running, off}, 30*time.Second)
	for id, want := range map[string]int{running: 1, off: 1} {
		if st[id] != "completed" || e.fake.Starts(id) != want {
			t.Errorf("%s: %s, started %d times, want %d", id, st[id], e.fake.Starts(id), want)
		}
	}
	marked, err := fleet.NewSent(e.rdb).Marked(ctx, []string{running, off})
	if err != nil || marked[0] || marked[1] {
		t.Fatalf("marks left after the phones settled: %v %v", marked, err)
	}
}

func statusCalls(fake *geelarktest.Server) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.Path == geelark.StatusPath {
			n++
		}
	}
	return n
}
