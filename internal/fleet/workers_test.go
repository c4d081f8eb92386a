package fleet_test

import (
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// Only when every live worker is refused is the problem the account's; a
// worker whose heartbeat ran out no longer counts.
func TestWorkersAllRefused(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	w := st.Workers(nil)
	ctx := t.Context()
	check := func(want bool, what string) {
		t.Helper()
		got, err := w.AllRefused(ctx)
		if err != nil || got != want {
			t.Fatalf("%s: AllRefused %v, %v; want %v", what, got, err, want)
		}
	}
	live := func(want ...string) {
		t.Helper()
		got, err := w.Live(ctx)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Live: %v, %v; want %v", got, err, want)
		}
	}
	check(false, "no worker")
	for _, id := range []string{"w1", "w2"} {
		if err := w.Beat(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	live("w1", "w2")
	check(false, "two live workers, none refused")
	if err := w.Refuse(ctx, "w1", 40003, clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(false, "one of two refused")
	if err := w.Refuse(ctx, "w2", 40003, clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(true, "both refused")
	if err := w.Accept(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	check(false, "w2's call went through")
	if err := w.Leave(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	live("w1")
	check(true, "the only live worker is refused")

	// A refusal holds until its until: then the worker probes again.
	clk.Advance(time.Minute - time.Millisecond)
	w.Beat(ctx, "w1")
	check(true, "w1 refused until a millisecond from now")
	clk.Advance(time.Millisecond)
	check(false, "w1's refusal ran out")

	// A worker that stops beating is dropped after HeartbeatTTL.
	w.Refuse(ctx, "w1", 40003, clk.Now().Add(time.Hour))
	w.Beat(ctx, "w1")
	clk.Advance(fleet.HeartbeatTTL)
	live("w1")
	w.Beat(ctx, "w3")
	clk.Advance(time.Millisecond)
	live("w3")
	check(false, "w1 refused but gone, w3 live")
	w.Refuse(ctx, "w3", 40003, clk.Now().Add(time.Hour))
	check(true, "w3, the only live worker, refused")
	clk.Advance(fleet.HeartbeatTTL + time.Millisecond)
	live()
	check(false, "no live worker")

	// The next heartbeat drops the refusals of workers gone (a SIGKILLed
	// worker's refusal does not stay).
	if err := w.Beat(ctx, "w4"); err != nil {
		t.Fatal(err)
	}
	if left, err := rdb.HKeys(ctx, st.Space().Key("refused")).Result(); err != nil || len(left) != 0 {
		t.Fatalf("refusals left after a heartbeat: %v, %v; want none of gone workers", left, err)
	}
}
