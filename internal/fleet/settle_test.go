package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// A start asked for again (after a stop that never went out) while the
// first start's call is out waits for that call, and is settled by it: the
// call started the phone for it. Its own task then does nothing.
func TestAStartWaitingForAStartCallIsSettledByIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	first := start(t, st, "p1")[0]
	token, got := claim(t, st, fleet.ActionStart, "p1")
	if got[0].Verdict != fleet.ClaimGo {
		t.Fatalf("claim: %+v", got)
	}
	place(t, st, fleet.Intent{Action: fleet.ActionStop}, "p1")
	second := place(t, st, fleet.Intent{Action: fleet.ActionStart, StopAfter: time.Minute}, "p1")[0]
	if !second.New || second.Gen == first.Gen {
		t.Fatalf("second start: %+v, want a new intent", second)
	}
	if _, got := claim(t, st, fleet.ActionStart, "p1"); got[0].Verdict != fleet.ClaimWait {
		t.Fatalf("claim of the second start while the first call is out: %s, want %s", got[0].Verdict, fleet.ClaimWait)
	}
	res, err := st.SettleCall(ctx, fleet.ActionStart, token, 0,
		[]fleet.Settle{{ID: "p1", Gen: first.Gen, To: fleet.ToReady, URL: "https://x"}})
	if err != nil || res[0].Outcome != fleet.SettledOK || res[0].Gen != second.Gen || res[0].Task != second.Task ||
		!res[0].Guard.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("settle of the first call: %+v, %v; want the second start settled, with its stop-after", res, err)
	}
	if p, _ := st.Phone(ctx, "p1"); p.State != fleet.StateReady || p.Gen != second.Gen || p.Call != "" {
		t.Fatalf("record %+v, want ready at the second start", p)
	}
	if _, got := claim(t, st, fleet.ActionStart, "p1"); got[0].Verdict != fleet.ClaimNoop {
		t.Fatalf("claim of the second start's task after: %s, want %s", got[0].Verdict, fleet.ClaimNoop)
	}
}

// When the first start's task comes round again instead (its worker gone
// before it settled the call), the call is over: the start waiting for it
// goes on, checked first, since that call may have started the phone.
func TestAStartWaitingForALostStartCallIsCheckedFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	first := start(t, st, "p1")[0]
	if _, got := claim(t, st, fleet.ActionStart, "p1"); got[0].Verdict != fleet.ClaimGo {
		t.Fatalf("claim: %+v", got)
	}
	place(t, st, fleet.Intent{Action: fleet.ActionStop}, "p1")
	place(t, st, fleet.Intent{Action: fleet.ActionStart}, "p1")
	got, err := st.ClaimCall(ctx, fleet.ActionStart, fleet.NewToken(fleet.ActionStart),
		[]fleet.Claim{{ID: "p1", Gen: first.Gen, Task: first.Task}})
	if err != nil || got[0].Verdict != fleet.ClaimNoop {
		t.Fatalf("the first start's task again: %+v, %v; want it stale", got, err)
	}
	if _, got := claim(t, st, fleet.ActionStart, "p1"); got[0].Verdict != fleet.ClaimCheck {
		t.Fatalf("claim of the second start: %s, want %s", got[0].Verdict, fleet.ClaimCheck)
	}
}
