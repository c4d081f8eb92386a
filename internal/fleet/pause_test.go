package fleet_test

import (
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// A pause only ever grows: a shorter one set meanwhile leaves it as it is.
func TestPauseSetOnlyExtends(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	clk := newFakeClock()
	p := fleet.NewPauses(rdb, clk.Now)
	now := clk.Now()
	for _, step := range []struct {
		until   time.Duration
		changed bool
		want    time.Duration // until of the pause in force after the step
	}{
		{30 * time.Second, true, 30 * time.Second},
		{10 * time.Second, false, 30 * time.Second},
		{30 * time.Second, false, 30 * time.Second},
		{time.Minute, true, time.Minute},
	} {
		cur, changed, err := p.Set(t.Context(), geelark.CodeTooManyRequests, "too many requests", now.Add(step.until))
		if err != nil {
			t.Fatal(err)
		}
		if changed != step.changed || !cur.Until.Equal(now.Add(step.want)) {
			t.Fatalf("Set until +%v: pause until +%v, changed %v; want +%v, %v",
				step.until, cur.Until.Sub(now), changed, step.want, step.changed)
		}
	}
	cur, on, err := p.Fresh(t.Context())
	if err != nil || !on {
		t.Fatalf("no pause in force after Set: %v", err)
	}
	if cur.Code != 40007 || cur.Msg != "too many requests" || cur.By != fleet.Self() ||
		cur.Class() != geelark.ClassRateLimited || !cur.Since.Equal(now) {
		t.Fatalf("pause read back: %+v", cur)
	}
	// It ends at Until by the pauses' clock.
	clk.Advance(time.Minute - time.Millisecond)
	if _, on, _ := p.Fresh(t.Context()); !on {
		t.Fatal("pause over a millisecond before its end")
	}
	clk.Advance(time.Millisecond)
	if _, on, _ := p.Fresh(t.Context()); on {
		t.Fatal("pause still in force at its end")
	}
	if _, on, _ := fleet.CurrentPause(t.Context(), rdb, now.Add(30*time.Second)); !on {
		t.Fatal("CurrentPause half way through: not in force")
	}
}

// An account-wide code opens a streak whose start every later pause keeps,
// until a phone starts again (Unblock).
func TestPauseAccountStreak(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	clk := newFakeClock()
	p := fleet.NewPauses(rdb, clk.Now)
	began := clk.Now()
	if _, _, err := p.Set(t.Context(), 41001, "balance not enough", began.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // the pause ran out; the account is still broke
	cur, changed, err := p.Set(t.Context(), 41001, "balance not enough", clk.Now().Add(time.Minute))
	if err != nil || !changed {
		t.Fatalf("second account pause: changed %v, %v", changed, err)
	}
	if !cur.Since.Equal(began) || cur.Class() != geelark.ClassAccount {
		t.Fatalf("second pause of the streak: since %v, want the streak's start %v", cur.Since, began)
	}
	// A rate-limit pause in the streak does not end it.
	clk.Advance(2 * time.Minute)
	if _, _, err := p.Set(t.Context(), 40007, "", clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if cur, _, _ := p.Set(t.Context(), 41001, "", clk.Now().Add(time.Minute)); !cur.Since.Equal(began) {
		t.Fatalf("after a 40007 pause: since %v, want %v", cur.Since, began)
	}
	if err := p.Unblock(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	restart := clk.Now()
	if cur, _, _ := p.Set(t.Context(), 41001, "", restart.Add(time.Minute)); !cur.Since.Equal(restart) {
		t.Fatalf("after Unblock: since %v, want a new streak from %v", cur.Since, restart)
	}
}

// Lift ends the pause at once, for every worker, and says who did it.
func TestPauseLiftRecordsWhoLiftedIt(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	clk := newFakeClock()
	p := fleet.NewPauses(rdb, clk.Now)
	if _, on, err := p.Lift(t.Context(), "nobody"); on || err != nil {
		t.Fatalf("Lift without a pause: ended one %v, %v", on, err)
	}
	if _, ok, _ := fleet.LastLift(t.Context(), rdb); ok {
		t.Fatal("a lift recorded without a pause to lift")
	}
	if _, _, err := p.Set(t.Context(), 41001, "balance not enough", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	other := fleet.NewPauses(rdb, clk.Now) // another worker, which saw the pause
	if _, on, _ := other.Current(t.Context()); !on {
		t.Fatal("another worker does not see the pause")
	}
	clk.Advance(time.Minute)
	ended, on, err := p.Lift(t.Context(), "ops@host")
	if err != nil || !on || ended.Code != 41001 {
		t.Fatalf("Lift: %+v %v %v", ended, on, err)
	}
	lifted, ok, err := fleet.LastLift(t.Context(), rdb)
	want := fleet.Lifted{Code: 41001, Msg: "balance not enough", By: "ops@host", At: clk.Now()}
	if err != nil || !ok || lifted.Code != want.Code || lifted.Msg != want.Msg || lifted.By != want.By || !lifted.At.Equal(want.At) {
		t.Fatalf("LastLift: %+v %v %v, want %+v", lifted, ok, err, want)
	}
	if _, on, _ := other.Fresh(t.Context()); on {
		t.Fatal("pause still in force for another worker after Lift")
	}
	// The streak ended too: a new account pause starts a new one.
	if cur, _, _ := p.Set(t.Context(), 41001, "", clk.Now().Add(time.Minute)); !cur.Since.Equal(clk.Now()) {
		t.Fatalf("pause after Lift: since %v, want now", cur.Since)
	}
}

// Current answers from a cache up to a second old; Fresh always asks Redis.
func TestPauseCurrentIsCachedFreshIsNot(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	clk := newFakeClock()
	reader := fleet.NewPauses(rdb, clk.Now)
	setter := fleet.NewPauses(rdb, clk.Now)
	if _, on, err := reader.Current(t.Context()); on || err != nil {
		t.Fatalf("pause before any: %v %v", on, err)
	}
	if _, _, err := setter.Set(t.Context(), 40007, "", clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, on, _ := setter.Current(t.Context()); !on {
		t.Fatal("the worker that set the pause does not see it")
	}
	clk.Advance(999 * time.Millisecond)
	if _, on, _ := reader.Current(t.Context()); on {
		t.Fatal("Current read Redis again within a second: no cache")
	}
	if _, on := reader.Last(); on {
		t.Fatal("Last read Redis")
	}
	if _, on, _ := reader.Fresh(t.Context()); !on {
		t.Fatal("Fresh answered from the cache")
	}
	if _, on := reader.Last(); !on {
		t.Fatal("Last does not hold what Fresh read")
	}

	// A second after its last read, Current asks again.
	late := fleet.NewPauses(rdb, clk.Now)
	if _, _, err := setter.Lift(t.Context(), "test"); err != nil {
		t.Fatal(err)
	}
	late.Current(t.Context())
	if _, _, err := setter.Set(t.Context(), 40007, "", clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, on, _ := late.Current(t.Context()); !on {
		t.Fatal("Current still answers from a cache a second old")
	}
}
