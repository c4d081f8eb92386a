package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/logging"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/worker"
)

func runDemo(ctx context.Context, args []string, env Env) error {
	s := newSettings("demo", env)
	var phones int
	var verbose bool
	var timeout time.Duration
	s.Int(&phones, "phones", "", 2000, "how many phones to start", between(1, 1000000))
	s.Bool(&verbose, "v", "show the worker's log")
	s.Duration(&timeout, "timeout", "", 5*time.Minute, "give up after this long", positive)
	pos, err := s.parse(args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	out := env.Stdout

	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return fmt.Errorf("embedded Redis: %v", err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 64})
	defer rdb.Close()

	fake := geelarktest.NewServer(geelarktest.Config{
		Default: geelarktest.Mix(), Latency: 80 * time.Millisecond, RatePerMinute: 200,
		// Phones boot for 1 to 4 seconds after their start is accepted.
		Boot: func(id string) geelarktest.Boot {
			return geelarktest.Boot{Time: time.Second + time.Duration(fnv32(id)%3000)*time.Millisecond}
		},
	})
	defer fake.Close()
	api, err := geelark.NewClient(geelark.Config{
		BaseURL: fake.URL, AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey,
	})
	if err != nil {
		return err
	}
	log := zap.NewNop()
	if verbose {
		if log, err = newLogger(env.Stderr, "console"); err != nil {
			return err
		}
	}
	w, err := worker.New(worker.Config{
		Redis: rdb, API: api, Logger: log, Limiter: demoLimiter(rdb, fleet.EndpointStart),
		Status: api, StatusLimiter: demoLimiter(rdb, fleet.EndpointStatus), BootPoll: time.Second,
		RetryBase: time.Second, RetryMax: 4 * time.Second, PollInterval: 200 * time.Millisecond,
		StopLimiter: demoLimiter(rdb, fleet.EndpointStop)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "phonestart demo: embedded Redis %s, fake GeeLark API %s\n", mr.Addr(), fake.URL)
	fmt.Fprintf(out, "the fake answers a realistic mix: most phones start, some are out of resources or\n"+
		"unavailable for a while (retried), a few do not exist or have expired (dead-lettered)\n\n")

	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		return err
	}
	began := time.Now()
	ids := make([]string, phones)
	for i := range ids {
		ids[i] = fmt.Sprintf("5577%014d", 1000003*i%100000000000000)
	}
	wide := phones / 4 // a quarter asks for other display options: they never share a call
	rep1, err := enq.Start(ctx, enqueue.Request{IDs: ids[:wide], Options: geelark.StartOptions{Width: 400}})
	if err != nil {
		return err
	}
	rep2, err := enq.Start(ctx, enqueue.Request{IDs: ids[wide:]})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "enqueued %d phones in %v (%d with width 400, %d with defaults)\n",
		rep1.Enqueued+rep2.Enqueued, time.Since(began).Round(time.Millisecond), rep1.Enqueued, rep2.Enqueued)

	if err := w.Start(); err != nil {
		return err
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		return err
	}
	adm := queueadmin.New(enq, store)
	err = demoProgress(ctx, out, adm, w, fake, phones, began, timeout)
	if err == nil {
		err = demoSummary(ctx, out, adm, w, fake, phones, began)
	}
	if err == nil {
		err = demoStop(ctx, out, store, enq, w, fake, ids, timeout) // it ends by stopping what it started
	}
	_ = w.Shutdown(context.Background())
	return err
}

func demoProgress(ctx context.Context, out io.Writer, adm *queueadmin.Admin, w *worker.Worker,
	fake *geelarktest.Server, phones int, began time.Time, timeout time.Duration) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	tty := logging.IsTerminal(out)
	for {
		c, err := adm.Counts(ctx)
		if err != nil {
			return err
		}
		booting := c.Booting
		st := w.Stats()
		starts, statuses := 0, 0
		for _, call := range fake.Calls() {
			switch call.Path {
			case geelark.StartPath:
				starts++
			case geelark.StatusPath:
				statuses++
			}
		}
		line := fmt.Sprintf("%5.1fs  ready %4d  booting %4d  waiting %4d  retrying %3d  dead %3d  start calls %3d  status calls %3d",
			time.Since(began).Seconds(), st.Ready, booting, c.Queued+c.Sending+c.Scheduled, c.Retry, c.Dead, starts, statuses)
		if tty {
			fmt.Fprintf(out, "\r%s", line)
		} else {
			fmt.Fprintln(out, line)
		}
		if c.Queued+c.Sending+c.Scheduled+c.Retry+booting == 0 && st.Ready+c.Dead >= phones {
			if tty {
				fmt.Fprintln(out)
			}
			return nil
		}
		if time.Since(began) > timeout {
			return fmt.Errorf("not done after %v", timeout)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func demoSummary(ctx context.Context, out io.Writer, adm *queueadmin.Admin, w *worker.Worker,
	fake *geelarktest.Server, phones int, began time.Time) error {
	st := w.Stats()
	byCode, err := adm.DeadByCode(ctx)
	if err != nil {
		return err
	}
	dead := 0
	for _, n := range byCode {
		dead += n
	}
	var calls []geelarktest.Call
	ids, statusCalls, statusIDs := 0, 0, 0
	for _, c := range fake.Calls() {
		// No stop calls yet: the demo stops its phones after this summary.
		switch c.Path {
		case geelark.StartPath:
			calls = append(calls, c)
			ids += len(c.IDs)
		case geelark.StatusPath:
			statusCalls++
			statusIDs += len(c.IDs)
		}
	}
	floor := (phones + geelark.MaxStartIDs - 1) / geelark.MaxStartIDs
	fmt.Fprintf(out, "\ndone in %v\n", time.Since(began).Round(100*time.Millisecond))
	fmt.Fprintf(out, "  ready          %d of %d (started, then confirmed booted by a status check)\n", st.Ready, phones)
	fmt.Fprintf(out, "  retried        %d retries of phones that were out of resources, unavailable or unknown\n", st.Retried)
	fmt.Fprintf(out, "  dead-lettered  %d", dead)
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		parts = append(parts, fmt.Sprintf("%d %s: %d", code, geelark.Lookup(code).Meaning, byCode[code]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(out, " (%s)", strings.Join(parts, "; "))
	}
	fmt.Fprintln(out)
	mean := 0.0
	if len(calls) > 0 {
		mean = float64(ids) / float64(len(calls))
	}
	fmt.Fprintf(out, "  start calls    %d (first attempts alone need at least %d), %.1f IDs per call, %d over the rate limit\n",
		len(calls), floor, mean, fake.Violations())
	fmt.Fprintf(out, "  status calls   %d checking booting phones, %d IDs\n", statusCalls, statusIDs)
	fmt.Fprintln(out, "\nsee them: phonestart dead list / dead requeue, against a real Redis (README: Real use)")
	return nil
}

// fnv32 is a fixed hash of s, for the demo's boot times.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}
