package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/schedule"
	"github.com/phonestart/phonestart/tasks"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// The tick of the Run tests: 07:30 UTC.
var tick = time.Date(2026, 11, 25, 7, 30, 0, 0, time.UTC)

// scriptedLister answers a selection with its phones, failing the first
// failFirst calls, and records the (fake) time of each call.
type scriptedLister struct {
	mu        sync.Mutex
	clock     *simClock
	phones    []geelark.Phone
	failFirst int // -1: every call fails
	calls     []time.Time
}

func newLister(n, failFirst int) *scriptedLister {
	l := &scriptedLister{failFirst: failFirst}
	for _, id := range ids("shop", n) {
		l.phones = append(l.phones, geelark.Phone{ID: id, GroupName: "Shop"})
	}
	return l
}

func (l *scriptedLister) use(c *simClock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock = c
}

func (l *scriptedLister) ListAll(ctx context.Context, f geelark.ListFilter, wait func(context.Context) error) ([]geelark.Phone, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, l.clock.Now())
	if l.failFirst < 0 || len(l.calls) <= l.failFirst {
		return nil, fmt.Errorf("geelark: list page 1: %w", &geelark.APIError{Code: 50000, Msg: "internal error"})
	}
	return l.phones, nil
}

func (l *scriptedLister) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.calls...)
}

// shopFile is a daily 07:30 UTC selection of group Shop, with extra lines
// (such as a catch_up) added to the schedule.
func shopFile(t *testing.T, extra string) *schedule.File {
	t.Helper()
	return parse(t, "schedules:\n  - name: shop\n    cron: \"30 7 * * *\"\n    select: {group_name: Shop}\n"+extra)
}

// observe returns a logger whose entries the test reads, also written to
// the test's log.
func observe(t *testing.T) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	return zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core())), logs
}

// newRunner returns a scheduler with its own Redis connection, on clock c.
func newRunner(t *testing.T, r *redistest.Redis, c *simClock, l schedule.Lister, log *zap.Logger) *schedule.Runner {
	t.Helper()
	rdb := r.Client(t)
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Lister: l, Logger: log,
		Now: c.Now, Sleep: c.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// runAll runs the schedulers on f until c stops them.
func runAll(t *testing.T, ctx context.Context, c *simClock, f *schedule.File, runners ...*schedule.Runner) {
	t.Helper()
	var wg sync.WaitGroup
	for _, run := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.leave()
			if err := run.Run(ctx, f); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	wg.Wait()
}

// queued returns how many start tasks wait in the queue.
func queued(t *testing.T, r *redistest.Redis) int {
	t.Helper()
	q, err := asynq.NewInspectorFromRedisClient(r.Client(t)).GetQueueInfo(tasks.Queue)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return 0
		}
		t.Fatal(err)
	}
	return q.Size
}

// fires returns the "schedule fired" lines: one per tick fired.
func fires(logs *observer.ObservedLogs) []observer.LoggedEntry {
	return logs.FilterMessage("schedule fired").All()
}

func TestRunRetriesATickWhoseListCallsFail(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	clk, ctx := newSimClock(tick.Add(-time.Hour), tick.Add(2*time.Hour), 1)
	l := newLister(250, 3)
	l.use(clk)
	log, logs := observe(t)
	runAll(t, ctx, clk, shopFile(t, ""), newRunner(t, r, clk, l, log))

	calls := l.times()
	if len(calls) != 4 {
		t.Fatalf("%d list calls at %v, want 3 failed and 1 good", len(calls), calls)
	}
	if !calls[0].Equal(tick) {
		t.Errorf("first list call at %v, want the tick %v", calls[0], tick)
	}
	if late := calls[3].Sub(tick); late > 30*time.Second {
		t.Errorf("phones selected and enqueued %v after the tick, want within 30s", late)
	}
	// Each failed attempt is logged with the time of the next one, and the
	// next one happens then.
	retries := logs.FilterMessage("schedule tick failed; retrying").All()
	if len(retries) != 3 {
		t.Fatalf("%d failed attempts logged, want 3", len(retries))
	}
	for i, e := range retries {
		at, _ := e.ContextMap()["retry_at"].(time.Time)
		if !at.Equal(calls[i+1]) {
			t.Errorf("attempt %d logged its retry at %v; it happened at %v", i+1, at, calls[i+1])
		}
	}
	if n := queued(t, r); n != 250 {
		t.Fatalf("%d phones enqueued, want 250", n)
	}
	if f := fires(logs); len(f) != 1 {
		t.Fatalf("fired %d times", len(f))
	}
}

