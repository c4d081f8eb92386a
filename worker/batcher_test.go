package worker

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// manualClock is a clock that moves only by Advance, which runs the timers
// that fall due, in order, on the caller's goroutine.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	c       *manualClock
	at      time.Time
	f       func()
	stopped bool
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock by d, running each timer due on the way at its
// time. A timer that keeps re-arming itself without the clock moving is a
// bug: Advance panics rather than spin.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for fired := 0; ; fired++ {
		if fired > 10_000 {
			panic("manualClock: 10,000 timers fired in one Advance: a timer re-arms itself for now")
		}
		c.mu.Lock()
		var next *manualTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.stopped = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f() // it may arm new timers
	}
}

// sentCall is one call a test batcher made.
type sentCall struct {
	at  time.Time
	ids []string
}

// testBatcher returns a batcher on clk, admitted at once, that answers every
// phone as started and reports each call on the channel it returns.
func testBatcher(size int, wait time.Duration, clk *manualClock) (*batcher, <-chan sentCall) {
	calls := make(chan sentCall, 100)
	b := newBatcher(size, wait, clk.Now, func(context.Context) error { return nil },
		func(_ geelark.StartOptions, batch []*request) {
			c := sentCall{at: clk.Now()}
			for _, r := range batch {
				c.ids = append(c.ids, r.id)
				r.done <- result{outcome: outcomeStarted}
			}
			calls <- c
		})
	b.after = clk.AfterFunc
	return b, calls
}

// pending returns how many phones wait in b for a call, or -1 once a
// flusher is on its way to take them. Timers run on the clock's Advance, and
// a due one starts its flusher before Advance returns.
func pending(b *batcher) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, g := range b.groups {
		if g.waiting > 0 {
			return -1
		}
		n += len(g.pending)
	}
	return n
}

// waitUntil polls cond until it holds, failing the test after 10s: the
// goroutines it waits for run at once, the bound only keeps a broken
// batcher from hanging the test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func nextCall(t *testing.T, calls <-chan sentCall) sentCall {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no call within 10s")
		return sentCall{}
	}
}

// A partial batch goes out when its oldest phone has waited BatchWait, by
// the batcher's clock, with every phone that came meanwhile; a full batch
// goes out at once.
func TestBatcherCallsWhenTheOldestPhoneHasWaited(t *testing.T) {
	t.Parallel()
	clk := newManualClock()
	b, calls := testBatcher(3, 500*time.Millisecond, clk)
	ctx := context.Background()
	results := make(chan result, 10)
	add := func(id string) {
		go func() { results <- b.start(ctx, ctx, &request{id: id}) }()
	}
	began := clk.Now()
	add("a")
	waitUntil(t, "a waits", func() bool { return pending(b) == 1 })
	clk.Advance(300 * time.Millisecond)
	add("b")
	waitUntil(t, "b waits", func() bool { return pending(b) == 2 })
	clk.Advance(199 * time.Millisecond)
	if n := pending(b); n != 2 {
		t.Fatalf("499ms after the first phone: %d phones wait (-1: a call is on its way), want 2", n)
	}
	clk.Advance(time.Millisecond)
	c := nextCall(t, calls)
	if !slices.Equal(c.ids, []string{"a", "b"}) || c.at.Sub(began) != 500*time.Millisecond {
		t.Fatalf("call of %v at +%v, want a and b at +500ms", c.ids, c.at.Sub(began))
	}
	for range 2 {
		if r := <-results; r.err != nil || r.outcome != outcomeStarted {
			t.Fatalf("phone in the call: %+v", r)
		}
	}

	// Three phones fill a batch: it goes out without waiting.
	at := clk.Now()
	for _, id := range []string{"c", "d", "e"} {
		add(id)
	}
	c = nextCall(t, calls)
	if len(c.ids) != 3 || !c.at.Equal(at) {
		t.Fatalf("full batch: call of %v at +%v, want 3 phones at once", c.ids, c.at.Sub(at))
	}
	// The timer armed for c is still set; f, coming 200ms later, waits
	// its own 500ms all the same.
	clk.Advance(200 * time.Millisecond)
	add("f")
	waitUntil(t, "f waits", func() bool { return pending(b) == 1 })
	clk.Advance(499 * time.Millisecond)
	if n := pending(b); n != 1 {
		t.Fatalf("499ms after f: %d phones wait (-1: a call is on its way), want 1", n)
	}
	clk.Advance(time.Millisecond)
	if c := nextCall(t, calls); !slices.Equal(c.ids, []string{"f"}) {
		t.Fatalf("call of %v, want f", c.ids)
	}
}

