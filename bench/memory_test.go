package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

// inFlight is how many phones BenchmarkMemory holds in calls at once.
const inFlight = 10_000

// holdLatency is how long the fake holds each start call: long enough for
// a worker to dequeue all the phones while the first calls are still out,
// and short of the API client's default call timeout (30s). Other calls
// are answered at once: the worker process's credentials check (a list
// call) comes before it takes any phone.
const holdLatency = 18 * time.Second

// BenchmarkMemory measures a worker holding 10,000 phones, all of them in
// start calls that the fake API holds for 18s (Concurrency 10,000, batches of
// 200: 50 calls in flight). The measure is taken when the last call is out,
// or a second before the first is answered, whichever comes first: a worker
// process served by the embedded Redis dequeues too slowly to have all
// 10,000 out by then, and phones-held says how many were.
//
//   - in-process: the Go heap live after a GC, goroutine stacks and
//     goroutines with the phones held, less the same before the worker
//     started (the difference is the worker's);
//   - process: the resident set (VmRSS) of `phonestart worker` idle and
//     with the phones held, read from /proc.
func BenchmarkMemory(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read resident set sizes")
	}
	b.Run("in-process", func(b *testing.B) {
		for range b.N {
			_, rdb := newRedis(b)
			fake, api := newAPI(b, geelarktest.Config{StartLatency: holdLatency})
			enqueuePhones(b, rdb, phoneIDs("5577", inFlight), geelark.StartOptions{})
			heap0, stacks0 := goMemory()
			g0 := runtime.NumGoroutine()
			budget, err := fleet.NewBudget(rdb, fleet.BudgetConfig{PerMinute: 1_000_000, PerHour: 100_000_000})
			if err != nil {
				b.Fatal(err)
			}
			w, err := worker.New(worker.Config{Redis: rdb, API: api, Limiter: budget, Logger: zap.NewNop(), Concurrency: inFlight})
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = w.Shutdown(context.Background()) }) // before the Redis client closes, if the run fails
			held, after := waitHeld(b, fake)
			heap1, stacks1 := goMemory()
			g1, rss := runtime.NumGoroutine(), procStatus(b, os.Getpid())["VmRSS"]
			fake.Close() // the held calls fail: their phones are retried later
			_ = w.Shutdown(context.Background())
			perPhone := float64(heap1-heap0) / float64(held)
			b.ReportMetric(float64(heap1-heap0)/(1<<20), "heap-MiB")
			b.ReportMetric(perPhone, "heap-B/phone")
			b.ReportMetric(float64(stacks1-stacks0)/(1<<20), "stacks-MiB")
			b.ReportMetric(float64(g1-g0), "goroutines")
			b.ReportMetric(float64(held), "phones-held")
			b.ReportMetric(float64(rss)/(1<<10), "process-RSS-MiB")
			fmt.Printf("memory, in-process, %d phones held in calls (%v after the first call): "+
				"Go heap +%.1f MiB (%.0f bytes a phone), goroutine stacks +%.1f MiB, +%d goroutines; RSS of the whole test process %.0f MiB\n",
				held, after.Round(time.Millisecond), float64(heap1-heap0)/(1<<20), perPhone,
				float64(stacks1-stacks0)/(1<<20), g1-g0, float64(rss)/(1<<10))
		}
	})
	b.Run("process", func(b *testing.B) {
		bin := buildPhonestart(b)
		for range b.N {
			r, rdb := newRedis(b)
			fake, _ := newAPI(b, geelarktest.Config{StartLatency: holdLatency})
			cmd := exec.Command(bin, "worker")
			cmd.Env = []string{
				"REDIS_URL=" + r.URL, "GEELARK_BASE_URL=" + fake.URL,
				"GEELARK_APP_ID=" + geelarktest.DefaultAppID, "GEELARK_API_KEY=" + geelarktest.DefaultAPIKey,
				"PHONESTART_CONCURRENCY=" + strconv.Itoa(inFlight), "PHONESTART_LOG_FORMAT=json",
				"PHONESTART_RATE_PER_MINUTE=1000000", "PHONESTART_RATE_PER_HOUR=100000000",
			}
			var logs bytes.Buffer
			cmd.Stderr = &logs
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			time.Sleep(2 * time.Second) // started and idle
			idle := procStatus(b, cmd.Process.Pid)["VmRSS"]
			enqueuePhones(b, rdb, phoneIDs("5577", inFlight), geelark.StartOptions{})
			held, after := waitHeld(b, fake)
			st := procStatus(b, cmd.Process.Pid)
			fake.Close()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			b.ReportMetric(float64(idle)/(1<<10), "idle-RSS-MiB")
			b.ReportMetric(float64(st["VmRSS"])/(1<<10), "RSS-MiB")
			b.ReportMetric(float64(st["VmRSS"]-idle)/float64(held)*1024, "RSS-B/phone")
			b.ReportMetric(float64(held), "phones-held")
			fmt.Printf("memory, phonestart worker process, %d phones held in calls (%v after the first call): "+
				"RSS %.1f MiB (idle %.1f MiB, +%.0f bytes a phone), peak %.1f MiB, %d threads\n",
				held, after.Round(time.Millisecond), float64(st["VmRSS"])/(1<<10), float64(idle)/(1<<10),
				float64(st["VmRSS"]-idle)/float64(held)*1024, float64(st["VmHWM"])/(1<<10), st["Threads"])
		}
	})
}

// waitHeld waits until every phone is in a start call the fake still
// holds, or until the first is about to be answered, and returns how many
// phones the fake holds then and how long after the first start call that
// was. On a slow Redis (the embedded one, serving a worker process) fewer
// than inFlight may be held at once; none held fails the benchmark, which
// would otherwise divide by zero.
func waitHeld(b *testing.B, fake *geelarktest.Server) (int, time.Duration) {
	b.Helper()
	var first time.Time
	held := 0
	waitUntil(b, 2*time.Minute, "phones held in calls", func() bool {
		calls := fake.CallsTo(geelark.StartPath)
		if len(calls) == 0 {
			return false
		}
		first, held = calls[0].Time, 0
		for _, c := range calls {
			held += len(c.IDs)
		}
		return held >= inFlight || time.Since(first) > holdLatency-time.Second
	})
	if held == 0 {
		b.Fatal("no phone in a start call when memory was read")
	}
	return held, time.Since(first)
}

// goMemory is the Go heap live after a full GC, and the memory of
// goroutine stacks, in bytes.
func goMemory() (heap, stacks int64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// procStatus returns the kB figures and counts of /proc/PID/status.
func procStatus(b *testing.B, pid int) map[string]int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// buildPhonestart builds the phonestart command into a temporary directory.
func buildPhonestart(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "phonestart")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/phonestart/phonestart/cmd/phonestart").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
