package fleet_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// A pause only ever grows: a shorter one set meanwhile leaves it as it is.
func TestPauseSetOnlyExtends(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	p := st.Pauses(nil)
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
	if _, on, _ := fleet.CurrentPause(t.Context(), rdb, fleet.Space{}, now.Add(30*time.Second)); !on {
		t.Fatal("CurrentPause half way through: not in force")
	}
}

// An account-wide code opens a streak whose start every later pause keeps,
// until a phone starts again (Unblock).
func TestPauseAccountStreak(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	p := st.Pauses(nil)
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
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	p := st.Pauses(nil)
	if res, _, err := p.Lift(t.Context(), "", "nobody"); res.Lifted.ID != "" || err != nil {
		t.Fatalf("Lift without a pause: ended %+v, %v", res, err)
	}
	if _, ok, _ := fleet.LastLift(t.Context(), rdb, fleet.Space{}); ok {
		t.Fatal("a lift recorded without a pause to lift")
	}
	set, _, err := p.Set(t.Context(), 41001, "balance not enough", clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other := st.Pauses(nil) // another worker, which saw the pause
	if _, on, _ := other.Current(t.Context()); !on {
		t.Fatal("another worker does not see the pause")
	}
	epoch := other.Epoch()
	clk.Advance(time.Minute)
	res, _, err := p.Lift(t.Context(), set.ID, "ops@host")
	if err != nil || res.Lifted.Code != 41001 || res.Lifted.ID != set.ID {
		t.Fatalf("Lift: %+v %v", res, err)
	}
	lifted, ok, err := fleet.LastLift(t.Context(), rdb, fleet.Space{})
	want := fleet.Lifted{Code: 41001, Msg: "balance not enough", By: "ops@host", At: clk.Now()}
	if err != nil || !ok || lifted.Code != want.Code || lifted.Msg != want.Msg || lifted.By != want.By || !lifted.At.Equal(want.At) {
		t.Fatalf("LastLift: %+v %v %v, want %+v", lifted, ok, err, want)
	}
	if _, on, _ := other.Fresh(t.Context()); on {
		t.Fatal("pause still in force for another worker after Lift")
	}
	if other.Epoch() == epoch {
		t.Fatal("the lift epoch did not move: refused workers would not hear of the lift")
	}
	// The streak ended too: a new account pause starts a new one.
	if cur, _, _ := p.Set(t.Context(), 41001, "", clk.Now().Add(time.Minute)); !cur.Since.Equal(clk.Now()) {
		t.Fatalf("pause after Lift: since %v, want now", cur.Since)
	}
}

// A lift names the pause it read: a pause set or extended since (a newer
// rate limit, a 40014 lockout) is not lifted unseen.
func TestLiftCannotEraseANewerPause(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	p := st.Pauses(nil)
	read, _, err := p.Set(t.Context(), geelark.CodeTooManyRequests, "too many", clk.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Another worker meets a lockout meanwhile.
	lock, changed, err := st.Pauses(nil).Set(t.Context(), geelark.CodeHourlyLimitLocked, "locked", clk.Now().Add(2*time.Hour))
	if err != nil || !changed || lock.ID == read.ID {
		t.Fatalf("lockout: %+v changed %v, %v", lock, changed, err)
	}
	res, now, err := p.Lift(t.Context(), read.ID, "ops")
	if !errors.Is(err, fleet.ErrPauseChanged) || res.Lifted.ID != "" || now.Code != geelark.CodeHourlyLimitLocked {
		t.Fatalf("Lift of the pause read: %+v, in force %+v, %v; want ErrPauseChanged naming the lockout", res, now, err)
	}
	if cur, on, _ := p.Fresh(t.Context()); !on || cur.ID != lock.ID {
		t.Fatalf("pause after the refused lift: %+v on %v; want the lockout", cur, on)
	}
}

// Phones parked for a pause go back to the queue when that pause is
// lifted; phones parked for another, or no longer waiting, do not.
func TestLiftRunsOnlyThePhonesParkedForThatPause(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	aq := asynq.NewClientFromRedisClient(rdb)
	for _, p := range start(t, st, "parked1", "other1", "started1") {
		task, err := st.Space().NewTask(fleet.TaskSpec{Action: fleet.ActionStart, ID: p.ID, Gen: p.Gen, Task: p.Task})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := aq.EnqueueContext(ctx, task, asynq.ProcessIn(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	pauses := st.Pauses(nil)
	old, _, err := pauses.Set(ctx, 40007, "", clk.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	one := func(id string) fleet.Phone { p, _ := st.Phone(ctx, id); return p }
	if err := st.Park(ctx, "other1", one("other1").Gen, old.ID); err != nil {
		t.Fatal(err)
	}
	cur, _, err := pauses.Set(ctx, 40014, "locked", clk.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"parked1", "started1"} {
		if err := st.Park(ctx, id, one(id).Gen, cur.ID); err != nil {
			t.Fatal(err)
		}
	}
	// started1's pause ended for it: a worker took it into a call.
	if _, got := claim(t, st, fleet.ActionStart, "started1"); got[0].Verdict != fleet.ClaimGo {
		t.Fatalf("claim: %+v", got)
	}
	res, _, err := pauses.Lift(ctx, cur.ID, "test")
	if err != nil || res.Ran != 1 {
		t.Fatalf("lift: %+v, %v; want 1 phone run", res, err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for id, want := range map[string]asynq.TaskState{"parked1": asynq.TaskStatePending, "other1": asynq.TaskStateScheduled,
		"started1": asynq.TaskStateScheduled} {
		p := one(id)
		ti, err := insp.GetTaskInfo(st.Space().StartQueue(), tasks.TaskID(id, p.Gen, p.Task))
		if err != nil || ti.State != want {
			t.Errorf("%s after the lift: %v (%v), want %v", id, ti.State, err, want)
		}
	}
	if p := one("parked1"); p.Waits != "" {
		t.Errorf("parked1 still waits for %q after the lift", p.Waits)
	}
}

// Current answers from a cache up to a second old; Fresh always asks Redis.
func TestPauseCurrentIsCachedFreshIsNot(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	reader := st.Pauses(nil)
	setter := st.Pauses(nil)
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
	late := st.Pauses(nil)
	if _, _, err := setter.Lift(t.Context(), "", "test"); err != nil {
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