// A phone whose wait ends before its call is made leaves without a call and
// without using an attempt; one already in a call hears the call's outcome.
func TestBatcherHandsBackPhonesWhoseWaitEnds(t *testing.T) {
	t.Parallel()
	clk := newManualClock()
	admitting := make(chan struct{}, 10)
	release := make(chan struct{})
	sending := make(chan struct{}, 10)
	deliver := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	b := newBatcher(2, time.Hour, clk.Now,
		func(ctx context.Context) error { admitting <- struct{}{}; <-release; return nil },
		func(_ geelark.StartOptions, batch []*request) {
			mu.Lock()
			calls++
			mu.Unlock()
			sending <- struct{}{}
			<-deliver
			for _, r := range batch {
				r.done <- result{outcome: outcomeStarted}
			}
		})
	b.after = clk.AfterFunc

	// A phone alone: its wait ends before any call.
	wait, cancel := context.WithCancel(context.Background())
	alone := make(chan result, 1)
	go func() { alone <- b.start(context.Background(), wait, &request{id: "alone"}) }()
	waitUntil(t, "alone waits", func() bool { return pending(b) == 1 })
	cancel()
	if res := <-alone; !errors.Is(res.err, errHandBack) || isFailure(res.err) {
		t.Fatalf("phone whose wait ended: %v, want a hand-back that is not a failure", res.err)
	}
	if n := pending(b); n != 0 {
		t.Fatalf("%d phones still wait after the hand-back", n)
	}

	// Two phones fill a batch, whose flusher waits to be admitted; once it
	// has taken them, their waits ending changes nothing.
	done := make(chan result, 2)
	var cancels []context.CancelFunc
	for _, id := range []string{"a", "b"} {
		w, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		go func() { done <- b.start(context.Background(), w, &request{id: id}) }()
	}
	<-admitting
	close(release)
	<-sending // the phones are in the call
	for _, cancel := range cancels {
		cancel()
	}
	close(deliver)
	for range 2 {
		if r := <-done; r.err != nil || r.outcome != outcomeStarted {
			t.Fatalf("phone in a call: %+v", r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d calls, want 1", calls)
	}
}

// Draining hands back every phone not yet in a call and stops its timer.
func TestBatcherDrainHandsBackWaitingPhones(t *testing.T) {
	t.Parallel()
	clk := newManualClock()
	b, calls := testBatcher(10, time.Second, clk)
	ctx := context.Background()
	results := make(chan result, 3)
	for _, id := range []string{"a", "b", "c"} {
		go func() { results <- b.start(ctx, ctx, &request{id: id}) }()
	}
	waitUntil(t, "3 phones wait", func() bool { return pending(b) == 3 })
	b.drain()
	for range 3 {
		if r := <-results; !errors.Is(r.err, errHandBack) {
			t.Fatalf("phone waiting at drain: %v, want a hand-back", r.err)
		}
	}
	clk.Advance(time.Hour)
	if r := b.start(ctx, ctx, &request{id: "late"}); !errors.Is(r.err, errHandBack) {
		t.Fatalf("phone after drain: %v, want a hand-back", r.err)
	}
	select {
	case c := <-calls:
		t.Fatalf("call of %v after drain", c.ids)
	default:
	}
}
