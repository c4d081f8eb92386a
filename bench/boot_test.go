package bench

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/worker"
)

var (
	bootPhones  = flag.Int("boot.phones", 10000, "phones of BenchmarkBoot")
	bootTime    = flag.Duration("boot.time", 60*time.Second, "how long each phone of BenchmarkBoot boots")
	bootPoll    = flag.Duration("boot.poll", worker.DefaultBootPoll, "PHONESTART_BOOT_POLL of BenchmarkBoot")
	bootWorkers = flag.Int("boot.workers", 1, "workers of BenchmarkBoot, sharing the budgets")
	bootBursts  = flag.Int("boot.bursts", 1, "bursts of BenchmarkBoot, one after the other on the same Redis (the later ones on a fleet that has learned its boot time)")
)

// bootStartPerMinute is BenchmarkBoot's start budget.
const bootStartPerMinute = 600

// BenchmarkBoot starts phones that each boot for -boot.time (60s) at a
// start budget of 600 calls a minute and the default status budget (180 a
// minute), with boot confirmation on and off. It reports how long the start
// calls took against their floor (49 gaps of 60s/599 for 10,000 phones),
// the most status calls in any 60-second window, the IDs per status call,
// the phones confirmed per status call, and how long until every phone was
// ready. With -boot.bursts N, N bursts of phones come one after the other
// on the same Redis: the later ones on a fleet that has learned when its
// phones are up.
func BenchmarkBoot(b *testing.B) {
	for _, confirm := range []bool{false, true} {
		name := "confirm-off"
		if confirm {
			name = "confirm-on"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				runBoot(b, *bootPhones, *bootTime, confirm)
			}
		})
	}
}

func runBoot(b *testing.B, n int, boot time.Duration, confirm bool) {
	_, rdb := newRedis(b)
	fake, api := newAPI(b, geelarktest.Config{Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: boot} }})
	enqueuePhones(b, rdb, phoneIDs("5577", n), geelark.StartOptions{})
	start, err := fleet.NewBudget(rdb, fleet.BudgetConfig{PerMinute: bootStartPerMinute, PerHour: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	status, err := fleet.NewBudget(rdb, fleet.BudgetConfig{Endpoint: fleet.EndpointStatus})
	if err != nil {
		b.Fatal(err)
	}
	cfg := worker.Config{Redis: rdb, API: api, Limiter: start, Logger: zap.NewNop(), Concurrency: 2000}
	if confirm {
		cfg.Status, cfg.StatusLimiter, cfg.BootPoll = api, status, *bootPoll
	}
	cfg.Concurrency /= *bootWorkers
	ws := make([]*worker.Worker, *bootWorkers)
	for i := range ws {
		w, err := worker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ws[i] = w
	}
	stats := func() (s worker.Stats) {
		for _, w := range ws {
			st := w.Stats()
			s.Started += st.Started
			s.Ready += st.Ready
		}
		return s
	}
	began := time.Now()
	for _, w := range ws {
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	}
	for burst := range *bootBursts {
		mark := len(fake.Calls())
		if burst > 0 {
			began = time.Now()
			enqueuePhones(b, rdb, phoneIDs(strconv.Itoa(5577+burst), n), geelark.StartOptions{})
		}
		want := (burst + 1) * n
		waitUntil(b, 10*time.Minute, "phones started", func() bool { return stats().Started >= want })
		if confirm {
			waitUntil(b, 30*time.Minute, "phones ready", func() bool { return stats().Ready >= want })
		}
		reportBoot(b, burst, n, fake.Calls()[mark:], time.Since(began), confirm)
	}
	for _, w := range ws {
		_ = w.Shutdown(context.Background())
	}
}

// reportBoot reports one burst of BenchmarkBoot from its calls: the
// metrics of the first, a line for each.
func reportBoot(b *testing.B, burst, n int, calls []geelarktest.Call, took time.Duration, confirm bool) {
	var starts, checks []time.Time
	statusIDs := 0
	for _, c := range calls {
		switch c.Path {
		case geelark.StartPath:
			starts = append(starts, c.Time)
		case geelark.StatusPath:
			checks = append(checks, c.Time)
			statusIDs += len(c.IDs)
		}
	}
	floor := time.Duration(len(starts)-1) * time.Duration(int64(time.Minute)/(bootStartPerMinute-1))
	span := starts[len(starts)-1].Sub(starts[0])
	first := burst == 0
	if first {
		b.ReportMetric(float64(len(starts)), "start-calls")
		b.ReportMetric(span.Seconds()/floor.Seconds(), "starts/floor")
	}
	line := fmt.Sprintf("%s: burst %d: %d phones, %d worker(s), %d start calls in %v (floor %v, %.3fx)", b.Name(), burst+1, n, *bootWorkers, len(starts),
		span.Round(time.Millisecond), floor.Round(time.Millisecond), span.Seconds()/floor.Seconds())
	if confirm {
		perCall := float64(statusIDs) / float64(len(checks))
		confirmed := float64(n) / float64(len(checks))
		if first {
			b.ReportMetric(float64(len(checks)), "status-calls")
			b.ReportMetric(float64(maxIn(checks, time.Minute)), "status-max/60s")
			b.ReportMetric(perCall, "ids/status-call")
			b.ReportMetric(confirmed, "confirmed/status-call")
		}
		line += fmt.Sprintf("; boot poll %v: %d status calls, at most %d in any 60s (budget 180), %.1f IDs and %.1f confirmations a call; all ready %v after the burst began",
			*bootPoll, len(checks), maxIn(checks, time.Minute), perCall, confirmed, took.Round(time.Second))
	}
	b.Log(line)
}

// maxIn returns the most times in any closed window of length w.
func maxIn(times []time.Time, w time.Duration) int {
	times = slices.Clone(times)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
