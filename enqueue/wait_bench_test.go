package enqueue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
)

// BenchmarkWait measures how long Wait takes to settle 10,000 phones whose
// outcomes (half ready, half dead) are all in the stream: the cost of
// reading the stream and the phones' states, not of any waiting. It
// reports ms per 10,000 phones.
func BenchmarkWait(b *testing.B) {
	rdb := benchRedis(b)
	ctx := context.Background()
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	ids := make([]string, n)
	evs := make([]fleet.Event, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("wait%06d", i)
		evs[i] = fleet.Event{Phone: ids[i], Event: fleet.EventReady}
		if i%2 == 1 {
			evs[i] = fleet.Event{Phone: ids[i], Event: fleet.EventDead, Code: 42001, Reason: fleet.ReasonGeeLark}
		}
	}
	j := fleet.NewJournal(rdb, 0)
	for b.Loop() {
		b.StopTimer()
		mark, err := enq.Mark(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for lo := 0; lo < n; lo += 1000 {
			if err := j.Record(ctx, evs[lo:lo+1000]...); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		began := time.Now()
		out, err := enq.Wait(ctx, ids, enqueue.WaitOptions{After: mark, Timeout: time.Minute})
		if err != nil || len(out.Ready) != n/2 || len(out.Dead) != n/2 {
			b.Fatalf("Wait: %d ready, %d dead, %d unfinished, %v", len(out.Ready), len(out.Dead), len(out.Unfinished), err)
		}
		b.ReportMetric(float64(time.Since(began).Milliseconds()), "ms/10k-phones")
	}
}
