package enqueue_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// A mix of ready, dead and never-finishing phones, with a duplicate that
// was pending before the request and an ID given twice, comes back in the
// right sets once the timeout passes.
func TestWaitSortsReadyDeadAndUnfinished(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	// w5 was enqueued by someone else and is still pending: a duplicate.
	if _, err := enq.Start(ctx, enqueue.Request{IDs: []string{"w5"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := enq.Start(ctx, enqueue.Request{IDs: []string{"w1", "w2", "w3", "w4", "w5", "w1"}})
	if err != nil || rep.Enqueued != 4 || len(rep.Duplicates) != 2 {
		t.Fatalf("Start: %+v, %v", rep, err)
	}
	j := fleet.NewJournal(rdb, 0)
	record := func(evs ...fleet.Event) {
		t.Helper()
		if err := j.Record(ctx, evs...); err != nil {
			t.Fatal(err)
		}
	}
	// What a worker records: w1 ready, w2 dead after a retry, w3 still
	// booting, w4 untouched, w5 (the duplicate) ready.
	record(fleet.Event{Phone: "w1", Event: fleet.EventStarted, Attempt: 1, URL: "https://x/w1"},
		fleet.Event{Phone: "w2", Event: fleet.EventRetry, Attempt: 1, Code: 47002},
		fleet.Event{Phone: "w3", Event: fleet.EventStarted, Attempt: 1},
		fleet.Event{Phone: "w1", Event: fleet.EventReady, Attempt: 1, URL: "https://x/w1"},
		fleet.Event{Phone: "w2", Event: fleet.EventDead, Attempt: 2, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "cloud phone does not exist"},
		fleet.Event{Phone: "w5", Event: fleet.EventReady, Attempt: 1})

	out, err := enq.Wait(ctx, []string{"w1", "w2", "w3", "w4", "w5", "w1"},
		enqueue.WaitOptions{After: rep.Mark, Timeout: 300 * time.Millisecond, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := enqueue.Outcome{
		Ready:      []string{"w1", "w5"},
		Dead:       []enqueue.DeadPhone{{ID: "w2", Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "cloud phone does not exist"}},
		Unfinished: []string{"w3", "w4"},
	}
	if !outcomeEqual(out, want) || out.AllReady() {
		t.Fatalf("Wait = %+v, want %+v", out, want)
	}

	// With boot confirmation off, a started phone is done.
	out, err = enq.Wait(ctx, []string{"w3"}, enqueue.WaitOptions{After: rep.Mark, Timeout: time.Second, ReadyOnStart: true})
	if err != nil || !out.AllReady() || !slices.Equal(out.Ready, []string{"w3"}) {
		t.Fatalf("Wait with ReadyOnStart = %+v, %v; want w3 ready", out, err)
	}
}

func outcomeEqual(a, b enqueue.Outcome) bool {
	return slices.Equal(a.Ready, b.Ready) && slices.Equal(a.Dead, b.Dead) && slices.Equal(a.Unfinished, b.Unfinished)
}

// Wait returns as soon as the last phone is done, woken by its event, long
// before its timeout.
func TestWaitEndsWhenTheLastPhoneIsDone(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	rep, err := enq.Start(ctx, enqueue.Request{IDs: []string{"e1", "e2"}})
	if err != nil {
		t.Fatal(err)
	}
	j := fleet.NewJournal(rdb, 0)
	go func() {
		time.Sleep(100 * time.Millisecond)
		j.Record(ctx, fleet.Event{Phone: "e1", Event: fleet.EventReady})
		time.Sleep(100 * time.Millisecond)
		j.Record(ctx, fleet.Event{Phone: "e2", Event: fleet.EventDead, Code: 43004, Reason: fleet.ReasonGeeLark})
	}()
	began := time.Now()
	out, err := enq.Wait(ctx, []string{"e1", "e2"}, enqueue.WaitOptions{After: rep.Mark, Timeout: time.Minute})
	if err != nil || len(out.Ready) != 1 || len(out.Dead) != 1 || len(out.Unfinished) != 0 {
		t.Fatalf("Wait = %+v, %v", out, err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("Wait took %v: it should end with the last phone, not the timeout", took)
	}
}

// A phone's state from an earlier life (before the mark) does not end the
// wait; a worker's outcome recorded before the request's own enqueued event
// does.
func TestWaitIgnoresEarlierLivesButNotAQuickWorker(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	j := fleet.NewJournal(rdb, 0)
	old := time.Now().Add(-time.Hour)
	// o1 was ready an hour ago; nothing has happened to it since.
	if err := j.Record(ctx, fleet.Event{Phone: "o1", Event: fleet.EventReady, At: old}); err != nil {
		t.Fatal(err)
	}
	mark, err := enq.Mark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// q1: the worker's dead lands before the producer's enqueued.
	if err := j.Record(ctx, fleet.Event{Phone: "q1", Event: fleet.EventDead, Code: 42001, Reason: fleet.ReasonGeeLark},
		fleet.Event{Phone: "q1", Event: fleet.EventEnqueued}); err != nil {
		t.Fatal(err)
	}
	out, err := enq.Wait(ctx, []string{"o1", "q1"}, enqueue.WaitOptions{After: mark, Timeout: 200 * time.Millisecond, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Unfinished, []string{"o1"}) || len(out.Dead) != 1 || out.Dead[0].ID != "q1" || out.Dead[0].Code != 42001 {
		t.Fatalf("Wait = %+v; want o1 unfinished (its ready is an hour old) and q1 dead 42001", out)
	}
}

// When the stream no longer holds the events after the mark (trimmed),
// the phones' states, written after the mark, still end the wait.
func TestWaitFallsBackToStatesWhenTheStreamWasTrimmed(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	rep, err := enq.Start(ctx, enqueue.Request{IDs: []string{"t1"}})
	if err != nil {
		t.Fatal(err)
	}
	j := fleet.NewJournal(rdb, 0)
	if err := j.Record(ctx, fleet.Event{Phone: "t1", Event: fleet.EventReady}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, fleet.EventsKey).Err(); err != nil {
		t.Fatal(err)
	}
	out, err := enq.Wait(ctx, []string{"t1"}, enqueue.WaitOptions{After: rep.Mark, Timeout: time.Minute})
	if err != nil || !out.AllReady() {
		t.Fatalf("Wait = %+v, %v; want t1 ready from its state", out, err)
	}
}

// Cancelling the wait returns what it has and ctx's error.
func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	rep, err := enq.Start(context.Background(), enqueue.Request{IDs: []string{"c1", "c2"}})
	if err != nil {
		t.Fatal(err)
	}
	fleet.NewJournal(rdb, 0).Record(context.Background(), fleet.Event{Phone: "c1", Event: fleet.EventReady})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := enq.Wait(ctx, []string{"c1", "c2"}, enqueue.WaitOptions{After: rep.Mark})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait error %v, want the context's", err)
	}
	if !slices.Equal(out.Ready, []string{"c1"}) || !slices.Equal(out.Unfinished, []string{"c2"}) {
		t.Fatalf("Wait = %+v; want c1 ready, c2 unfinished", out)
	}
}

func TestWaitRefusesBadOptions(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	ctx := context.Background()
	if _, err := enq.Wait(ctx, []string{"a"}, enqueue.WaitOptions{}); err == nil {
		t.Error("Wait without After was accepted")
	}
	mark, _ := enq.Mark(ctx)
	if _, err := enq.Wait(ctx, nil, enqueue.WaitOptions{After: mark}); err == nil {
		t.Error("Wait on no phones was accepted")
	}
	if _, err := enq.Wait(ctx, []string{"a"}, enqueue.WaitOptions{After: mark, Timeout: -1}); err == nil {
		t.Error("Wait with a negative timeout was accepted")
	}
}
