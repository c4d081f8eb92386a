package fleet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// A boot claimed by a worker whose lease lapsed, then by another, is
// settled by the newest claim alone, whichever settle comes first: the
// stale claim's settle writes nothing, and the phone has one ready event.
func TestStaleBootClaimSettlesNothing(t *testing.T) {
	t.Parallel()
	for _, staleFirst := range []bool{true, false} {
		ctx := context.Background()
		clk := newFakeClock()
		st, _ := newStore(t, clk)
		checks := fleet.Checks{Poll: time.Second}
		toBooting(t, st, clk.Now().Add(time.Second), "p1")
		clk.Advance(time.Second)
		stale, _, err := st.ClaimBoots(ctx, 10, 5*time.Second, checks)
		if err != nil || len(stale) != 1 {
			t.Fatalf("first claim: %d phones, %v", len(stale), err)
		}
		clk.Advance(6 * time.Second) // its lease lapsed: another worker claims the boot
		fresh, _, err := st.ClaimBoots(ctx, 10, 5*time.Second, checks)
		if err != nil || len(fresh) != 1 || fresh[0].Ver <= stale[0].Ver {
			t.Fatalf("second claim: %+v, %v; want the boot at a newer version", fresh, err)
		}
		settle := func(p fleet.Phone) bool {
			t.Helper()
			res, err := st.SettleBoots(ctx, 0, []fleet.BootSettle{{ID: p.ID, Ver: p.Ver, To: fleet.BootReady}})
			if err != nil {
				t.Fatal(err)
			}
			return res[0].OK
		}
		var staleOK, freshOK bool
		if staleFirst {
			staleOK, freshOK = settle(stale[0]), settle(fresh[0])
		} else {
			freshOK, staleOK = settle(fresh[0]), settle(stale[0])
		}
		if staleOK || !freshOK {
			t.Errorf("stale settle first %v: stale settle took effect %v, newest %v; want only the newest", staleFirst, staleOK, freshOK)
		}
		if p, _ := st.Phone(ctx, "p1"); p.State != fleet.StateReady {
			t.Errorf("stale settle first %v: record %s, want ready", staleFirst, p.State)
		}
		evs, err := st.Events().Read(ctx, "0", 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, e := range evs {
			if e.Event == fleet.EventReady {
				ready++
			}
		}
		if ready != 1 {
			t.Errorf("stale settle first %v: %d ready events, want 1", staleFirst, ready)
		}
	}
}

// A lift that names the pause it read, after another pause replaced it,
// ends nothing: it answers ErrPauseChanged with the pause in force, which
// stays, with the phones parked for it; no lift is recorded.
func TestLiftNamingAReplacedPauseKeepsTheNewOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	pauses := st.Pauses(nil)
	a, _, err := pauses.Set(ctx, geelark.CodeTooManyRequests, "too many", clk.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b, changed, err := st.Pauses(nil).Set(ctx, 41001, "balance not enough", clk.Now().Add(time.Hour))
	if err != nil || !changed || b.ID == a.ID {
		t.Fatalf("second pause: %+v changed %v, %v; want a new one", b, changed, err)
	}
	p := start(t, st, "parked1")[0]
	task, err := st.Space().NewTask(fleet.TaskSpec{Action: fleet.ActionStart, ID: p.ID, Gen: p.Gen, Task: p.Task})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(rdb).EnqueueContext(ctx, task, asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Park(ctx, p.ID, p.Gen, b.ID); err != nil {
		t.Fatal(err)
	}

	res, cur, err := pauses.Lift(ctx, a.ID, "ops@test")
	if !errors.Is(err, fleet.ErrPauseChanged) || res.Lifted.ID != "" || res.Ran != 0 || cur.ID != b.ID {
		t.Fatalf("lift of the replaced pause: %+v, in force %+v, %v; want ErrPauseChanged naming the new one", res, cur, err)
	}
	if now, on, err := st.Pauses(nil).Fresh(ctx); err != nil || !on || now.ID != b.ID || now.Code != 41001 {
		t.Fatalf("pause after the refused lift: %+v on %v, %v; want the new one", now, on, err)
	}
	if ph, _ := st.Phone(ctx, p.ID); ph.Waits != b.ID {
		t.Errorf("the parked phone waits for %q, want the pause in force %q", ph.Waits, b.ID)
	}
	ti, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo(st.Space().StartQueue(), tasks.TaskID(p.ID, p.Gen, p.Task))
	if err != nil || ti.State != asynq.TaskStateScheduled {
		t.Errorf("the parked phone's task: %v, %v; want still scheduled", ti, err)
	}
	if l, ok, err := fleet.LastLift(ctx, rdb, st.Space()); err != nil || ok {
		t.Errorf("a lift recorded: %+v, %v", l, err)
	}
}
