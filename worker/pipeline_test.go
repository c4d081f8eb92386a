package worker_test

import (
	"context"
	"encoding/json"
	"github.com/phonestart/phonestart/internal/fleet"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/tasks"
)

func TestBurstOf1000GoesOutInAtMost6Calls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	cfg := e.fastConfig()
	// Only size cuts a batch here: asynq on an embedded Redis, under the
	// race detector on a loaded machine, has taken 13 s to hand over 200
	// tasks, and any wait short of that would cut batches by time. The
	// 1,000 phones fill 5 batches of 200 (the worker holds 400 at a time),
	// so none waits for the timer. The bench command measures the defaults.
	cfg.BatchWait = 10 * time.Minute
	ids := phoneIDs("burst", 1000)
	if rep := e.enqueue(enqueue.Request{IDs: ids}); rep.Enqueued != 1000 {
		t.Fatalf("enqueued %d", rep.Enqueued)
	}
	e.startWorker(cfg)
	st := e.waitSettled(ids, 5*time.Minute)
	for id, s := range st {
		if s != fleet.StateReady {
			t.Fatalf("phone %s ended %s", id, s)
		}
	}
	calls := e.fake.Calls()
	sizes := make([]int, len(calls))
	for i, c := range calls {
		sizes[i] = len(c.IDs)
	}
	t.Logf("calls: %d, sizes %v", len(calls), sizes)
	if len(calls) > 6 {
		t.Fatalf("1000 phones took %d calls, want at most 6 (sizes %v)", len(calls), sizes)
	}
	for _, id := range ids {
		if n := e.fake.Starts(id); n != 1 {
			t.Fatalf("phone %s started %d times", id, n)
		}
	}
}

func TestTwoOptionSetsNeverShareACall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	wide := phoneIDs("wide", 150)
	plain := phoneIDs("plain", 150)
	zero := 0
	e.enqueue(enqueue.Request{IDs: wide, Options: geelark.StartOptions{Width: 500, Center: &zero}})
	e.enqueue(enqueue.Request{IDs: plain})
	e.startWorker(e.fastConfig())
	e.waitSettled(append(append([]string{}, wide...), plain...), 3*time.Minute)

	isWide := map[string]bool{}
	for _, id := range wide {
		isWide[id] = true
	}
	for _, c := range e.fake.Calls() {
		w := isWide[c.IDs[0]]
		for _, id := range c.IDs {
			if isWide[id] != w {
				t.Fatalf("call %d mixes option sets: %v", c.N, c.IDs)
			}
		}
		if w && (c.Options.Width != 500 || c.Options.Center == nil || *c.Options.Center != 0) {
			t.Fatalf("call %d of wide phones sent options %+v", c.N, c.Options)
		}
		if !w && (c.Options.Width != 0 || c.Options.Center != nil) {
			t.Fatalf("call %d of plain phones sent options %+v", c.N, c.Options)
		}
	}
}

func TestTransientCodesAreRetriedUntilStarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("flaky", 20)
	for i, id := range ids[:10] {
		code := []int{47002, 43020, 43029, 45002, 50000}[i%5]
		e.fake.Script(id, geelarktest.Script{Code: code, Times: 2})
	}
	e.enqueue(enqueue.Request{IDs: ids})
	e.startWorker(e.fastConfig())
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady {
			t.Errorf("phone %s ended %s", id, st[id])
		}
		if n := e.fake.Starts(id); n != 1 {
			t.Errorf("phone %s started %d times", id, n)
		}
	}
	for _, id := range ids[:10] {
		if n := e.fake.Attempts(id); n != 3 {
			t.Errorf("scripted phone %s: %d attempts, want 3", id, n)
		}
	}
	// A started phone's record keeps its url, and no code of the
	// attempts that failed before.
	if p := e.phone(ids[0]); p.URL != geelarktest.PhoneURL(ids[0]) || p.Code != 0 || p.Attempt != 3 {
		t.Fatalf("record %+v, want the url, no code, 3 attempts", p)
	}
}