func TestTwoRunningSchedulersEnqueueEachPhoneOnce(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	clk, ctx := newSimClock(tick.Add(-time.Minute), tick.Add(time.Hour), 2)
	l := newLister(300, 1) // the first attempt fails: someone retries
	l.use(clk)
	log, logs := observe(t)
	runAll(t, ctx, clk, shopFile(t, ""), newRunner(t, r, clk, l, log), newRunner(t, r, clk, l, log))

	f := fires(logs)
	if len(f) != 1 {
		t.Fatalf("fired %d times, want once", len(f))
	}
	if m := f[0].ContextMap(); m["enqueued"] != int64(300) || m["duplicates"] != int64(0) {
		t.Fatalf("fired: %v, want 300 enqueued and no duplicates", m)
	}
	if calls := l.times(); len(calls) != 2 {
		t.Fatalf("%d selections, want 1 failed and 1 good", len(calls))
	}
	if n := queued(t, r); n != 300 {
		t.Fatalf("%d phones enqueued, want 300", n)
	}
}

func TestATickMissedWhileNoSchedulerRanFiresOnceWhenOneStarts(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	l := newLister(200, 0)
	log, logs := observe(t)
	f := shopFile(t, "")
	// No scheduler at 07:30; one runs from 07:40 to 07:45, another from
	// 07:50 on.
	clk, ctx := newSimClock(tick.Add(10*time.Minute), tick.Add(15*time.Minute), 1)
	l.use(clk)
	runAll(t, ctx, clk, f, newRunner(t, r, clk, l, log))
	clk, ctx = newSimClock(tick.Add(20*time.Minute), tick.Add(3*time.Hour), 1)
	l.use(clk)
	runAll(t, ctx, clk, f, newRunner(t, r, clk, l, log))

	calls := l.times()
	if len(calls) != 1 || !calls[0].Equal(tick.Add(10*time.Minute)) {
		t.Fatalf("selections at %v, want one, at 07:40 when the first scheduler started", calls)
	}
	if n := len(fires(logs)); n != 1 {
		t.Fatalf("fired %d times", n)
	}
	if n := queued(t, r); n != 200 {
		t.Fatalf("%d phones enqueued, want 200", n)
	}
}

func TestATickPastItsCatchUpWindowIsNotFired(t *testing.T) {
	t.Parallel()
	t.Run("missed while no scheduler ran", func(t *testing.T) {
		t.Parallel()
		r := redistest.New(t)
		l := newLister(10, 0)
		log, logs := observe(t)
		clk, ctx := newSimClock(tick.Add(31*time.Minute), tick.Add(2*time.Hour), 1)
		l.use(clk)
		runAll(t, ctx, clk, shopFile(t, "    catch_up: 30m\n"), newRunner(t, r, clk, l, log))
		if calls := l.times(); len(calls) != 0 {
			t.Fatalf("selected at %v, after the catch-up window", calls)
		}
		missedOnce(t, logs)
		if n := queued(t, r); n != 0 {
			t.Fatalf("%d phones enqueued", n)
		}
	})
	t.Run("failing until the window passes", func(t *testing.T) {
		t.Parallel()
		r := redistest.New(t)
		l := newLister(10, -1)
		log, logs := observe(t)
		clk, ctx := newSimClock(tick.Add(-time.Minute), tick.Add(2*time.Hour), 1)
		l.use(clk)
		runAll(t, ctx, clk, shopFile(t, "    catch_up: 5m\n"), newRunner(t, r, clk, l, log))
		calls := l.times()
		if len(calls) < 5 {
			t.Fatalf("%d attempts in the 5 minutes, want retries", len(calls))
		}
		if last := calls[len(calls)-1]; !last.Before(tick.Add(5 * time.Minute)) {
			t.Fatalf("attempt at %v, after the window closed", last)
		}
		var given []observer.LoggedEntry
		for _, e := range logs.All() {
			at, _ := e.ContextMap()["tick"].(time.Time)
			if strings.HasPrefix(e.Message, "schedule tick not fired") && e.Level == zapcore.ErrorLevel && at.Equal(tick) {
				given = append(given, e)
			}
		}
		if len(given) != 1 {
			t.Fatalf("tick given up logged %d times, want once", len(given))
		}
	})
}

