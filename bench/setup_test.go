package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// newRedis returns a client of a fresh Redis database (REDIS_URL, or an
// embedded server) with the pool the phonestart command gives its clients.
func newRedis(b testing.TB) (*redistest.Redis, *redis.Client) {
	b.Helper()
	r := redistest.New(b)
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		b.Fatal(err)
	}
	opt.PoolSize = max(opt.PoolSize, 64)
	rdb := redis.NewClient(opt)
	b.Cleanup(func() { rdb.Close() })
	return r, rdb
}

// newAPI starts a fake GeeLark API and returns it with a client of it.
func newAPI(b testing.TB, cfg geelarktest.Config) (*geelarktest.Server, *geelark.Client) {
	b.Helper()
	fake := geelarktest.NewServer(cfg)
	b.Cleanup(fake.Close)
	api, err := geelark.NewClient(geelark.Config{BaseURL: fake.URL,
		AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey})
	if err != nil {
		b.Fatal(err)
	}
	return fake, api
}

// enqueuePhones enqueues ids with opts and checks that each was.
func enqueuePhones(b testing.TB, rdb *redis.Client, ids []string, opts geelark.StartOptions) {
	b.Helper()
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	rep, err := enq.Start(context.Background(), enqueue.Request{IDs: ids, Options: opts})
	if err != nil || rep.Enqueued != len(ids) {
		b.Fatalf("enqueue: %d of %d enqueued: %v", rep.Enqueued, len(ids), err)
	}
}

// phoneIDs returns n phone IDs that start with prefix.
func phoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return ids
}

// waitUntil polls cond every 2ms until it holds, and fails the benchmark
// after timeout.
func waitUntil(b testing.TB, timeout time.Duration, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// parallel runs f(i) for i in 0..n-1 on 16 goroutines.
func parallel(n int, f func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