func TestPermanentCodesAreDeadLetteredWithTheirCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("perm", 4)
	codes := []int{42001, 43004, 47004, 43038}
	for i, id := range ids {
		e.fake.Script(id, geelarktest.Script{Code: codes[i]})
	}
	e.enqueue(enqueue.Request{IDs: ids})
	e.startWorker(e.fastConfig())
	st := e.waitSettled(ids, 3*time.Minute)
	for i, id := range ids {
		if st[id] != fleet.StateDead {
			t.Fatalf("phone %s ended %s", id, st[id])
		}
		if p := e.phone(id); p.Code != codes[i] || p.Reason != fleet.ReasonGeeLark || p.Msg == "" {
			t.Errorf("phone %s record %+v, want code %d", id, p, codes[i])
		}
		if n := e.fake.Attempts(id); n != 1 {
			t.Errorf("permanent phone %s tried %d times", id, n)
		}
	}
}

func TestMaxAttemptsIsRespected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	id := "stubborn0001"
	e.fake.Script(id, geelarktest.Script{Code: 47002}) // forever
	e.enqueue(enqueue.Request{IDs: []string{id}})
	cfg := e.fastConfig()
	cfg.MaxAttempts = 3
	e.startWorker(cfg)
	st := e.waitSettled([]string{id}, 3*time.Minute)
	if st[id] != fleet.StateDead {
		t.Fatalf("ended %s", st[id])
	}
	if n := e.fake.Attempts(id); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	if p := e.phone(id); p.Code != 47002 || p.Attempt != 3 {
		t.Fatalf("record %+v, want dead with 47002 after 3 attempts", p)
	}
}

func TestDuplicateEnqueueIsReportedAndStartsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("dup", 5)
	if rep := e.enqueue(enqueue.Request{IDs: ids}); rep.Enqueued != 5 {
		t.Fatalf("first enqueue: %+v", rep)
	}
	rep := e.enqueue(enqueue.Request{IDs: append([]string{"dupnew"}, ids[:3]...)})
	if rep.Enqueued != 1 || len(rep.Duplicates) != 3 {
		t.Fatalf("second enqueue: enqueued %d duplicates %v", rep.Enqueued, rep.Duplicates)
	}
	all := append([]string{"dupnew"}, ids...)
	e.startWorker(e.fastConfig())
	e.waitSettled(all, 3*time.Minute)
	for _, id := range all {
		if n := e.fake.Starts(id); n != 1 {
			t.Fatalf("phone %s started %d times", id, n)
		}
	}
	// Finished: it may be started again.
	if rep := e.enqueue(enqueue.Request{IDs: ids[:1]}); rep.Enqueued != 1 {
		t.Fatalf("enqueue after finish: %+v", rep)
	}
}

func TestUnknownOutcomeIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("omit", 10)
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultOmit})
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.Fault500})
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultTruncated})
	e.enqueue(enqueue.Request{IDs: ids})
	e.startWorker(e.fastConfig())
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady {
			t.Fatalf("phone %s ended %s", id, st[id])
		}
	}
	if n := len(e.fake.Calls()); n < 4 {
		t.Fatalf("%d calls: the faulty ones were not retried", n)
	}
}

func TestAccountWideCodesDoNotBurnAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("acct", 5)
	// Two refused calls, each pausing the fleet for AccountProbeInterval.
	e.fake.FailNext(2, geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 41001})
	e.enqueue(enqueue.Request{IDs: ids})
	cfg := e.fastConfig()
	cfg.MaxAttempts = 1 // a counted failure would dead-letter at once
	clock := newClock(1)
	cfg.Now = clock.Now
	e.startWorker(cfg)
	// Each refused call sends the phones back to wait; let the pause pass,
	// twice.
	for call := 1; call <= 2; call++ {
		waitFor(t, 20*time.Second, func() bool {
			q, err := e.insp.GetQueueInfo(tasks.Queue)
			c, cerr := e.store.Counts(context.Background())
			return len(e.fake.Calls()) >= call && err == nil && q.Retry == len(ids) && cerr == nil &&
				c.ByState[fleet.StateQueued] == len(ids)
		})
		clock.Advance(2 * time.Minute)
		if _, err := e.insp.RunAllRetryTasks(tasks.Queue); err != nil {
			t.Fatal(err)
		}
	}
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady {
			t.Fatalf("phone %s ended %s", id, st[id])
		}
	}
	for _, id := range ids {
		if p := e.phone(id); p.Attempt != 1 {
			t.Fatalf("phone %s: %d attempts counted, want 1 (the refused calls use none)", id, p.Attempt)
		}
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

var _ = asynq.SkipRetry
