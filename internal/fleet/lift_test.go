package fleet_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/internal/fleet"
)

// A phone parked for a pause by a handler that has not yet handed its task
// back to asynq when the pause is lifted (the task still active) runs as
// soon as the handler lets go: it does not wait out the lifted pause in
// asynq's retry set.
func TestLiftRunsATaskItsHandlerStillHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	pauses := st.Pauses(nil)
	pz, _, err := pauses.Set(ctx, 41001, "balance not enough", clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, st, "held1")[0]
	task, err := st.Space().NewTask(fleet.TaskSpec{Action: fleet.ActionStart, ID: p.ID, Gen: p.Gen, Task: p.Task})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(rdb).EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	parked, release, again := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 1, Queues: map[string]int{st.Space().StartQueue(): 1},
		// Parked: back when the pause ends, an hour from now.
		RetryDelayFunc:    func(int, error, *asynq.Task) time.Duration { return time.Hour },
		TaskCheckInterval: 50 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	handler := asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		if runs.Add(1) > 1 {
			close(again)
			return nil
		}
		if err := st.Park(ctx, p.ID, p.Gen, pz.ID); err != nil {
			t.Error(err)
		}
		close(parked)
		<-release
		return errors.New("waiting out the pause")
	})
	if err := srv.Start(handler); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	<-parked
	// The lift comes while the handler holds the task; the handler lets go
	// of it a moment later.
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	res, _, err := pauses.Lift(ctx, pz.ID, "ops@test")
	if err != nil || res.Ran != 1 {
		t.Fatalf("lift: %+v, %v; want the parked phone's task run", res, err)
	}
	select {
	case <-again:
	case <-time.After(30 * time.Second):
		t.Fatal("the parked phone's task waits out the lifted pause")
	}
}

// A fleet pause holds status calls too: a worker puts the next check of a
// booting phone off until the pause's end. A lift ends that wait as it ends
// the pause: the boot is due at once, not when the lifted pause would have
// ended.
func TestLiftMakesTheBootsThePauseHeldBackDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	checks := fleet.Checks{Poll: time.Second}
	toBooting(t, st, clk.Now().Add(time.Second), "held1", "later1")
	pz, _, err := st.Pauses(nil).Set(ctx, 41001, "balance not enough", clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	due, _, err := st.ClaimBoots(ctx, 10, time.Minute, checks)
	if err != nil || len(due) != 2 {
		t.Fatalf("claim: %d boots, %v", len(due), err)
	}
	// The status call is not admitted: held1 is checked at the pause's
	// end; later1 was checked, and is due again in two minutes.
	var ss []fleet.BootSettle
	for _, p := range due {
		at := pz.Until
		if p.ID == "later1" {
			at = clk.Now().Add(2 * time.Minute)
		}
		ss = append(ss, fleet.BootSettle{ID: p.ID, Ver: p.Ver, To: fleet.BootLater, Due: at})
	}
	if _, err := st.SettleBoots(ctx, 0, ss); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got, _, _ := st.ClaimBoots(ctx, 10, time.Minute, checks); len(got) != 0 {
		t.Fatalf("claimed %d boots during the pause", len(got))
	}
	if _, _, err := st.Pauses(nil).Lift(ctx, pz.ID, "ops@test"); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.ClaimBoots(ctx, 10, time.Minute, checks)
	if err != nil || len(got) != 1 || got[0].ID != "held1" {
		t.Fatalf("claim after the lift: %+v, %v; want held1 alone", got, err)
	}
}

// A pause extended while a boot waits for its end takes the boot with it:
// a lift of the longer pause makes that boot due too, not only the boots
// put off after the extension.
func TestLiftMakesDueTheBootsAnExtendedPauseHeldBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	checks := fleet.Checks{Poll: time.Second}
	toBooting(t, st, clk.Now().Add(time.Second), "held1")
	first, _, err := st.Pauses(nil).Set(ctx, 41001, "balance not enough", clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	due, _, err := st.ClaimBoots(ctx, 10, time.Minute, checks)
	if err != nil || len(due) != 1 {
		t.Fatalf("claim: %d boots, %v", len(due), err)
	}
	if _, err := st.SettleBoots(ctx, 0, []fleet.BootSettle{{ID: "held1", Ver: due[0].Ver, To: fleet.BootLater, Due: first.Until}}); err != nil {
		t.Fatal(err)
	}
	longer, changed, err := st.Pauses(nil).Set(ctx, 41001, "balance not enough", clk.Now().Add(2*time.Hour))
	if err != nil || !changed || longer.ID == first.ID {
		t.Fatalf("extending the pause: %+v changed=%v, %v", longer, changed, err)
	}
	if _, _, err := st.Pauses(nil).Lift(ctx, longer.ID, "ops@test"); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.ClaimBoots(ctx, 10, time.Minute, checks)
	if err != nil || len(got) != 1 || got[0].ID != "held1" {
		t.Fatalf("claim after lifting the extended pause: %+v, %v; want held1 (it waited for the first pause's end)", got, err)
	}
}
