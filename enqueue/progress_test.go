package enqueue_test

import (
	"fmt"
	"testing"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/redistest"
)

func TestProgressCountsUpToTheDistinctPhones(t *testing.T) {
	rdb := redistest.New(t).Client(t)
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, Parallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, 1201)
	for i := range 1200 {
		ids = append(ids, fmt.Sprintf("progress%04d", i))
	}
	ids = append(ids, ids[0]) // given twice: one phone
	var seen []int
	totals := map[int]bool{}
	rep, err := enq.Start(t.Context(), enqueue.Request{IDs: ids, Progress: func(done, total int) {
		seen = append(seen, done) // calls are never concurrent: no lock
		totals[total] = true
	}})
	if err != nil || rep.Enqueued != 1200 {
		t.Fatalf("Start: %+v, %v", rep, err)
	}
	if len(totals) != 1 || !totals[1200] {
		t.Errorf("totals %v, want only 1200", totals)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 1200 {
		t.Fatalf("progress %v: want it to end at 1200", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("progress went %d then %d: not counting up", seen[i-1], seen[i])
		}
	}
}
