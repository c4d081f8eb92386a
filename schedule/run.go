package schedule

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/idfile"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Backoff of a failed tick: the n-th retry waits between half and all of
// RetryMin·2ⁿ⁻¹, at most RetryMax.
const (
	RetryMin = 2 * time.Second
	RetryMax = time.Minute
)

// backoff returns the wait before retry n (1, 2, ...), with jitter so that
// schedulers retrying the same tick spread out.
func backoff(n int) time.Duration {
	d := RetryMax
	if n >= 1 && n < 30 {
		d = min(RetryMax, RetryMin<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

// startLookBack is how far before its catch-up window a scheduler starting
// looks for a tick that no scheduler fired, to log it.
const startLookBack = 24 * time.Hour

// maxTicksScanned bounds that search for schedules that tick very often.
const maxTicksScanned = 100_000

// pending is a tick due and not yet fired.
type pending struct {
	tick, deadline, retryAt time.Time
	attempts                int
}

// slot is one schedule as Run follows it.
type slot struct {
	s    *Schedule
	next time.Time // its next tick, not yet due
	p    *pending
	log  *zap.Logger
}

// Run fires every schedule of f at each of its ticks until ctx is done, and
// then returns nil. A tick that fails is retried (see the package comment)
// until it fires or its catch-up window passes; when Run starts, the latest
// tick of each schedule whose window is still open fires unless some
// scheduler already fired it.
//
// Run returns an error only for what no retry can fix: a schedule that
// Validate refuses, a selection with no Lister configured, or an enqueue
// request refused as invalid.
func (r *Runner) Run(ctx context.Context, f *File) error {
	if f == nil || len(f.Schedules) == 0 {
		return errors.New("schedule: no schedules to run")
	}
	now := r.cfg.Now()
	slots := make([]*slot, 0, len(f.Schedules))
	for _, s := range f.Schedules {
		if err := r.check(s); err != nil {
			return err
		}
		loc, _ := s.zone()
		sl := &slot{s: s, next: s.Next(now), log: r.cfg.Logger.With(zap.String("schedule", s.Name))}
		sl.log.Info("schedule loaded", zap.String("cron", s.Cron), zap.String("time_zone", loc.String()),
			zap.Duration("catch_up", s.catchUp()), zap.Time("next", sl.next.In(loc)))
		if last := lastTick(s, now); !last.IsZero() {
			if now.Before(last.Add(s.catchUp())) {
				sl.p = &pending{tick: last, deadline: last.Add(s.catchUp()), retryAt: now}
				sl.log.Info("schedule tick planned before start, within its catch-up window: firing it unless already fired",
					zap.Time("tick", last))
			} else {
				r.reportMissed(ctx, sl, last)
			}
		}
		slots = append(slots, sl)
	}
	for {
		var wake time.Time
		for _, sl := range slots {
			if err := r.step(ctx, sl); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			wake = earliest(wake, sl.next)
			if sl.p != nil {
				wake = earliest(earliest(wake, sl.p.retryAt), sl.p.deadline)
			}
		}
		if wake.IsZero() {
			wake = r.cfg.Now().Add(24 * time.Hour) // no schedule will tick again
		}
		if r.cfg.Sleep(ctx, wake.Sub(r.cfg.Now())) != nil {
			return nil // ctx done
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// step brings one schedule up to now: a tick fallen due becomes pending
// (replacing an older one), a pending tick past its window is given up, and
// one whose retry is due is tried.
func (r *Runner) step(ctx context.Context, sl *slot) error {
	now := r.cfg.Now()
	if !sl.next.IsZero() && !sl.next.After(now) {
		latest := sl.next
		for t := sl.s.Next(latest); !t.IsZero() && !t.After(now); t = sl.s.Next(t) {
			latest = t // ticks passed while this process was stopped
		}
		if sl.p != nil {
			sl.log.Warn("schedule tick not fired: replaced by the next tick of the schedule",
				zap.Time("tick", sl.p.tick), zap.Time("next_tick", latest), zap.Int("attempts", sl.p.attempts))
		}
		sl.p = &pending{tick: latest, deadline: latest.Add(sl.s.catchUp()), retryAt: latest}
		sl.next = sl.s.Next(latest)
	}
	p := sl.p
	if p == nil {
		return nil
	}
	if !now.Before(p.deadline) {
		if p.attempts == 0 {
			// Not tried, or left to another scheduler: missed unless fired
			// (this process slept through it, say).
			r.reportMissed(ctx, sl, p.tick)
		} else {
			sl.log.Error("schedule tick not fired: its catch-up window has passed",
				zap.Time("tick", p.tick), zap.Duration("catch_up", sl.s.catchUp()), zap.Int("attempts", p.attempts))
		}
		sl.p = nil
		return nil
	}
	if p.retryAt.After(now) {
		return nil
	}
	rep, lookAgain, err := r.fire(ctx, sl.s, p.tick)
	switch {
	case ctx.Err() != nil:
		return nil
	case err == nil && lookAgain.IsZero():
		sl.p = nil // fired, by this scheduler or another
		return nil
	case err == nil:
		p.retryAt = lookAgain
		return nil
	case permanent(err):
		return err
	}
	// A bad ids_file fails this tick alone: the file is read again at the
	// next one, and the other schedules carry on.
	var bad *idfile.Error
	if errors.As(err, &bad) {
		sl.log.Error("schedule tick not fired: its ids_file was refused", zap.Time("tick", p.tick),
			zap.String("ids_file", bad.Path), zap.Int("line", bad.Line), zap.Error(err))
		sl.p = nil
		return nil
	}
	p.attempts++
	now = r.cfg.Now()
	next := now.Add(backoff(p.attempts))
	if !next.Before(p.deadline) {
		sl.log.Error("schedule tick not fired: attempt failed, and its catch-up window ends before another",
			zap.Time("tick", p.tick), zap.Int("attempt", p.attempts), zap.Time("window_end", p.deadline),
			zap.Int("enqueued", rep.Enqueued), zap.Error(err))
		sl.p = nil
		return nil
	}
	p.retryAt = next
	sl.log.Warn("schedule tick failed; retrying", zap.Time("tick", p.tick), zap.Int("attempt", p.attempts),
		zap.Time("retry_at", next), zap.Int("enqueued", rep.Enqueued), zap.Error(err))
	return nil
}

// permanent reports whether no retry can fix err.
func permanent(err error) bool {
	var in *enqueue.InputError
	return errors.As(err, &in) || errors.Is(err, errNoLister)
}

// lastTick returns the latest tick of s at or before now, looking back over
// its catch-up window and startLookBack before it (only the window, for a
// schedule that ticks very often); zero when there is none.
func lastTick(s *Schedule, now time.Time) time.Time {
	if t, ok := lastIn(s, now.Add(-s.catchUp()-startLookBack), now); ok {
		return t
	}
	t, _ := lastIn(s, now.Add(-s.catchUp()), now)
	return t
}

// lastIn returns the latest tick of s in (from, to]; false when there are
// more than maxTicksScanned.
func lastIn(s *Schedule, from, to time.Time) (time.Time, bool) {
	var last time.Time
	n := 0
	for t := s.Next(from); !t.IsZero() && !t.After(to); t = s.Next(t) {
		if n++; n > maxTicksScanned {
			return last, false
		}
		last = t
	}
	return last, true
}

// reportMissed logs a tick whose catch-up window closed before any attempt
// at it (no scheduler ran, or this one was suspended), unless it fired: one
// warning, for nothing failed that a person must fix.
func (r *Runner) reportMissed(ctx context.Context, sl *slot, tick time.Time) {
	v, err := r.cfg.Redis.Get(ctx, r.GuardKey(sl.s, tick)).Result()
	if err == nil && !strings.HasPrefix(v, "claim ") {
		return // fired
	}
	loc, _ := sl.s.zone()
	fields := []zap.Field{zap.Time("tick", tick), zap.String("due", tick.In(loc).Format("2006-01-02 15:04 MST")),
		zap.Duration("catch_up", sl.s.catchUp())}
	if err != nil && !errors.Is(err, redis.Nil) {
		fields = append(fields, zap.NamedError("guard_check", fmt.Errorf("could not check whether it fired: %w", err)))
	}
	sl.log.Warn("schedule tick missed: no scheduler fired it within its catch-up window", fields...)
}