func TestATickHeldByADeadSchedulerIsTakenOverWhenItsLeaseEnds(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	f := shopFile(t, "")
	s, _ := f.Find("shop")
	// A scheduler claimed the tick, then was killed before enqueueing.
	leaseEnd := tick.Add(20 * time.Second)
	dead := fmt.Sprintf("claim %d dead-host:4242:1", leaseEnd.UnixMilli())
	l := newLister(120, 0)
	log, logs := observe(t)
	clk, ctx := newSimClock(tick.Add(-time.Minute), tick.Add(time.Hour), 1)
	l.use(clk)
	run := newRunner(t, r, clk, l, log)
	if err := r.Client(t).Set(context.Background(), run.GuardKey(s, tick), dead, 0).Err(); err != nil {
		t.Fatal(err)
	}
	runAll(t, ctx, clk, f, run)

	calls := l.times()
	if len(calls) != 1 || !calls[0].Equal(leaseEnd) {
		t.Fatalf("selections at %v, want one when the dead scheduler's lease ended (%v)", calls, leaseEnd)
	}
	if n := len(logs.FilterMessage("schedule tick taken over from a scheduler whose lease ran out").All()); n != 1 {
		t.Errorf("takeover logged %d times", n)
	}
	if n := queued(t, r); n != 120 {
		t.Fatalf("%d phones enqueued, want 120", n)
	}
}

func TestRunRefusesWhatNoRetryCanFix(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	clk, ctx := newSimClock(tick, tick.Add(time.Hour), 1)
	run := newRunner(t, r, clk, nil, zaptest.NewLogger(t)) // no Lister
	err := run.Run(ctx, shopFile(t, ""))
	if err == nil || !strings.Contains(err.Error(), `schedule "shop"`) || !strings.Contains(err.Error(), "no API client") {
		t.Fatalf("Run without a Lister: %v", err)
	}
	bad := &schedule.File{Schedules: []*schedule.Schedule{{Name: "hand-built", Cron: "every morning", IDs: []string{"1"}}}}
	if err := run.Run(ctx, bad); err == nil || !strings.Contains(err.Error(), "bad cron spec") {
		t.Fatalf("Run with a bad cron spec: %v", err)
	}
	if err := run.Run(ctx, &schedule.File{}); err == nil {
		t.Fatal("Run with no schedules: no error")
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("clock stopped")
	}
}

func TestRunRetriesATickWhenRedisFails(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	if r.Real {
		t.Skip("needs the embedded Redis, to make it fail")
	}
	clk, ctx := newSimClock(tick.Add(-time.Minute), tick.Add(time.Hour), 1)
	l := newLister(50, 0)
	l.use(clk)
	log, logs := observe(t)
	// Redis fails from the tick until the scheduler first sleeps after it.
	failing := false
	sleep := func(ctx context.Context, d time.Duration) error {
		if failing {
			r.Mini.SetError("")
			failing = false
		} else if d == tick.Sub(clk.Now()) {
			r.Mini.SetError("LOADING Redis is loading the dataset in memory")
			failing = true
		}
		return clk.Sleep(ctx, d)
	}
	rdb := r.Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, _ := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Lister: l, Logger: log, Now: clk.Now, Sleep: sleep})
	runAll(t, ctx, clk, shopFile(t, ""), run)

	retries := logs.FilterMessage("schedule tick failed; retrying").All()
	if len(retries) != 1 || !strings.Contains(retries[0].ContextMap()["error"].(string), "LOADING") {
		t.Fatalf("failed attempts logged: %v, want one with Redis's error", retries)
	}
	if calls := l.times(); len(calls) != 1 || calls[0].Sub(tick) > 30*time.Second {
		t.Fatalf("selections at %v, want one soon after the tick", calls)
	}
	if n := queued(t, r); n != 50 {
		t.Fatalf("%d phones enqueued, want 50", n)
	}
}
