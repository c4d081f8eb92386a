package schedule

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/internal/redistest"
)

// A scheduler whose lease lapsed and whose tick another took over cannot
// mark the tick done: the other's claim stands until it marks the tick done
// itself. Otherwise the first would hide a tick that the second may yet
// fail to fire.
func TestOnlyTheHolderOfATickMarksItDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t).Client(t)
	now := time.Date(2026, 11, 25, 7, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key := "{phonestart}:schedule:shop:2026-11-25T07:30:00"
	stalled := &guard{rdb: rdb, key: key, holder: "host-a:1:aa:1", now: clock}
	taker := &guard{rdb: rdb, key: key, holder: "host-b:2:bb:1", now: clock}

	if state, _, _, err := stalled.claim(ctx); err != nil || state != guardClaimed {
		t.Fatalf("first claim: %v, %v", state, err)
	}
	now = now.Add(Lease + time.Second) // the first holder stalled past its lease
	if state, _, prev, err := taker.claim(ctx); err != nil || state != guardClaimed || prev != stalled.holder {
		t.Fatalf("takeover: %v, previous %q, %v", state, prev, err)
	}
	takersClaim, _ := rdb.Get(ctx, key).Result()

	if ok, err := stalled.done(ctx); err != nil || ok {
		t.Fatalf("done by the scheduler that lost the tick: %v, %v; want false", ok, err)
	}
	if v, _ := rdb.Get(ctx, key).Result(); v != takersClaim {
		t.Fatalf("after the lost holder's done the guard holds %q, want the taker's claim %q", v, takersClaim)
	}
	// The taker still holds the tick: others wait, it may renew.
	other := &guard{rdb: rdb, key: key, holder: "host-c:3:cc:1", now: clock}
	if state, _, _, err := other.claim(ctx); err != nil || state != guardHeld {
		t.Fatalf("a third scheduler finds %v, %v; want the tick held", state, err)
	}
	if ok, err := taker.renew(ctx); err != nil || !ok {
		t.Fatalf("taker's renewal: %v, %v", ok, err)
	}

	if ok, err := taker.done(ctx); err != nil || !ok {
		t.Fatalf("done by the holder: %v, %v; want true", ok, err)
	}
	if v, _ := rdb.Get(ctx, key).Result(); !strings.HasPrefix(v, "done ") || !strings.HasSuffix(v, taker.holder) {
		t.Fatalf("after the holder's done the guard holds %q", v)
	}
	if ttl, _ := rdb.PTTL(ctx, key).Result(); ttl <= GuardTTL-time.Minute || ttl > GuardTTL {
		t.Fatalf("done mark kept %v, want %v", ttl, GuardTTL)
	}
	if state, _, _, err := other.claim(ctx); err != nil || state != guardDone {
		t.Fatalf("a third scheduler finds %v, %v; want the tick done", state, err)
	}
	// Done twice, or after the guard is gone, writes nothing.
	if ok, _ := stalled.done(ctx); ok {
		t.Fatal("the lost holder marked a done tick done")
	}
	rdb.Del(ctx, key)
	if ok, _ := taker.done(ctx); ok {
		t.Fatal("done with no claim left wrote a done mark")
	}
	if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
		t.Fatal("done with no claim left created the guard")
	}
}
