package fleet_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/fleet"
)

// mostInWindow returns the most times in any closed window of length w.
func mostInWindow(times []time.Time, w time.Duration) int {
	times = slices.Clone(times)
	slices.SortFunc(times, time.Time.Compare)
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// meteredBudget is a budget on clk that records when it granted each call.
// Its Sleep wakes at the time it read plus d, as a timer would: budgets
// sleeping side by side do not add up their sleeps.
type meteredBudget struct {
	*fleet.Budget
	clk *fakeClock

	mu      sync.Mutex
	read    time.Time // the last time the budget read; Wait grants at it
	granted []time.Time
}

func newMeteredBudget(t *testing.T, rdb redis.UniversalClient, clk *fakeClock, cfg fleet.BudgetConfig) *meteredBudget {
	t.Helper()
	m := &meteredBudget{clk: clk}
	cfg.Now = func() time.Time {
		now := clk.Now()
		m.mu.Lock()
		m.read = now
		m.mu.Unlock()
		return now
	}
	cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.mu.Lock()
		wake := m.read.Add(d)
		m.mu.Unlock()
		clk.mu.Lock()
		if wake.After(clk.now) {
			clk.now = wake
		}
		clk.mu.Unlock()
		return nil
	}
	b, err := fleet.NewBudget(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Budget = b
	return m
}

// take waits for n calls and records when each was granted.
func (m *meteredBudget) take(t *testing.T, n int) {
	for range n {
		if err := m.Wait(t.Context()); err != nil {
			t.Error(err)
			return
		}
		m.mu.Lock()
		m.granted = append(m.granted, m.read)
		m.mu.Unlock()
	}
}

// Calls are spaced 60s/(PerMinute-1) apart: never closer, and not much
// further when calls queue up.
func TestBudgetSpacesCalls(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	b := newMeteredBudget(t, rdb, newFakeClock(), fleet.BudgetConfig{PerMinute: 13, PerHour: 100_000})
	b.take(t, 40)
	gap := time.Minute / 12
	for i := 1; i < len(b.granted); i++ {
		if d := b.granted[i].Sub(b.granted[i-1]); d < gap || d > gap+10*time.Millisecond {
			t.Fatalf("calls %d and %d granted %v apart, want %v (+ up to 10ms of jitter)", i, i+1, d, gap)
		}
	}
	if most := mostInWindow(b.granted, time.Minute); most > 13 || most < 12 {
		t.Fatalf("%d calls in the busiest minute, budget 13", most)
	}
}

// Two budgets on one Redis (two workers) share its limit: together they
// never get more than PerMinute calls in any 60 s window, yet use it.
func TestBudgetsOnOneRedisShareTheLimit(t *testing.T) {
	t.Parallel()
	r, _ := newRedis(t)
	clk := newFakeClock()
	cfg := fleet.BudgetConfig{PerMinute: 30, PerHour: 100_000}
	a := newMeteredBudget(t, r.Client(t), clk, cfg)
	b := newMeteredBudget(t, r.Client(t), clk, cfg)
	var wg sync.WaitGroup
	for _, m := range []*meteredBudget{a, b} {
		wg.Go(func() { m.take(t, 60) })
	}
	wg.Wait()
	all := append(slices.Clone(a.granted), b.granted...)
	most := mostInWindow(all, time.Minute)
	t.Logf("%d + %d calls over %v; at most %d in any 60 s window", len(a.granted), len(b.granted),
		slices.MaxFunc(all, time.Time.Compare).Sub(slices.MinFunc(all, time.Time.Compare)), most)
	if most > cfg.PerMinute {
		t.Fatalf("%d calls in one 60 s window, budget %d", most, cfg.PerMinute)
	}
	if most < cfg.PerMinute-1 {
		t.Fatalf("only %d calls in the busiest 60 s window: the budget of %d was not used", most, cfg.PerMinute)
	}
	// Each endpoint has a budget of its own.
	status := newMeteredBudget(t, r.Client(t), clk, fleet.BudgetConfig{Endpoint: fleet.EndpointStatus, PerMinute: 30})
	before := clk.Now()
	status.take(t, 1)
	if !status.granted[0].Equal(before) {
		t.Fatalf("the status budget waited %v for the start budget's calls", status.granted[0].Sub(before))
	}
}

func TestBudgetKeepsTheHourlyLimit(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	b := newMeteredBudget(t, rdb, newFakeClock(), fleet.BudgetConfig{PerMinute: 1000, PerHour: 10})
	b.take(t, 25)
	if most := mostInWindow(b.granted, time.Hour); most > 10 || most < 9 {
		t.Fatalf("%d calls in the busiest hour, budget 10", most)
	}
}

// BudgetUsed counts the calls of the current calendar minute, for status.
func TestBudgetUsed(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	clk := newFakeClock()
	clk.now = clk.now.Truncate(time.Minute).Add(time.Minute)
	used, limit, err := fleet.BudgetUsed(t.Context(), rdb, fleet.Space{}, fleet.EndpointStart, clk.Now())
	if used != 0 || limit != 0 || err != nil {
		t.Fatalf("before any call: %d of %d, %v", used, limit, err)
	}
	b := newMeteredBudget(t, rdb, clk, fleet.BudgetConfig{PerMinute: 600})
	b.take(t, 3)
	used, limit, err = fleet.BudgetUsed(t.Context(), rdb, fleet.Space{}, fleet.EndpointStart, clk.Now())
	if used != 3 || limit != 600 || err != nil {
		t.Fatalf("after 3 calls: %d of %d, %v; want 3 of 600", used, limit, err)
	}
	if used, _, _ := fleet.BudgetUsed(t.Context(), rdb, fleet.Space{}, fleet.EndpointStart, clk.Now().Add(time.Minute)); used != 0 {
		t.Fatalf("the next minute already holds %d calls", used)
	}
}

func TestBudgetRefusals(t *testing.T) {
	t.Parallel()
	if _, err := fleet.NewBudget(nil, fleet.BudgetConfig{}); err == nil || !strings.Contains(err.Error(), "Redis is required") {
		t.Errorf("budget without Redis: %v", err)
	}
	_, rdb := newRedis(t)
	if _, err := fleet.NewBudget(rdb, fleet.BudgetConfig{PerMinute: 1}); err == nil || !strings.Contains(err.Error(), "1 a minute") {
		t.Errorf("budget of 1 a minute: %v, want an error naming it", err)
	}
	// A budget that must wait gives up with its context.
	b := newMeteredBudget(t, rdb, newFakeClock(), fleet.BudgetConfig{PerMinute: 2})
	b.take(t, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with its context done: %v", err)
	}
	// Without Redis no call is granted.
	gone := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { gone.Close() })
	nb, err := fleet.NewBudget(gone, fleet.BudgetConfig{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Wait(t.Context()); err == nil || !strings.Contains(err.Error(), "api budget") {
		t.Errorf("Wait without Redis: %v, want an api budget error", err)
	}
}
