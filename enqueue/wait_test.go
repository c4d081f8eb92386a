package enqueue_test

import (
	"context"
	"errors"
	"github.com/phonestart/phonestart/internal/fleet/fleettest"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Wait returns once every phone of the request has ended, ready, dead,
// cancelled or stopped, woken by the step that ended the last one, long
// before its poll or its timeout.
func TestWaitEndsWhenEveryPhoneHasEnded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	ctx := context.Background()
	rep := e.start(enqueue.Request{IDs: []string{"r1", "d1", "c1", "s1"}, Label: "batch-7"})
	e.Claim(fleet.ActionStart, "s1")
	token := e.phone("s1").Call
	stop := e.stop(enqueue.StopRequest{IDs: []string{"s1"}}) // follows the start at GeeLark
	type result struct {
		out  enqueue.Outcome
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		began := time.Now()
		out, err := e.enq.Wait(ctx, rep.Request, enqueue.WaitOptions{Timeout: 2 * time.Minute, Poll: time.Minute})
		done <- result{out, err, time.Since(began)}
	}()
	// What the workers do meanwhile, and a person's cancel.
	time.Sleep(100 * time.Millisecond)
	e.Ready("r1")
	e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", "d1")
	if _, err := e.enq.Cancel(ctx, enqueue.CancelRequest{IDs: []string{"c1"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("Wait returned %+v, %v before s1 ended", r.out, r.err)
	default:
	}
	e.Settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToReady}, "s1")
	e.Stopped("s1")
	r := <-done
	out, err := r.out, r.err
	if err != nil {
		t.Fatal(err)
	}
	if r.took > 30*time.Second {
		t.Fatalf("Wait took %v: it should end with the last phone, not the poll", r.took)
	}
	want := enqueue.Outcome{Request: rep.Request, Label: "batch-7", Ended: true,
		Ready:      []enqueue.ReadyPhone{{ID: "r1", URL: fleettest.ReadyURL + "r1"}},
		Dead:       []enqueue.DeadPhone{{ID: "d1", Action: fleet.ActionStart, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: "cloud phone does not exist"}},
		Cancelled:  []string{"c1"},
		Stopped:    []string{"s1"},
		Unfinished: []string{}}
	if len(out.Ready) == 1 {
		if out.Ready[0].At.IsZero() {
			t.Errorf("r1 ready at the zero time")
		}
		want.Ready[0].At = out.Ready[0].At
	}
	if !outcomeEqual(out, want) || out.AllReady() {
		t.Fatalf("Wait =\n%+v\nwant\n%+v", out, want)
	}
	sout, err := e.enq.Wait(ctx, stop.Request, enqueue.WaitOptions{Timeout: time.Minute})
	if err != nil || !sout.Ended || !slices.Equal(sout.Stopped, []string{"s1"}) {
		t.Fatalf("Wait on the stop request = %+v, %v; want s1 stopped", sout, err)
	}
}

func outcomeEqual(a, b enqueue.Outcome) bool {
	return a.Request == b.Request && a.Label == b.Label && a.Ended == b.Ended && slices.Equal(a.Ready, b.Ready) &&
		slices.Equal(a.Dead, b.Dead) && slices.Equal(a.Cancelled, b.Cancelled) && slices.Equal(a.Stopped, b.Stopped) &&
		slices.Equal(a.Unfinished, b.Unfinished)
}

// When the timeout passes first, Wait returns the outcome as of then, the
// phones not ended unfinished, and no error.
func TestWaitTimeoutReturnsTheUnfinished(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	rep := e.start(enqueue.Request{IDs: []string{"q1", "r1", "b1"}})
	e.Ready("r1")
	e.Boot("b1")
	began := time.Now()
	out, err := e.enq.Wait(context.Background(), rep.Request, enqueue.WaitOptions{Timeout: 300 * time.Millisecond, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("Wait returned after %v, before its timeout", took)
	}
	if out.Ended || !slices.Equal(readyIDs(out), []string{"r1"}) || !slices.Equal(out.Unfinished, []string{"q1", "b1"}) {
		t.Fatalf("Wait = %+v; want r1 ready, q1 and b1 unfinished", out)
	}
}

// When ctx ends first, Wait returns what it knows with ctx's error.
func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	rep := e.start(enqueue.Request{IDs: []string{"c1", "c2"}})
	e.Ready("c1")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := e.enq.Wait(ctx, rep.Request, enqueue.WaitOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait error %v, want the context's", err)
	}
	if out.Request != rep.Request || !slices.Equal(readyIDs(out), []string{"c1"}) || !slices.Equal(out.Unfinished, []string{"c2"}) {
		t.Fatalf("Wait = %+v; want c1 ready, c2 unfinished", out)
	}
}

// A request that was never made, or whose retention passed, is
// ErrNoRequest to both Wait and Outcome.
func TestWaitAndOutcomeOfAnUnknownRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	e.start(enqueue.Request{IDs: []string{"p1"}})
	unknown := fleet.NewRequestID(time.Now())
	if _, err := e.enq.Outcome(context.Background(), unknown); !errors.Is(err, enqueue.ErrNoRequest) {
		t.Errorf("Outcome = %v, want ErrNoRequest", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.enq.Wait(ctx, unknown, enqueue.WaitOptions{}); !errors.Is(err, enqueue.ErrNoRequest) {
		t.Errorf("Wait = %v, want ErrNoRequest at once", err)
	}
}

func TestWaitRefusesBadOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	rep := e.start(enqueue.Request{IDs: []string{"a"}})
	ctx := context.Background()
	if _, err := e.enq.Wait(ctx, rep.Request, enqueue.WaitOptions{Timeout: -1}); err == nil {
		t.Error("Wait with a negative timeout was accepted")
	}
	if _, err := e.enq.Wait(ctx, rep.Request, enqueue.WaitOptions{Poll: -1}); err == nil {
		t.Error("Wait with a negative poll was accepted")
	}
}

// An outcome lists each phone once, in the order first given, whatever
// the order the phones ended in.
func TestOutcomeListsPhonesInTheOrderGiven(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	ids := []string{"z9", "a1", "m5", "a1", "b2", "y8", "c3"}
	rep := e.start(enqueue.Request{IDs: ids})
	e.Ready("c3")
	e.Kill(fleet.ActionStart, 42001, "", "y8")
	e.Ready("m5", "z9")
	e.Kill(fleet.ActionStart, 43004, "", "a1")
	out := e.outcome(rep.Request)
	if got, want := readyIDs(out), []string{"z9", "m5", "c3"}; !slices.Equal(got, want) {
		t.Errorf("ready %v, want %v", got, want)
	}
	if got, want := deadIDs(out), []string{"a1", "y8"}; !slices.Equal(got, want) {
		t.Errorf("dead %v, want %v", got, want)
	}
	if !slices.Equal(out.Unfinished, []string{"b2"}) || out.Ended {
		t.Errorf("unfinished %v, ended %v; want b2, open", out.Unfinished, out.Ended)
	}
}
