package schedule

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/idfile"
	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

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
	// Redis holds the per-tick guards. Required; a Redis Cluster client is
	// refused.
	Redis redis.UniversalClient
	// Enqueue enqueues the selected phones. Required. The guards live in
	// its namespace (enqueue.Config.Namespace).
	Enqueue *enqueue.Client
	// Lister resolves select: schedules; needed only if a schedule has one.
	Lister Lister
	// ListBudget, when set, is waited on before each list page.
	ListBudget Limiter
	// Logger gets one line per tick, and one per failed attempt. Default:
	// none.
	Logger *zap.Logger
	// Now and Sleep are the clock: Now dates ticks, retries and leases;
	// Sleep waits for the next of them. Defaults: the wall clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Runner fires schedules. It is safe for simultaneous use by multiple
// goroutines, and any number of Runners may share one Redis.
type Runner struct {
	cfg   Config
	space fleet.Space   // the guards' namespace
	id    string        // names this Runner in guards and logs
	seq   atomic.Uint64 // numbers its attempts
}

// NewRunner returns a Runner.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Redis == nil || cfg.Enqueue == nil {
		return nil, errors.New("schedule: config: Redis and Enqueue are required")
	}
	if err := redisconn.RefuseCluster(cfg.Redis); err != nil {
		return nil, fmt.Errorf("schedule: config: Redis: %w", err)
	}
	space, err := fleet.NewSpace(cfg.Enqueue.Namespace())
	if err != nil {
		return nil, fmt.Errorf("schedule: config: Enqueue: %w", err)
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
	var b [4]byte
	rand.Read(b[:])
	return &Runner{cfg: cfg, space: space, id: host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])}, nil
}

// TickReport says what one attempt at a tick of a schedule did.
type TickReport struct {
	Schedule string    `json:"schedule"`
	Tick     time.Time `json:"tick"`
	// Fired is false when another scheduler had already fired this tick,
	// or is firing it now.
	Fired      bool `json:"fired"`
	Selected   int  `json:"selected"`
	Enqueued   int  `json:"enqueued"`
	Duplicates int  `json:"duplicates"`
	// Stop schedules: Enqueued counts the stops enqueued, and
	// CancelledStarts the waiting starts they cancelled.
	CancelledStarts int `json:"cancelled_starts,omitempty"`
}

// errNoLister is a selection with no list endpoint to resolve it.
var errNoLister = errors.New("selects phones through the API, but no API client is configured")

// errLostClaim cancels an attempt whose claim another scheduler took over.
var errLostClaim = errors.New("schedule: tick taken over by another scheduler")

// check refuses a schedule that no retry could fire.
func (r *Runner) check(s *Schedule) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Select != nil && r.cfg.Lister == nil {
		return fmt.Errorf("schedule %q %w", s.Name, errNoLister)
	}
	return nil
}

// Fire makes one attempt at tick of s, unless another scheduler fired the
// tick or holds it: it claims the tick, selects the phones, enqueues them,
// marks the tick done, and logs one line. On an error the tick is left for a
// later attempt (Run retries it); the report then counts what was enqueued.
func (r *Runner) Fire(ctx context.Context, s *Schedule, tick time.Time) (TickReport, error) {
	if err := r.check(s); err != nil {
		return TickReport{Schedule: s.Name, Tick: tick}, err
	}
	rep, _, err := r.fire(ctx, s, tick)
	return rep, err
}

