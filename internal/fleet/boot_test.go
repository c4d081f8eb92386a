package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// A callback's verdict reaches the boot record whatever its options, makes
// the boot due at once, and a later verdict replaces an earlier one; a
// phone that is not booting gets none.
func TestBootVerdict(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	b := fleet.NewBoots(rdb)
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	w := 400
	if err := b.Begin(ctx, t0.Add(10*time.Second),
		fleet.Boot{ID: "plain", Attempt: 1, StartedAt: t0, Deadline: t0.Add(5 * time.Minute)},
		fleet.Boot{ID: "wide", Attempt: 2, Options: geelark.StartOptions{Width: w, HideSideBar: true}, URL: "https://x/wide",
			StartedAt: t0, Deadline: t0.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Count(ctx); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	for _, id := range []string{"plain", "wide"} {
		ok, err := b.Verdict(ctx, id, true, t0.Add(time.Second))
		if err != nil || !ok {
			t.Fatalf("Verdict(%s) = %v, %v", id, ok, err)
		}
	}
	if ok, err := b.Verdict(ctx, "wide", false, t0.Add(time.Second)); err != nil || !ok {
		t.Fatalf("second Verdict = %v, %v", ok, err)
	}
	if ok, err := b.Verdict(ctx, "nobody", true, t0); err != nil || ok {
		t.Fatalf("Verdict of a phone not booting = %v, %v; want false", ok, err)
	}
	// Due at once: a claim a second after the callback takes both.
	got, _, err := b.Claim(ctx, t0.Add(time.Second), 10, time.Minute, fleet.Checks{Poll: 10 * time.Second})
	if err != nil || len(got) != 2 {
		t.Fatalf("Claim = %+v, %v; want both boots", got, err)
	}
	byID := map[string]fleet.Boot{}
	for _, bt := range got {
		byID[bt.ID] = bt
	}
	if v := byID["plain"].Verdict; v != fleet.VerdictReady {
		t.Errorf("plain verdict %q, want %q", v, fleet.VerdictReady)
	}
	wide := byID["wide"]
	if wide.Verdict != fleet.VerdictFailed || wide.Options.Width != w || !wide.Options.HideSideBar || wide.URL != "https://x/wide" || wide.Attempt != 2 {
		t.Errorf("wide boot %+v: want verdict failed and the rest kept", wide)
	}
	// Claimed boots are held for the lease.
	if again, _, _ := b.Claim(ctx, t0.Add(2*time.Second), 10, time.Minute, fleet.Checks{Poll: 10 * time.Second}); len(again) != 0 {
		t.Errorf("claimed again within the lease: %+v", again)
	}
	if err := b.Done(ctx, "plain", "wide"); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Count(ctx); n != 0 {
		t.Errorf("Count after Done = %d", n)
	}
	if _, ok, err := b.Get(ctx, "plain"); ok || err != nil {
		t.Errorf("Get after Done = %v, %v", ok, err)
	}
}
