package enqueue_test

import (
	"context"
	"fmt"
	"os"
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
// with the pool the phonestart command gives its producer, so that
// Parallelism, not the pool, bounds what is in flight.
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	opt, err := redis.ParseURL(redistest.New(b).URL)
	if err != nil {
		b.Fatal(err)
	}
	opt.PoolSize = max(opt.PoolSize, 256)
	rdb := redis.NewClient(opt)
	b.Cleanup(func() { rdb.Close() })
	return rdb
}

// clearPending deletes the phonestart queue's pending tasks, and only them,
// so the next run enqueues the same IDs afresh.
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

// BenchmarkEnqueue enqueues 100,000 phones with Client.Start, then the same
// 100,000 tasks one asynq Enqueue at a time (what a plain producer loop
// does), on the same Redis, and reports both rates and their ratio.
//
// On miniredis it enqueues 10,000: miniredis prepends to a list by copying
// it, so 100,000 would take minutes, and it runs one command at a time, so
// its figures say nothing about a real server anyway. Set REDIS_URL for
// figures that mean something.
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

	var start, seq time.Duration
	for b.Loop() {
		t0 := time.Now()
		rep, err := enq.Start(ctx, enqueue.Request{IDs: ids, Options: opts})
		start += time.Since(t0)
		if err != nil || rep.Enqueued != n {
			b.Fatalf("Start: %d enqueued, %v", rep.Enqueued, err)
		}
		b.StopTimer()
		clearPending(b, insp, n)
		b.StartTimer()

		t0 = time.Now()
		for _, id := range ids {
			task, err := tasks.NewStartTask(id, opts, asynq.Retention(enqueue.DefaultRetention))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := aq.EnqueueContext(ctx, task); err != nil {
				b.Fatalf("Enqueue %s: %v", id, err)
			}
		}
		seq += time.Since(t0)
		b.StopTimer()
		clearPending(b, insp, n)
		b.StartTimer()
	}
	fast := float64(n*b.N) / start.Seconds()
	slow := float64(n*b.N) / seq.Seconds()
	b.ReportMetric(fast, "ids/s")
	b.ReportMetric(slow, "baseline-ids/s")
	b.ReportMetric(fast/slow, "x-vs-sequential")
}

// BenchmarkEnqueueParallelism enqueues 20,000 phones with Client.Start at
// several values of Config.Parallelism, to choose its default. It needs a
// real server (REDIS_URL).
func BenchmarkEnqueueParallelism(b *testing.B) {
	if os.Getenv("REDIS_URL") == "" {
		b.Skip("miniredis runs one command at a time; set REDIS_URL to measure parallelism")
	}
	const n = 20_000
	ids := phoneIDs("bench-", n)
	for _, p := range []int{1, 8, 16, enqueue.DefaultParallelism, 64, 128} {
		b.Run(fmt.Sprintf("parallelism=%d", p), func(b *testing.B) {
			rdb := benchRedis(b)
			insp := asynq.NewInspectorFromRedisClient(rdb)
			enq, err := enqueue.New(enqueue.Config{Redis: rdb, Parallelism: p})
			if err != nil {
				b.Fatal(err)
			}
			var took time.Duration
			for b.Loop() {
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
