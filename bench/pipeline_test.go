package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
)

var (
	pipelinePhones  = flag.Int("pipeline.phones", 5000, "phones (and raw tasks) per run of BenchmarkPipeline")
	pipelineConc    = flag.Int("pipeline.concurrency", 2*geelark.MaxStartIDs, "Concurrency of the worker and of the raw asynq server in BenchmarkPipeline (default: the worker's, two batches)")
	pipelineProfile = flag.String("pipeline.cpuprofile", "", "write a CPU profile of the phonestart side of BenchmarkPipeline's first run to this file")
)

// rawQueue is the queue of the raw asynq tasks.
const rawQueue = "bench-raw"

// run is what one side of BenchmarkPipeline measured.
type run struct {
	took  time.Duration // from the server's start to the N-th handler return
	cpu   cpuSample     // CPU used meanwhile, here and by redis-server
	enq   time.Duration // enqueueing the N tasks beforehand
	calls int           // API calls made
}

// BenchmarkPipeline measures phones through a worker against raw asynq, in
// the same run on the same kind of Redis: N phones already enqueued (through
// package enqueue) go through a worker with the default batch settings, a
// metered budget set far above the load and a zero-latency, unlimited fake
// API; N no-op tasks already enqueued go through an asynq.Server with the
// same concurrency and poll interval whose handler returns nil. Each side
// gets a fresh database and is timed from the server's start to its N-th
// handler return. Two more raw runs tell what asynq itself costs for what
// phonestart asks of it: the same no-op tasks with phonestart's task options
// (task ID, retention, timeout, retry ceiling), and those with a handler
// that also writes a result the size of a started phone's.
//
// Reports phones/s, raw-tasks/s, their ratio, the two other raw rates, the
// API calls per run, and the CPU time per task of this process (which holds
// the embedded Redis, when it is used) and of a local redis-server.
func BenchmarkPipeline(b *testing.B) {
	n := *pipelinePhones
	var ps, raw, opts, work run
	var ratios []string
	add := func(to *run, r run) {
		to.took += r.took
		to.cpu.self += r.cpu.self
		to.cpu.redis += r.cpu.redis
		to.enq += r.enq
		to.calls += r.calls
	}
	for i := range b.N {
		r := runRaw(b, n, rawPlain)
		p := runPhonestart(b, n, i == 0)
		add(&raw, r)
		add(&ps, p)
		add(&opts, runRaw(b, n, rawSameOptions))
		add(&work, runRaw(b, n, rawSameWork))
		ratios = append(ratios, fmt.Sprintf("%.2f", r.took.Seconds()/p.took.Seconds()))
	}
	total := float64(n * b.N)
	rate := func(r run) float64 { return total / r.took.Seconds() }
	perTask := func(d time.Duration) float64 { return float64(d.Microseconds()) / total }
	b.ReportMetric(rate(ps), "phones/s")
	b.ReportMetric(rate(raw), "raw-tasks/s")
	b.ReportMetric(rate(ps)/rate(raw), "ratio")
	b.ReportMetric(rate(opts), "raw-same-options-tasks/s")
	b.ReportMetric(rate(work), "raw-same-work-tasks/s")
	b.ReportMetric(float64(ps.calls)/float64(b.N), "calls/run")
	b.ReportMetric(perTask(ps.cpu.self), "cpu-µs/phone")
	b.ReportMetric(perTask(raw.cpu.self), "cpu-µs/raw-task")
	if raw.cpu.redis > 0 {
		b.ReportMetric(perTask(ps.cpu.redis), "redis-cpu-µs/phone")
		b.ReportMetric(perTask(raw.cpu.redis), "redis-cpu-µs/raw-task")
	}
	fmt.Printf("pipeline, %d phones x %d runs, concurrency %d: phonestart %.0f phones/s, raw asynq %.0f tasks/s, "+
		"ratio %.2f (by run: %s); %.1f calls a run; enqueue %.0f phones/s\n",
		n, b.N, *pipelineConc, rate(ps), rate(raw), rate(ps)/rate(raw), strings.Join(ratios, " "),
		float64(ps.calls)/float64(b.N), total/ps.enq.Seconds())
	fmt.Printf("  raw asynq with phonestart's task options %.0f tasks/s (ratio %.2f); and a result written %.0f tasks/s (ratio %.2f)\n",
		rate(opts), rate(ps)/rate(opts), rate(work), rate(ps)/rate(work))
	fmt.Printf("  CPU per task, this process: phone %.0fµs, raw %.0fµs, options %.0fµs, result %.0fµs; "+
		"redis-server: %.0fµs, %.0fµs, %.0fµs, %.0fµs (0: embedded, or not on this machine)\n",
		perTask(ps.cpu.self), perTask(raw.cpu.self), perTask(opts.cpu.self), perTask(work.cpu.self),
		perTask(ps.cpu.redis), perTask(raw.cpu.redis), perTask(opts.cpu.redis), perTask(work.cpu.redis))
}

