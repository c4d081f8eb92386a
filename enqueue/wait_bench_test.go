package enqueue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
)

// BenchmarkWait measures how long Wait takes to return the outcome of a
// request of 10,000 phones that have all ended (half ready, half dead): the
// cost of reading the request and its outcomes, not of any waiting. It
// reports ms per 10,000 phones.
func BenchmarkWait(b *testing.B) {
	rdb := benchRedis(b)
	ctx := context.Background()
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	round := 0
	for b.Loop() {
		b.StopTimer()
		ids := phoneIDs(fmt.Sprintf("wait%d-", round), n)
		round++
		rep, err := enq.Start(ctx, enqueue.Request{IDs: ids})
		if err != nil {
			b.Fatal(err)
		}
		// What the workers do: each phone's call ends it.
		for lo := 0; lo < n; lo += 500 {
			if err := endCall(ctx, store, ids[lo:lo+500]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		began := time.Now()
		out, err := enq.Wait(ctx, rep.Request, enqueue.WaitOptions{Timeout: time.Minute})
		if err != nil || len(out.Ready) != n/2 || len(out.Dead) != n/2 {
			b.Fatalf("Wait: %d ready, %d dead, %d unfinished, %v", len(out.Ready), len(out.Dead), len(out.Unfinished), err)
		}
		b.ReportMetric(float64(time.Since(began).Milliseconds()), "ms/10k-phones")
	}
}

// endCall takes ids through one start call: every other phone ready, the
// rest dead.
func endCall(ctx context.Context, store *fleet.Store, ids []string) error {
	ps, err := store.Phones(ctx, ids...)
	if err != nil {
		return err
	}
	cs := make([]fleet.Claim, len(ps))
	ss := make([]fleet.Settle, len(ps))
	for i, p := range ps {
		cs[i] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
		ss[i] = fleet.Settle{ID: p.ID, Gen: p.Gen, To: fleet.ToReady}
		if i%2 == 1 {
			ss[i] = fleet.Settle{ID: p.ID, Gen: p.Gen, To: fleet.ToDead, Code: 42001, Reason: fleet.ReasonGeeLark}
		}
	}
	token := fleet.NewToken(fleet.ActionStart)
	if _, err := store.ClaimCall(ctx, fleet.ActionStart, token, cs); err != nil {
		return err
	}
	_, err = store.SettleCall(ctx, fleet.ActionStart, token, 0, ss)
	return err
}
