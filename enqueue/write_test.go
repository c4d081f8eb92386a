package enqueue

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

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
