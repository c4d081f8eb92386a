package schedule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// GuardTTL is how long the record that a tick fired is kept. A scheduler
// whose clock is further behind than this could fire a tick again.
const GuardTTL = 7 * 24 * time.Hour

// Lister resolves a selection to phones; *geelark.Client is one. wait is
// called before each page, to spend the list endpoint's API budget.
type Lister interface {
	ListAll(ctx context.Context, f geelark.ListFilter, wait func(context.Context) error) ([]geelark.Phone, error)
}

// Limiter meters the list calls of a selection.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Config configures a Runner.
type Config struct {
	// Redis holds the per-tick guards. Required.
	Redis redis.UniversalClient
	// Enqueue enqueues the selected phones. Required.
	Enqueue *enqueue.Client
	// Lister resolves select: schedules; needed only if a schedule has one.
	Lister Lister
	// ListBudget, when set, is waited on before each list page.
	ListBudget Limiter
	// Logger gets one line per tick. Default: none.
	Logger *zap.Logger
	// Now and Sleep are the clock. Defaults: the wall clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Runner fires schedules. It is safe for simultaneous use by multiple
// goroutines, and any number of Runners may share one Redis.
type Runner struct {
	cfg Config
	id  string
}

// NewRunner returns a Runner.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Redis == nil || cfg.Enqueue == nil {
		return nil, errors.New("schedule: config: Redis and Enqueue are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	host, _ := os.Hostname()
	return &Runner{cfg: cfg, id: host + ":" + strconv.Itoa(os.Getpid())}, nil
}

// TickReport says what one tick of a schedule did.
type TickReport struct {
	Schedule string    `json:"schedule"`
	Tick     time.Time `json:"tick"`
	// Fired is false when another scheduler had already fired this tick.
	Fired      bool `json:"fired"`
	Selected   int  `json:"selected"`
	Enqueued   int  `json:"enqueued"`
	Duplicates int  `json:"duplicates"`
}

// GuardKey is the Redis key that records that a schedule's tick fired. It
// names the tick by its wall time in the schedule's zone, so that the hour
// that repeats when clocks go back fires once, not twice.
func GuardKey(s *Schedule, tick time.Time) string {
	return "phonestart:schedule:" + s.Name + ":" + tick.In(s.Location).Format("2006-01-02T15:04:05")
}

// Fire fires tick of s unless some scheduler already did: it selects the
// phones and enqueues them, and logs one line.
func (r *Runner) Fire(ctx context.Context, s *Schedule, tick time.Time) (TickReport, error) {
	rep := TickReport{Schedule: s.Name, Tick: tick}
	ok, err := r.cfg.Redis.SetNX(ctx, GuardKey(s, tick), r.id, GuardTTL).Result()
	if err != nil {
		return rep, fmt.Errorf("schedule %q: tick guard: %w", s.Name, err)
	}
	if !ok {
		r.cfg.Logger.Info("schedule tick already fired by another scheduler",
			zap.String("schedule", s.Name), zap.Time("tick", tick))
		return rep, nil
	}
	rep.Fired = true
	ids, err := r.selectIDs(ctx, s)
	if err != nil {
		r.cfg.Logger.Error("schedule tick failed: no phone enqueued", zap.String("schedule", s.Name),
			zap.Time("tick", tick), zap.Error(err))
		return rep, err
	}
	rep.Selected = len(ids)
	if len(ids) > 0 {
		er, err := r.cfg.Enqueue.Start(ctx, enqueue.Request{IDs: ids, Options: s.Options})
		rep.Enqueued, rep.Duplicates = er.Enqueued, len(er.Duplicates)
		if err != nil {
			r.cfg.Logger.Error("schedule tick failed part way", zap.String("schedule", s.Name),
				zap.Time("tick", tick), zap.Int("selected", rep.Selected), zap.Int("enqueued", rep.Enqueued), zap.Error(err))
			return rep, err
		}
	}
	r.cfg.Logger.Info("schedule fired", zap.String("schedule", s.Name), zap.Time("tick", tick),
		zap.Int("selected", rep.Selected), zap.Int("enqueued", rep.Enqueued), zap.Int("duplicates", rep.Duplicates))
	return rep, nil
}

func (r *Runner) selectIDs(ctx context.Context, s *Schedule) ([]string, error) {
	if s.Select == nil {
		return s.IDs, nil
	}
	if r.cfg.Lister == nil {
		return nil, fmt.Errorf("schedule %q selects phones through the API, but no API client is configured", s.Name)
	}
	var wait func(context.Context) error
	if r.cfg.ListBudget != nil {
		wait = r.cfg.ListBudget.Wait
	}
	phones, err := r.cfg.Lister.ListAll(ctx, *s.Select, wait)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: list phones: %w", s.Name, err)
	}
	ids := make([]string, 0, len(phones))
	for _, p := range phones {
		if geelark.ValidateID(p.ID) == nil {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

// Run fires every schedule of f at each of its ticks until ctx is done.
// Ticks missed while no scheduler ran are not made up.
func (r *Runner) Run(ctx context.Context, f *File) error {
	for _, s := range f.Schedules {
		r.cfg.Logger.Info("schedule loaded", zap.String("schedule", s.Name), zap.String("cron", s.Cron),
			zap.String("time_zone", s.Location.String()), zap.Time("next", s.Next(r.cfg.Now()).In(s.Location)))
	}
	from := r.cfg.Now()
	for {
		next := time.Time{}
		for _, s := range f.Schedules {
			if t := s.Next(from); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		if err := r.cfg.Sleep(ctx, next.Sub(r.cfg.Now())); err != nil {
			return nil // ctx done
		}
		for _, s := range f.Schedules {
			if s.Next(from).Equal(next) {
				r.Fire(ctx, s, next) // logged; the next tick is tried regardless
			}
		}
		from = next
	}
}
