package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// A worker reads the fleet pause from a cache up to a second old. A phone
// it takes just after a lift, while its cache still holds the lifted pause,
// is sent back to look again, not parked until the lifted pause would have
// ended: the phone the lift ran, and phones enqueued right after it, start.
func TestPhoneTakenJustAfterALiftDoesNotWaitOutThePause(t *testing.T) {
	clk := newClock(0.1) // the worker's cached second lasts ten
	e := newEnv(t, geelarktest.Config{})
	ctx := context.Background()
	pauses := e.store.Pauses(clk.Now)
	pz, _, err := pauses.Set(ctx, 41001, "balance not enough", clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.fastConfig()
	cfg.Now = clk.Now
	e.startWorker(cfg)
	first := "parkedfirst"
	e.enqueue(enqueue.Request{IDs: []string{first}})
	waitFor(t, 30*time.Second, func() bool { return e.phone(first).Waits == pz.ID })
	if res, _, err := pauses.Lift(ctx, pz.ID, "ops@test"); err != nil || res.Ran != 1 {
		t.Fatalf("lift: %+v, %v; want the parked phone run", res, err)
	}
	ids := append(phoneIDs("afterlift", 5), first)
	e.enqueue(enqueue.Request{IDs: ids[:5]})
	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady || e.fake.Starts(id) != 1 {
			t.Errorf("%s: %s, started %d times", id, st[id], e.fake.Starts(id))
		}
	}
}
