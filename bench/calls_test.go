package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// optionSet is one set of start options and the share of phones with it.
type optionSet struct {
	name  string
	opts  geelark.StartOptions
	every int // every k-th phone has these options
}

// callSets are the option sets of BenchmarkCalls: three phones in four
// plain, one in four 400px wide.
var callSets = []optionSet{
	{name: "plain", opts: geelark.StartOptions{}},
	{name: "width-400", opts: geelark.StartOptions{Width: 400}, every: 4},
}

// setOf returns the option set of phone i.
func setOf(i int) int {
	if i%callSets[1].every == callSets[1].every-1 {
		return 1
	}
	return 0
}

// BenchmarkCalls counts the API calls a worker with the default batch
// settings (200 IDs, 500ms wait, concurrency 400, 1s poll) and the default
// budget (180 calls a minute) makes, against the floor of ⌈n/200⌉ calls per
// option set, for phones of two option sets (three in four plain, one in
// four 400px wide), enqueued two ways:
//
//   - burst: 2,000 phones enqueued before the worker starts, the two sets
//     interleaved in requests of 50 phones;
//   - trickle: 500 phones enqueued one at a time, one every 10ms, while the
//     worker runs.
//
// Reports calls, the floor, calls/floor and the mean IDs a call.
func BenchmarkCalls(b *testing.B) {
	b.Run("burst", func(b *testing.B) {
		for range b.N {
			_, rdb := newRedis(b)
			fake, api := newAPI(b, geelarktest.Config{})
			const n, chunk = 2000, 50
			ids := phoneIDs("5577", n)
			for from := 0; from < n; from += chunk {
				for s := range callSets {
					var part []string
					for i := from; i < from+chunk; i++ {
						if setOf(i) == s {
							part = append(part, ids[i])
						}
					}
					enqueuePhones(b, rdb, part, callSets[s].opts)
				}
			}
			w := startDefaultWorker(b, rdb, api)
			began := time.Now()
			waitUntil(b, 5*time.Minute, "phones started", func() bool { return w.Stats().Started >= n })
			took := time.Since(began)
			_ = w.Shutdown(context.Background())
			reportCalls(b, "burst", n, fake.Calls(), took)
		}
	})
	b.Run("trickle", func(b *testing.B) {
		for range b.N {
			_, rdb := newRedis(b)
			fake, api := newAPI(b, geelarktest.Config{})
			enq, err := enqueue.New(enqueue.Config{Redis: rdb})
			if err != nil {
				b.Fatal(err)
			}
			w := startDefaultWorker(b, rdb, api)
			const n = 500
			ids := phoneIDs("5577", n)
			tick := time.NewTicker(10 * time.Millisecond)
			began := time.Now()
			for i, id := range ids {
				<-tick.C
				rep, err := enq.Start(context.Background(), enqueue.Request{IDs: []string{id}, Options: callSets[setOf(i)].opts})
				if err != nil || rep.Enqueued != 1 {
					b.Fatalf("enqueue %s: %+v %v", id, rep, err)
				}
			}
			tick.Stop()
			waitUntil(b, 5*time.Minute, "phones started", func() bool { return w.Stats().Started >= n })
			took := time.Since(began)
			_ = w.Shutdown(context.Background())
			reportCalls(b, "trickle", n, fake.Calls(), took)
		}
	})
}

// startDefaultWorker starts a worker as `phonestart worker` runs by default.
func startDefaultWorker(b *testing.B, rdb *redis.Client, api *geelark.Client) *worker.Worker {
	b.Helper()
	budget, err := fleet.NewBudget(rdb, fleet.BudgetConfig{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := worker.New(worker.Config{Redis: rdb, API: api, Limiter: budget, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Shutdown(context.Background()) }) // before the Redis client closes, if the run fails
	return w
}

// reportCalls reports the calls made for n phones against the floor, and
// prints them by option set.
func reportCalls(b *testing.B, name string, n int, calls []geelarktest.Call, took time.Duration) {
	b.Helper()
	perSet := make([]int, len(callSets))
	idsPerSet := make([]int, len(callSets))
	sizes := make([][]int, len(callSets))
	for _, c := range calls {
		s := 0
		if c.Options.Width == callSets[1].opts.Width {
			s = 1
		}
		perSet[s]++
		idsPerSet[s] += len(c.IDs)
		sizes[s] = append(sizes[s], len(c.IDs))
	}
	floor, total := 0, 0
	var lines []string
	for s, set := range callSets {
		f := (idsPerSet[s] + geelark.MaxStartIDs - 1) / geelark.MaxStartIDs
		floor += f
		total += perSet[s]
		slices.Sort(sizes[s])
		lines = append(lines, fmt.Sprintf("%s: %d phones in %d calls (floor %d), sizes %v", set.name, idsPerSet[s], perSet[s], f, sizes[s]))
	}
	b.ReportMetric(float64(total), "calls")
	b.ReportMetric(float64(floor), "floor")
	b.ReportMetric(float64(total)/float64(floor), "calls/floor")
	b.ReportMetric(float64(n)/float64(total), "ids/call")
	fmt.Printf("calls, %s of %d phones in %v: %d calls, floor %d (%.2fx), %.1f IDs a call\n  %s\n",
		name, n, took.Round(time.Millisecond), total, floor, float64(total)/float64(floor), float64(n)/float64(total),
		strings.Join(lines, "\n  "))
}
