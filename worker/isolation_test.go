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

// startCalls returns the fake's start calls.
func startCalls(fake *geelarktest.Server) []geelarktest.Call {
	var out []geelarktest.Call
	for _, c := range fake.Calls() {
		if c.Path == geelark.StartPath {
			out = append(out, c)
		}
	}
	return out
}

// One phone that makes GeeLark refuse a whole call (40004) costs only
// itself: the call is split in halves down to that phone, the 199 others
// start, and the split costs at most 1 + 2·⌈log2 200⌉ = 17 calls.
func TestOneBadIDAmong200IsIsolated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, geelarktest.Config{})
	ids := phoneIDs("poison", 200)
	bad := ids[137]
	e.fake.Poison(bad, 40004)
	e.enqueue(enqueue.Request{IDs: ids})
	cfg := e.fastConfig()
	cfg.BatchWait = 10 * time.Minute // only size cuts the batch: all 200 in the first call, however slow asynq is
	e.startWorker(cfg)
	st := e.waitSettled(ids, 3*time.Minute)

	for _, id := range ids {
		want := fleet.StateReady
		if id == bad {
			want = fleet.StateDead
		}
		if st[id] != want {
			t.Errorf("%s: %s, want %s", id, st[id], want)
		}
		if id != bad && e.fake.Starts(id) != 1 {
			t.Errorf("%s started %d times", id, e.fake.Starts(id))
		}
	}
	calls := startCalls(e.fake)
	if len(calls[0].IDs) != 200 {
		t.Fatalf("first call carried %d IDs, want 200", len(calls[0].IDs))
	}
	if len(calls) > 17 {
		t.Errorf("%d start calls, want at most 17", len(calls))
	}
	dead, err := e.store.Ledger().Get(context.Background(), ids...)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ID != bad || dead[0].Code != 40004 || dead[0].Reason != fleet.ReasonGeeLark {
		t.Fatalf("ledger: %+v, want only %s with 40004", dead, bad)
	}
	t.Logf("%d start calls for 200 phones with one bad", len(calls))
}
