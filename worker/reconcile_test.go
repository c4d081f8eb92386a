package worker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// A start call whose answer is lost leaves its phones unknown. Each is
// checked with the status endpoint before any second start: the phones the
// lost call did start are settled as started, the ones it did not are
// started again. None is started twice, none is lost.
func TestUnansweredCallsAreCheckedNotRepeated(t *testing.T) {
	t.Parallel()
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
			st := e.waitSettled(ids, 3*time.Minute)
			for _, id := range ids {
				if st[id] != fleet.StateReady {
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
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("chk", 20)
	// The first start call loses its reply; the first three status checks
	// are answered HTTP 500, whichever calls they come after.
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultDrop})
	down := geelarktest.NewServer(geelarktest.Config{})
	t.Cleanup(down.Close)
	down.SetFaults(func(int) geelarktest.Fault { return geelarktest.Fault{Kind: geelarktest.Fault500} })
	downAPI, err := geelark.NewClient(geelark.Config{BaseURL: down.URL, AppID: "test-app", APIKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	status := &failingFirst{n: 3, down: downAPI, up: e.api}
	e.enqueue(enqueue.Request{IDs: ids})
	cfg := e.fastConfig()
	cfg.BatchWait = time.Second
	cfg.MaxAttempts = 2 // the three failed checks must not use attempts
	cfg.Status = status
	e.startWorker(cfg)
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady || e.fake.Starts(id) != 1 {
			t.Errorf("%s: %s, started %d times", id, st[id], e.fake.Starts(id))
		}
	}
	if n := len(down.Calls()); n != 3 {
		t.Errorf("%d status checks failed, want 3", n)
	}
	if n := statusCalls(e.fake); n == 0 {
		t.Error("no status check answered after the failed ones")
	}
}

// failingFirst sends its first n status checks to down, the rest to up.
type failingFirst struct {
	down, up worker.StatusChecker

	mu sync.Mutex
	n  int
}

func (f *failingFirst) StatusPhones(ctx context.Context, ids []string) (*geelark.StatusResult, error) {
	f.mu.Lock()
	to := f.up
	if f.n > 0 {
		f.n--
		to = f.down
	}
	f.mu.Unlock()
	return to.StatusPhones(ctx, ids)
}

// A phone whose start call went out and whose worker died before the
// answer (its record left in the call) is checked before a second start:
// one the lost call started is not started again, and ends ready; one it
// did not start is started.
func TestMarkedPhonesByState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	running, off := "state000001", "state000002"
	e.enqueue(enqueue.Request{IDs: []string{running, off}})
	// A worker claims both for a call, starts running, and dies: nobody
	// hears the answer.
	claims := []fleet.Claim{}
	for _, p := range []fleet.Phone{e.phone(running), e.phone(off)} {
		claims = append(claims, fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task})
	}
	if _, err := e.store.ClaimCall(ctx, fleet.ActionStart, fleet.NewToken(fleet.ActionStart), claims); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.StartPhones(ctx, []string{running}, geelark.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	e.startWorker(e.fastConfig())
	st := e.waitSettled([]string{running, off}, 3*time.Minute)
	for id, want := range map[string]int{running: 1, off: 1} {
		if st[id] != fleet.StateReady || e.fake.Starts(id) != want {
			t.Errorf("%s: %s, started %d times, want %d", id, st[id], e.fake.Starts(id), want)
		}
	}
	for _, id := range []string{running, off} {
		if p := e.phone(id); p.Unanswered || p.Call != "" {
			t.Errorf("%s: record still marks the lost call: %+v", id, p)
		}
	}
	// The phone the lost call started has its started and ready steps.
	var kinds []string
	for _, ev := range events(t, e, running) {
		kinds = append(kinds, ev.Event)
	}
	if !slices.Equal(kinds, []string{fleet.EventEnqueued, fleet.EventStarted, fleet.EventReady}) {
		t.Errorf("events of the phone the lost call started: %v", kinds)
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
