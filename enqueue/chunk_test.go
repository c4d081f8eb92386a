package enqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The per-chunk step sees each newly enqueued phone once, in chunks of at
// most chunkSize, and never a duplicate; a chunk of duplicates only
// doesn't run it.
func TestAfterChunkGetsTheNewlyEnqueuedPhones(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Redis: redistest.New(t).Client(t), Parallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var chunks [][]string
	c.afterChunk = func(_ context.Context, ids []string) error {
		mu.Lock()
		defer mu.Unlock()
		chunks = append(chunks, slices.Clone(ids))
		return nil
	}
	ids := make([]string, 2*chunkSize+10)
	for i := range ids {
		ids[i] = fmt.Sprintf("chunk%05d", i)
	}
	if _, err := c.Start(t.Context(), Request{IDs: ids[:chunkSize]}); err != nil {
		t.Fatal(err)
	}
	chunks = nil

	rep, err := c.Start(t.Context(), Request{IDs: ids})

	if err != nil || rep.Enqueued != len(ids)-chunkSize {
		t.Fatalf("Start = %+v, %v", rep.Enqueued, err)
	}
	var seen []string
	for _, ch := range chunks {
		if len(ch) == 0 || len(ch) > chunkSize {
			t.Errorf("a chunk of %d phones, want 1 to %d", len(ch), chunkSize)
		}
		seen = append(seen, ch...)
	}
	slices.Sort(seen)
	if want := ids[chunkSize:]; !slices.Equal(seen, want) {
		t.Errorf("the step saw %d phones, want each of the %d newly enqueued once", len(seen), len(want))
	}
	if len(chunks) != 2 {
		t.Errorf("the step ran %d times, want twice (not for the first chunk, all duplicates; for the second, and the third of 10)", len(chunks))
	}
}

func TestAfterChunkErrorFailsStart(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Redis: redistest.New(t).Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("ledger unreachable")
	c.afterChunk = func(context.Context, []string) error { return boom }
	rep, err := c.Start(t.Context(), Request{IDs: []string{"p1", "p2"}})
	if !errors.Is(err, boom) || rep.Enqueued != 2 {
		t.Errorf("Start = %+v, %v; want 2 enqueued and the step's error", rep, err)
	}
}

// Start's writes share round trips on a go-redis client: without that it
// is no faster than a few goroutines calling asynq's Enqueue.
func TestWritesAreBatchedOnAGoRedisClient(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { rdb.Close() })
	w := batched(rdb)
	if _, ok := w.(*redis.AutoPipeliner); !ok {
		t.Errorf("asynq writes through a %T, want go-redis's *redis.AutoPipeliner", w)
	}
}
