package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

var checks = fleet.Checks{Poll: 10 * time.Second, Max: 150 * time.Second}

func claimIDs(t *testing.T, st *fleet.Store, n int) ([]string, time.Duration) {
	t.Helper()
	got, first, err := st.ClaimBoots(context.Background(), n, time.Minute, checks)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(got))
	for i, p := range got {
		ids[i] = p.ID
	}
	return ids, first
}

func learn(t *testing.T, st *fleet.Store, now time.Time, o fleet.Observed) time.Duration {
	t.Helper()
	first, err := st.Learn(context.Background(), now, checks, o)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

// later claims phone id and settles its check: still starting, first
// checked under first, due again at at.
func later(t *testing.T, st *fleet.Store, id string, at time.Time, first time.Duration) {
	t.Helper()
	p, err := st.Phone(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SettleBoots(context.Background(), 0, []fleet.BootSettle{{ID: id, Ver: p.Ver, To: fleet.BootLater,
		Due: at, Seen: "starting", FirstCheck: first}}); err != nil {
		t.Fatal(err)
	}
}

// A claim takes no phone younger than the learned first check, nor one
// checked before within a poll of it; it makes them due when they reach
// it, so that a later claim takes them without a status call in between.
// A phone with a callback's verdict is taken at once.
func TestClaimTakesNoPhoneYoungerThanTheFirstCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	t0 := clk.Now()
	toBooting(t, st, t0.Add(10*time.Second), "old")
	clk.Advance(20 * time.Second)
	toBooting(t, st, t0.Add(30*time.Second), "young", "called")
	clk.Advance(-10 * time.Second) // back to t0+10s
	// Nothing learned: the first check is the poll, and every phone due
	// at its poll is taken.
	if ids, first := claimIDs(t, st, 10); len(ids) != 1 || ids[0] != "old" || first != checks.Poll {
		t.Fatalf("fresh claim = %v, first check %v; want [old] at %v", ids, first, checks.Poll)
	}
	// The fleet learns that phones are not up at 10s: the first check moves
	// to 20s, so a phone due after its poll but 10s old waits.
	if first := learn(t, st, t0.Add(10*time.Second), fleet.Observed{First: 10, FirstOldest: 10 * time.Second}); first != 20*time.Second {
		t.Fatalf("learned %v, want 20s", first)
	}
	clk.Advance(20 * time.Second) // t0+30s
	if _, err := st.Verdict(ctx, "called", true); err != nil {
		t.Fatal(err)
	}
	if ids, _ := claimIDs(t, st, 10); len(ids) != 1 || ids[0] != "called" {
		t.Fatalf("claim at 30s = %v; want only the phone with a verdict", ids)
	}
	clk.Advance(9 * time.Second)
	if ids, _ := claimIDs(t, st, 10); len(ids) != 0 {
		t.Fatalf("claim at 39s = %v; young is 19s old, want none", ids)
	}
	clk.Advance(time.Second)
	if ids, _ := claimIDs(t, st, 10); len(ids) != 1 || ids[0] != "young" {
		t.Fatalf("claim at 40s = %v; want young, 20s old", ids)
	}
	// Phones too young do not stand in the way of an older one behind
	// them: a claim of 2 looks past 5 young ones due before it, and makes
	// each due when it reaches the first check (20s).
	clk.Advance(-20 * time.Second) // t0+20s
	toBooting(t, st, t0.Add(51*time.Second), "elder")
	clk.Advance(25 * time.Second) // t0+45s
	var young []string
	for i := range 5 {
		young = append(young, fmt.Sprintf("young%d", i))
	}
	toBooting(t, st, t0.Add(50*time.Second), young...)
	clk.Advance(7 * time.Second) // t0+52s
	if ids, _ := claimIDs(t, st, 2); len(ids) != 1 || ids[0] != "elder" {
		t.Fatalf("claim of 2 at 52s = %v; want elder, behind 5 phones 7s old", ids)
	}
	for _, id := range young {
		at, err := rdb.ZScore(ctx, st.Space().Key("booting"), id).Result()
		if want := t0.Add(65 * time.Second).UnixMilli(); err != nil || int64(at) != want {
			t.Errorf("%s due at %v (%v), want its start + 20s", id, time.UnixMilli(int64(at)).UTC(), err)
		}
	}
	// A phone still starting at its first check is checked again a poll
	// after the first check at the earliest, whatever its due time says.
	clk.Advance(-52 * time.Second) // t0
	toBooting(t, st, t0.Add(20*time.Second), "checked")
	later(t, st, "checked", t0.Add(25*time.Second), 20*time.Second)
	clk.Advance(29 * time.Second)
	if ids, _ := claimIDs(t, st, 10); len(ids) != 0 {
		t.Fatalf("claim at 29s = %v; checked is due at 30s", ids)
	}
	clk.Advance(time.Second)
	if ids, _ := claimIDs(t, st, 10); len(ids) != 1 || ids[0] != "checked" {
		t.Fatalf("claim at 30s = %v; want checked", ids)
	}
}

// The first check moves past phones that were mostly still starting at
// it, not for a minority, and never for phones checked before; it settles
// where about nine in ten are up at their first check; it stays within
// the poll and Max; and it is kept for the whole fleet.
func TestFirstCheckLearnsTheBootTime(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	b, _ := newStore(t, clk)
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

	if first, learned, err := b.FirstCheck(context.Background(), checks); err != nil || learned || first != checks.Poll {
		t.Fatalf("FirstCheck of a fresh fleet = %v, %v, %v; want the poll, not learned", first, learned, err)
	}
	// Fewer than 10 phones at their first check: too few to move it.
	if f := learn(t, b, t0, fleet.Observed{First: 9, FirstOldest: 30 * time.Second}); f != checks.Poll {
		t.Fatalf("9 phones moved the first check to %v", f)
	}
	// A minority still starting: no move.
	if f := learn(t, b, t0, fleet.Observed{First: 100, FirstReady: 50, OnTime: 50, FirstOldest: 30 * time.Second, FirstMaxAge: 30 * time.Second}); f != checks.Poll {
		t.Fatalf("half up moved the first check to %v", f)
	}
	// Most still starting: a poll past the oldest of them.
	if f := learn(t, b, t0, fleet.Observed{First: 100, FirstReady: 49, OnTime: 49, FirstOldest: 31 * time.Second, FirstMaxAge: 31 * time.Second}); f != 41*time.Second {
		t.Fatalf("most starting: first check %v, want 41s", f)
	}
	// Phones rechecked and still starting, however many (they may never
	// come up): no move.
	if f := learn(t, b, t0.Add(time.Second), fleet.Observed{}); f != 41*time.Second {
		t.Fatalf("an empty observation moved the first check to %v", f)
	}
	// The poll since the first observation ends: all 99 confirmed phones
	// were up at their first check, so 2% sooner.
	if f := learn(t, b, t0.Add(10*time.Second), fleet.Observed{}); f != 40180*time.Millisecond {
		t.Fatalf("all up at the first check: %v, want 40.18s", f)
	}
	// Over the next poll, 30 of 100 confirmed phones needed a later check:
	// up by (0.3-0.1) of a poll.
	learn(t, b, t0.Add(15*time.Second), fleet.Observed{First: 70, FirstReady: 70, OnTime: 70, Late: 30})
	if f := learn(t, b, t0.Add(20*time.Second), fleet.Observed{}); f != 42180*time.Millisecond {
		t.Fatalf("three in ten late: first check %v, want 42.18s", f)
	}
	// A poll where the phones were up at first checks that all came more
	// than a poll late (the budget held them back): nothing learned.
	learn(t, b, t0.Add(25*time.Second), fleet.Observed{First: 100, FirstReady: 100})
	if f := learn(t, b, t0.Add(30*time.Second), fleet.Observed{}); f != 42180*time.Millisecond {
		t.Fatalf("phones checked late moved the first check to %v", f)
	}
	// Another worker reads the same.
	other, err := fleet.NewStore(b.Redis(), fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if f, learned, err := other.FirstCheck(context.Background(), checks); err != nil || !learned || f != 42180*time.Millisecond {
		t.Fatalf("FirstCheck = %v, %v, %v; want 42.18s, learned", f, learned, err)
	}
	// Never past Max, never below the poll.
	if f := learn(t, b, t0.Add(31*time.Second), fleet.Observed{First: 10, FirstOldest: time.Hour}); f != checks.Max {
		t.Fatalf("first check %v past Max %v", f, checks.Max)
	}
	for i := range 200 {
		learn(t, b, t0.Add(time.Duration(40+10*i)*time.Second), fleet.Observed{First: 1, FirstReady: 1, OnTime: 1})
	}
	if f, _, _ := b.FirstCheck(context.Background(), checks); f != checks.Poll {
		t.Fatalf("after 200 polls of phones up at once the first check is %v, want the poll", f)
	}
}

// Observed counts a phone once, at its first check (on time when that came
// within a poll of the first check in force); later only when it comes up
// and its first check was no earlier than the one now in force; a phone
// that fell back counts for nothing.
func TestObservedCountsFirstChecksAndLateConfirmations(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	now := t0.Add(time.Minute)
	first := 30 * time.Second
	fresh := func(started time.Time) fleet.Phone { return fleet.Phone{Boot: fleet.Boot{StartedAt: started}} }
	checked := func(at time.Duration) fleet.Phone {
		return fleet.Phone{Boot: fleet.Boot{StartedAt: t0, FirstCheck: at}}
	}
	var o fleet.Observed
	poll := 10 * time.Second
	o.Add(fresh(t0.Add(25*time.Second)), geelark.StateStarted, now, first, poll) // 35s old: on time
	o.Add(fresh(t0.Add(10*time.Second)), geelark.StateStarted, now, first, poll) // 50s old: checked late
	o.Add(fresh(t0), geelark.StateStarting, now, first, poll)
	o.Add(fresh(t0.Add(20*time.Second)), geelark.StateStarting, now, first, poll)
	o.Add(fresh(t0), geelark.StateShutDown, now, first, poll)
	o.Add(checked(30*time.Second), geelark.StateStarted, now, first, poll)  // late under the first check in force
	o.Add(checked(20*time.Second), geelark.StateStarted, now, first, poll)  // checked before the first check moved past it
	o.Add(checked(30*time.Second), geelark.StateStarting, now, first, poll) // still starting: may never come up
	want := fleet.Observed{First: 4, FirstReady: 2, OnTime: 1, FirstOldest: time.Minute, FirstMaxAge: time.Minute, Late: 1}
	if o != want {
		t.Fatalf("Observed = %+v, want %+v", o, want)
	}
}

// After the first check came sooner than the phones are up (2% a poll),
// the call that finds them still starting moves it back only as far as
// the age at which an earlier call found most of them up; when phones
// are still starting at that age too, it moves a poll past them.
func TestFirstCheckFallsBackToWhereMostWereUp(t *testing.T) {
	t.Parallel()
	b, _ := newStore(t, newFakeClock())
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	if f := learn(t, b, t0, fleet.Observed{First: 100, FirstOldest: 51 * time.Second, FirstMaxAge: 51 * time.Second}); f != 61*time.Second {
		t.Fatalf("first check %v, want 61s", f)
	}
	// Most up at 61 to 62s.
	learn(t, b, t0.Add(time.Second), fleet.Observed{First: 100, FirstReady: 100, OnTime: 100, FirstMaxAge: 62 * time.Second})
	// Two polls of phones up at their first check: 2% sooner each.
	for i := 1; i <= 2; i++ {
		learn(t, b, t0.Add(time.Duration(10*i)*time.Second), fleet.Observed{First: 100, FirstReady: 100, OnTime: 100, FirstMaxAge: 62 * time.Second})
	}
	if f, _, _ := b.FirstCheck(context.Background(), checks); f != 58584*time.Millisecond {
		t.Fatalf("first check %v, want 58.584s", f)
	}
	// Phones 58.6 to 59s old still starting: back to 62s, not 69s.
	if f := learn(t, b, t0.Add(25*time.Second), fleet.Observed{First: 100, FirstOldest: 59 * time.Second, FirstMaxAge: 59 * time.Second}); f != 62*time.Second {
		t.Fatalf("first check %v, want 62s, where most were up", f)
	}
	// Phones 62 to 63s old still starting (the fleet boots slower now): a
	// poll past them, and 62s is forgotten.
	if f := learn(t, b, t0.Add(26*time.Second), fleet.Observed{First: 100, FirstOldest: 63 * time.Second, FirstMaxAge: 63 * time.Second}); f != 73*time.Second {
		t.Fatalf("first check %v, want 73s", f)
	}
}
