package worker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// A phone whose wait ends before its call is made leaves without a call and
// without using an attempt; one already in a call hears the call's outcome.
func TestBatcherHandsBackPhonesWhoseWaitEnds(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	release := make(chan struct{})
	b := newBatcher(2, time.Hour, time.Now,
		func(ctx context.Context) error { <-release; return nil },
		func(_ geelark.StartOptions, batch []*request) {
			calls.Add(1)
			for _, r := range batch {
				r.done <- result{outcome: geelark.Outcome{ID: r.id, Status: geelark.StatusStarted}}
			}
		})
	wait, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res := b.start(context.Background(), wait, "alone", 1, geelark.StartOptions{})
	if !errors.Is(res.err, errHandBack) || isFailure(res.err) {
		t.Fatalf("phone waiting past its wait: %v, want a hand-back that is not a failure", res.err)
	}
	// Two phones fill a batch, whose flusher waits to be admitted; once it
	// has taken them, their waits ending changes nothing.
	done := make(chan result, 2)
	for _, id := range []string{"a", "b"} {
		go func() {
			w, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			done <- b.start(context.Background(), w, id, 1, geelark.StartOptions{})
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	for range 2 {
		if r := <-done; r.err != nil || r.outcome.Status != geelark.StatusStarted {
			t.Fatalf("phone in a call: %+v", r)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}
