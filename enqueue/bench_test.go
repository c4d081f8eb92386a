package enqueue_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
	"github.com/redis/go-redis/v9"
)

// benchRedis returns a client of a fresh Redis (REDIS_URL or miniredis)
// with the pool the phonestart command gives its clients.
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	opt, err := redis.ParseURL(redistest.New(b).URL)
	if err != nil {
		b.Fatal(err)
	}
	opt.PoolSize = max(opt.PoolSize, 64)
	rdb := redis.NewClient(opt)
	b.Cleanup(func() { rdb.Close() })
	return rdb
}

// clearPending deletes the phonestart queue's pending tasks, and only them,
// so that the queue the next run writes to is as short as the first's.
// (Start's records stay: each run of it enqueues phones of its own.)
func clearPending(b *testing.B, insp *asynq.Inspector, want int) {
	b.Helper()
	n, err := insp.DeleteAllPendingTasks(tasks.Queue)
	if err != nil {
		b.Fatal(err)
	}
	if n != want {
		b.Fatalf("deleted %d pending tasks, want %d", n, want)
	}
}

// plainLoopGoroutines is how many goroutines the concurrent plain asynq
// loop of BenchmarkEnqueue runs.
const plainLoopGoroutines = 8

// BenchmarkEnqueue enqueues 100,000 phones with Client.Start (a record and
// a task each), then 100,000 tasks with plain asynq Client.Enqueue loops:
// one Enqueue after another (what a simple producer does), and 8
// goroutines sharing the IDs. All on the same Redis, in the same run; it
// prints each rate and Start's ratio to each loop.
//
// On miniredis it enqueues 10,000: miniredis prepends to a list by copying
// it, so 100,000 would take minutes, and it runs one command at a time, so
// its figures say little about a real server. Set REDIS_URL for figures
// that mean something.
func BenchmarkEnqueue(b *testing.B) {
	n := 100_000
	if os.Getenv("REDIS_URL") == "" {
		n = 10_000
	}
	b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) { benchEnqueue(b, n) })
}

func benchEnqueue(b *testing.B, n int) {
	rdb := benchRedis(b)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	aq := asynq.NewClientFromRedisClient(rdb)
	ctx := context.Background()
	ids := phoneIDs("bench-", n)
	opts := geelark.StartOptions{Width: 400}
	plain := func(id string) {
		task, err := tasks.NewStartTask(id, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := aq.EnqueueContext(ctx, task); err != nil {
			b.Fatalf("Enqueue %s: %v", id, err)
		}
	}
	// timed runs f, checks that it enqueued the n phones, deletes them,
	// and returns how long f took.
	timed := func(f func()) time.Duration {
		t0 := time.Now()
		f()
		took := time.Since(t0)
		b.StopTimer()
		clearPending(b, insp, n)
		b.StartTimer()
		return took
	}

	var start, seq, conc time.Duration
	round := 0
	for b.Loop() {
		// Start's phones of an earlier round are duplicates: new ones.
		fresh := phoneIDs(fmt.Sprintf("bench%d-", round), n)
		round++
		start += timed(func() {
			rep, err := enq.Start(ctx, enqueue.Request{IDs: fresh, Options: opts})
			if err != nil || rep.Enqueued != n {
				b.Fatalf("Start: %d enqueued, %v", rep.Enqueued, err)
			}
		})
		seq += timed(func() {
			for _, id := range ids {
				plain(id)
			}
		})
		conc += timed(func() {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range plainLoopGoroutines {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
						plain(ids[i])
					}
				})
			}
			wg.Wait()
		})
	}
	rate := func(d time.Duration) float64 { return float64(n*b.N) / d.Seconds() }
	b.ReportMetric(rate(start), "ids/s")
	b.ReportMetric(rate(seq), "sequential-ids/s")
	b.ReportMetric(rate(conc), "concurrent8-ids/s")
	b.ReportMetric(rate(start)/rate(seq), "x-vs-sequential")
	b.ReportMetric(rate(start)/rate(conc), "x-vs-concurrent8")
	fmt.Printf("enqueue %d IDs x %d: Client.Start %.0f IDs/s, sequential asynq loop %.0f IDs/s, "+
		"%d-goroutine asynq loop %.0f IDs/s; Start is %.2fx the sequential loop, %.2fx the concurrent one\n",
		n, b.N, rate(start), rate(seq), plainLoopGoroutines, rate(conc), rate(start)/rate(seq), rate(start)/rate(conc))
}

// BenchmarkEnqueueParallelism enqueues 20,000 phones with Client.Start at
// several values of Config.Parallelism, to choose its default. It needs a
// real server (REDIS_URL).
func BenchmarkEnqueueParallelism(b *testing.B) {
	if os.Getenv("REDIS_URL") == "" {
		b.Skip("miniredis runs one command at a time; set REDIS_URL to measure parallelism")
	}
	const n = 20_000
	for _, p := range []int{1, 8, 32, 64, 128, 256, 512} {
		b.Run(fmt.Sprintf("parallelism=%d", p), func(b *testing.B) {
			rdb := benchRedis(b)
			insp := asynq.NewInspectorFromRedisClient(rdb)
			enq, err := enqueue.New(enqueue.Config{Redis: rdb, Parallelism: p})
			if err != nil {
				b.Fatal(err)
			}
			var took time.Duration
			round := 0
			for b.Loop() {
				ids := phoneIDs(fmt.Sprintf("bench%d-", round), n)
				round++
				t0 := time.Now()
				rep, err := enq.Start(context.Background(), enqueue.Request{IDs: ids})
				took += time.Since(t0)
				if err != nil || rep.Enqueued != n {
					b.Fatalf("Start: %d enqueued, %v", rep.Enqueued, err)
				}
				b.StopTimer()
				clearPending(b, insp, n)
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/took.Seconds(), "ids/s")
		})
	}
}