// fire is Fire; when another scheduler holds the tick, it also returns when
// to look again.
func (r *Runner) fire(ctx context.Context, s *Schedule, tick time.Time) (rep TickReport, lookAgain time.Time, err error) {
	rep = TickReport{Schedule: s.Name, Tick: tick}
	log := r.cfg.Logger.With(zap.String("schedule", s.Name), zap.Time("tick", tick))
	g := &guard{rdb: r.cfg.Redis, key: r.GuardKey(s, tick), now: r.cfg.Now,
		holder: r.id + ":" + strconv.FormatUint(r.seq.Add(1), 10)}
	state, leaseEnd, prev, err := g.claim(ctx)
	switch {
	case err != nil:
		return rep, time.Time{}, fmt.Errorf("schedule %q: %w", s.Name, err)
	case state == guardDone:
		log.Info("schedule tick already fired")
		return rep, time.Time{}, nil
	case state == guardHeld:
		log.Info("schedule tick being fired by another scheduler", zap.Time("look_again", leaseEnd))
		return rep, leaseEnd, nil
	case prev != "":
		log.Warn("schedule tick taken over from a scheduler whose lease ran out", zap.String("previous", prev))
	}

	work, stop := r.keep(ctx, g)
	fired := false
	defer func() {
		stop()
		if !fired {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			g.release(rctx)
			cancel()
		}
	}()
	lost := func() (TickReport, time.Time, error) {
		log.Warn("schedule tick taken over by another scheduler part way")
		return rep, r.cfg.Now().Add(Lease), nil
	}
	ids, err := r.selectIDs(work, s)
	if errors.Is(context.Cause(work), errLostClaim) {
		return lost()
	}
	if err != nil {
		return rep, time.Time{}, err
	}
	rep.Selected = len(ids)
	if s.Select != nil && len(ids) == 0 {
		// Most likely a group or tag renamed at GeeLark: say so every tick.
		log.Warn("schedule selection matched no phone", zap.String("select", s.SelectText()))
	}
	// The last check before phones are enqueued: is the tick still ours?
	if ok, err := g.renew(work); err != nil {
		return rep, time.Time{}, fmt.Errorf("schedule %q: %w", s.Name, err)
	} else if !ok {
		return lost()
	}
	rep.Fired = true
	if len(ids) > 0 {
		var err error
		if s.Action == ActionStop {
			var sr enqueue.StopReport
			sr, err = r.cfg.Enqueue.Stop(work, enqueue.StopRequest{IDs: ids})
			rep.Enqueued, rep.Duplicates, rep.CancelledStarts = sr.Stopped, len(sr.Duplicates), sr.CancelledStarts
		} else {
			var er enqueue.Report
			er, err = r.cfg.Enqueue.Start(work, enqueue.Request{IDs: ids, Options: s.Options, StopAfter: s.StopAfter})
			rep.Enqueued, rep.Duplicates = er.Enqueued, len(er.Duplicates)
		}
		if errors.Is(context.Cause(work), errLostClaim) {
			return lost()
		}
		if err != nil {
			return rep, time.Time{}, fmt.Errorf("schedule %q: %w", s.Name, err)
		}
	}
	if ok, err := g.done(ctx); err != nil {
		return rep, time.Time{}, fmt.Errorf("schedule %q: phones enqueued, but %w", s.Name, err)
	} else if !ok {
		return lost() // the phones are enqueued; the tick is the taker's to mark
	}
	fired = true
	log.Info("schedule fired", zap.String("action", cmp.Or(s.Action, ActionStart)), zap.Int("selected", rep.Selected),
		zap.Int("enqueued", rep.Enqueued), zap.Int("duplicates", rep.Duplicates))
	return rep, time.Time{}, nil
}

// keep renews g's claim every Lease/3 until stop is called. The context it
// returns is cancelled, with cause errLostClaim, when the claim is lost.
//
// Renewals are paced by the wall clock, not Config.Sleep: they run beside
// the attempt, which an injected clock does not see (the lease they write is
// still dated by Config.Now).
func (r *Runner) keep(ctx context.Context, g *guard) (context.Context, func()) {
	work, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-work.Done():
				return
			case <-t.C:
				// A failed renewal is tried again at the next beat; the
				// renewal before the enqueue is the one that counts.
				if ok, err := g.renew(work); err == nil && !ok {
					cancel(errLostClaim)
					return
				}
			}
		}
	}()
	return work, func() {
		close(done)
		wg.Wait()
		cancel(nil)
	}
}

func (r *Runner) selectIDs(ctx context.Context, s *Schedule) ([]string, error) {
	if s.IDsFile != "" {
		ids, err := idfile.Read(s.IDsFile, nil, s.SkipHeader)
		switch {
		case errors.Is(err, idfile.ErrHeader):
			return nil, fmt.Errorf("schedule %q: ids_file %w (add skip_header: true to the schedule to drop it)", s.Name, err)
		case err != nil:
			return nil, fmt.Errorf("schedule %q: ids_file %w", s.Name, err)
		}
		return ids, nil
	}
	if s.Select == nil {
		return s.IDs, nil
	}
	if r.cfg.Lister == nil {
		return nil, fmt.Errorf("schedule %q %w", s.Name, errNoLister)
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