// rawRetention is how long the raw tasks of phonestart's options keep their
// result: the completed-task retention phonestart's tasks had before its
// phones had records of their own.
const rawRetention = 24 * time.Hour

// rawResult is the result the same-work raw handler writes: the size of
// what a started phone's task held before its phone had a record.
type rawResult struct {
	URL            string    `json:"url,omitempty"`
	ChargingMethod string    `json:"charging_method,omitempty"`
	TraceID        string    `json:"trace_id"`
	StartedAt      time.Time `json:"started_at"`
}

// rawMode is what the raw tasks of runRaw ask of asynq.
type rawMode int

const (
	rawPlain       rawMode = iota // default task options; the handler returns nil
	rawSameOptions                // phonestart's task options (task ID, retention, timeout, retry ceiling)
	rawSameWork                   // those options, and the handler writes a result like a started phone's
)

// runRaw enqueues n no-op tasks on a fresh database and times an asynq
// server through them.
func runRaw(b testing.TB, n int, mode rawMode) run {
	b.Helper()
	r, rdb := newRedis(b)
	meter := newCPUMeter(b, rdb, !r.Real)
	client := asynq.NewClientFromRedisClient(rdb)
	ids := phoneIDs("5577", n)
	began := time.Now()
	err := parallel(n, func(i int) error {
		payload, err := json.Marshal(tasks.StartPhone{ID: ids[i]})
		if err != nil {
			return err
		}
		opts := []asynq.Option{asynq.Queue(rawQueue)}
		if mode != rawPlain {
			opts = append(opts, asynq.TaskID(ids[i]), asynq.MaxRetry(tasks.MaxRetry),
				asynq.Timeout(tasks.Timeout), asynq.Retention(rawRetention))
		}
		_, err = client.Enqueue(asynq.NewTask("bench:noop", payload, opts...))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	enq := time.Since(began)
	var done atomic.Int64
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              *pipelineConc,
		Queues:                   map[string]int{rawQueue: 1},
		TaskCheckInterval:        time.Second, // the worker's default poll interval
		DelayedTaskCheckInterval: time.Second,
		Logger:                   zap.NewNop().Sugar(),
		LogLevel:                 asynq.WarnLevel,
	})
	c0 := meter.sample()
	began = time.Now()
	if err := srv.Start(asynq.HandlerFunc(func(_ context.Context, t *asynq.Task) error {
		if mode == rawSameWork {
			res, err := json.Marshal(rawResult{URL: geelarktest.PhoneURL("557700000000000000"),
				ChargingMethod: geelarktest.ChargingMethod, TraceID: "9cf502fe-5f5b-412c-aebe-b6c2dacbe867", StartedAt: time.Now().UTC()})
			if err != nil {
				return err
			}
			if _, err := t.ResultWriter().Write(res); err != nil {
				return err
			}
		}
		done.Add(1)
		return nil
	})); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown) // before the Redis client closes, if the run fails
	waitUntil(b, 10*time.Minute, "raw tasks done", func() bool { return done.Load() >= int64(n) })
	out := run{took: time.Since(began), cpu: meter.sample().sub(c0), enq: enq}
	srv.Shutdown()
	return out
}

// runPhonestart enqueues n phones on a fresh database and times a worker
// through them.
func runPhonestart(b testing.TB, n int, profile bool) run {
	b.Helper()
	r, rdb := newRedis(b)
	meter := newCPUMeter(b, rdb, !r.Real)
	fake, api := newAPI(b, geelarktest.Config{})
	ids := phoneIDs("5577", n)
	began := time.Now()
	enqueuePhones(b, rdb, ids, geelark.StartOptions{})
	enq := time.Since(began)
	budget, err := fleet.NewBudget(rdb, fleet.BudgetConfig{PerMinute: 1_000_000, PerHour: 100_000_000})
	if err != nil {
		b.Fatal(err)
	}
	w, err := worker.New(worker.Config{Redis: rdb, API: api, Limiter: budget, Logger: zap.NewNop(),
		Concurrency: *pipelineConc})
	if err != nil {
		b.Fatal(err)
	}
	stopProfile := func() {}
	if profile && *pipelineProfile != "" {
		f, err := os.Create(*pipelineProfile)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	c0 := meter.sample()
	began = time.Now()
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Shutdown(context.Background()) }) // before the Redis client closes, if the run fails
	waitUntil(b, 10*time.Minute, "phones started", func() bool { return w.Stats().Started >= n })
	out := run{took: time.Since(began), cpu: meter.sample().sub(c0), enq: enq}
	stopProfile()
	_ = w.Shutdown(context.Background())
	out.calls = len(fake.Calls())
	return out
}
