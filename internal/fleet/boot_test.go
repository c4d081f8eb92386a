package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// A callback's verdict reaches a booting phone whatever its options, makes
// it due at once, and a later verdict replaces an earlier one; a phone that
// is not booting gets none. A claim holds the phones for its lease.
func TestBootVerdict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	w := 400
	toBooting(t, st, clk.Now().Add(10*time.Second), "plain")
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Options: geelark.StartOptions{Width: w, HideSideBar: true}}, "wide")
	token, _ := claim(t, st, fleet.ActionStart, "wide")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, URL: "https://x/wide", Due: clk.Now().Add(10 * time.Second),
		Deadline: clk.Now().Add(5 * time.Minute)}, "wide")
	if c, err := st.Counts(ctx); err != nil || c.ByState[fleet.StateBooting] != 2 {
		t.Fatalf("Counts = %+v, %v; want 2 booting", c, err)
	}
	for _, id := range []string{"plain", "wide"} {
		ok, err := st.Verdict(ctx, id, true)
		if err != nil || !ok {
			t.Fatalf("Verdict(%s) = %v, %v", id, ok, err)
		}
	}
	if ok, err := st.Verdict(ctx, "wide", false); err != nil || !ok {
		t.Fatalf("second Verdict = %v, %v", ok, err)
	}
	if ok, err := st.Verdict(ctx, "nobody", true); err != nil || ok {
		t.Fatalf("Verdict of a phone not booting = %v, %v; want false", ok, err)
	}
	// Due at once: a claim a second after the callback takes both.
	clk.Advance(time.Second)
	got, _, err := st.ClaimBoots(ctx, 10, time.Minute, fleet.Checks{Poll: 10 * time.Second})
	if err != nil || len(got) != 2 {
		t.Fatalf("ClaimBoots = %+v, %v; want both", got, err)
	}
	byID := map[string]fleet.Phone{}
	for _, p := range got {
		byID[p.ID] = p
	}
	if v := byID["plain"].Boot.Verdict; v != fleet.VerdictReady {
		t.Errorf("plain verdict %q, want %q", v, fleet.VerdictReady)
	}
	wide := byID["wide"]
	if wide.Boot.Verdict != fleet.VerdictFailed || wide.Options.Width != w || !wide.Options.HideSideBar || wide.URL != "https://x/wide" || wide.Attempt != 1 {
		t.Errorf("wide %+v: want verdict failed and the rest kept", wide)
	}
	// Claimed phones are held for the lease.
	if again, _, err := st.ClaimBoots(ctx, 10, time.Minute, fleet.Checks{Poll: 10 * time.Second}); err != nil || len(again) != 0 {
		t.Fatalf("second claim within the lease = %d phones, %v; want none", len(again), err)
	}
}

// A boot check settles only at the version its claim left: a worker whose
// claim lapsed, and was taken over, writes nothing, so a boot is settled
// once (one ready event), however many workers checked it.
func TestAStaleBootClaimCannotSettle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	checks := fleet.Checks{Poll: time.Second}
	toBooting(t, st, clk.Now().Add(time.Second), "p1")
	clk.Advance(time.Second)
	first, _, err := st.ClaimBoots(ctx, 10, 5*time.Second, checks)
	if err != nil || len(first) != 1 {
		t.Fatalf("first claim: %d phones, %v", len(first), err)
	}
	clk.Advance(6 * time.Second) // the first claim's lease lapsed
	second, _, err := st.ClaimBoots(ctx, 10, 5*time.Second, checks)
	if err != nil || len(second) != 1 {
		t.Fatalf("second claim: %d phones, %v", len(second), err)
	}
	res, err := st.SettleBoots(ctx, 0, []fleet.BootSettle{{ID: "p1", Ver: first[0].Ver, To: fleet.BootRetry,
		Reason: fleet.ReasonBootTimeout, Due: clk.Now()}})
	if err != nil || res[0].OK {
		t.Fatalf("the lapsed claim's settle: %+v, %v; want it refused", res, err)
	}
	res, err = st.SettleBoots(ctx, 0, []fleet.BootSettle{{ID: "p1", Ver: second[0].Ver, To: fleet.BootReady}})
	if err != nil || !res[0].OK {
		t.Fatalf("the live claim's settle: %+v, %v", res, err)
	}
	res, err = st.SettleBoots(ctx, 0, []fleet.BootSettle{{ID: "p1", Ver: second[0].Ver, To: fleet.BootReady}})
	if err != nil || res[0].OK {
		t.Fatalf("a second settle of the same claim: %+v, %v; want it refused", res, err)
	}
	if p, _ := st.Phone(ctx, "p1"); p.State != fleet.StateReady || p.Task != 1 {
		t.Fatalf("record %+v, want ready on its first task", p)
	}
	evs, err := st.Events().Read(ctx, "0", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, e := range evs {
		if e.Event == fleet.EventReady || e.Event == fleet.EventRetry {
			ready++
		}
	}
	if ready != 1 {
		t.Fatalf("%d ready or retry events, want the one of the live claim", ready)
	}
}
