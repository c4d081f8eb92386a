package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
)

// refusingAPI is a fake GeeLark that answers every call 40003, as it does a
// worker holding a stale key.
func (e *env) refusingAPI() *geelark.Client {
	e.t.Helper()
	bad := geelarktest.NewServer(geelarktest.Config{})
	e.t.Cleanup(bad.Close)
	bad.SetFaults(func(int) geelarktest.Fault { return geelarktest.Fault{Kind: geelarktest.FaultCode, Code: 40003} })
	api, err := geelark.NewClient(geelark.Config{BaseURL: bad.URL, AppID: "test-app", APIKey: "test-key"})
	if err != nil {
		e.t.Fatal(err)
	}
	return api
}

// One worker refused with 40003 (a stale key) next to a good one: the bad
// one hands its phones to the good one, which starts them all and is never
// paused; nothing is dead and no fleet pause is set.
func TestOneRefusedWorkerDoesNotPauseTheFleet(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("4,000 phones through two workers: runs without -short")
	}
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("refuse", 4000)
	e.enqueue(enqueue.Request{IDs: ids})
	badCfg := e.fastConfig()
	badCfg.API, badCfg.Status = e.refusingAPI(), nil
	badCfg.Redis = e.r.Client(t)
	bad := e.startWorker(badCfg)
	// The bad worker takes the first phones.
	waitFor(t, 10*time.Second, func() bool { return bad.Stats().Calls > 0 })
	good := e.startWorker(e.fastConfig())

	st := e.waitSettled(ids, 3*time.Minute)
	for _, id := range ids {
		if st[id] != fleet.StateReady || e.fake.Starts(id) != 1 {
			t.Fatalf("%s: %s, started %d times by the good API", id, st[id], e.fake.Starts(id))
		}
	}
	ctx := context.Background()
	if n, err := e.store.Ledger().Count(ctx); err != nil || n != 0 {
		t.Errorf("%d dead phones (%v), want 0", n, err)
	}
	if p, on, err := fleet.CurrentPause(ctx, e.rdb, fleet.Space{}, time.Now()); err != nil || on || p.Code != 0 {
		t.Errorf("fleet pause %+v (on %v, %v): one worker's refusal paused the fleet", p, on, err)
	}
	if s := good.Stats(); s.Paused != 0 {
		t.Errorf("the good worker sent %d phones back to wait out a pause", s.Paused)
	}
	if s := bad.Stats(); s.Calls == 0 || s.Started != 0 {
		t.Errorf("bad worker: %d calls, %d started; want refused calls and none started", s.Calls, s.Started)
	}
}

// When every live worker is refused, the problem is the account's: the
// fleet pauses as for any account-wide code.
func TestEveryWorkerRefusedPausesTheFleet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("allref", 50)
	e.enqueue(enqueue.Request{IDs: ids})
	api := e.refusingAPI()
	for range 2 {
		cfg := e.fastConfig()
		cfg.API, cfg.Status, cfg.Redis = api, nil, e.r.Client(t)
		e.startWorker(cfg)
	}
	ctx := context.Background()
	var p fleet.Pause
	waitFor(t, 30*time.Second, func() bool {
		var on bool
		p, on, _ = fleet.CurrentPause(ctx, e.rdb, fleet.Space{}, time.Now())
		return on
	})
	if p.Code != 40003 || p.Class() != geelark.ClassAccount {
		t.Fatalf("fleet pause %+v, want 40003 account-wide", p)
	}
	if n, _ := e.store.Ledger().Count(ctx); n != 0 {
		t.Errorf("%d phones dead while the account waits", n)
	}
}
