package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// Boot confirmation. GeeLark answers a start call once it has accepted a
// phone; the phone then boots (status 1, Starting) and is usable at status
// 0 (Started). A phone the call started is recorded as booting in Redis
// (fleet.Boots) and its task completes: it holds no worker slot and no
// goroutine while it boots. Every worker's watchBoots claims the boots that
// are due, checks them with the status endpoint in calls of up to 100
// within that endpoint's budget, and settles them: ready, or failed to boot
// (still Starting after BootTimeout, or Shut down / Expired), which starts
// the phone again as a new attempt, or dead-letters it when its attempts
// ran out. A GeeLark callback, when configured, gives its verdict in the
// boot record and saves the status call.

// Reasons of a failed boot, the Reason of its dead-letter entry.
const (
	ReasonBootTimeout = "boot_timeout"
	ReasonBootFailed  = "boot_failed"
)

// booting records the phones a start call started: a "started" event each,
// and, with boot confirmation on, a boot record first due BootPoll later.
func (w *Worker) booting(opts geelark.StartOptions, batch []*request, res *geelark.StartResult) {
	now := w.cfg.Now()
	var evs []fleet.Event
	var boots []fleet.Boot
	for i, r := range batch {
		o := res.Outcomes[i]
		if o.Status != geelark.StatusStarted && (o.Status != geelark.StatusFailed || geelark.Lookup(o.Code).Class != geelark.ClassStarted) {
			continue
		}
		evs = append(evs, fleet.Event{Phone: r.id, Event: fleet.EventStarted, Attempt: r.attempt, URL: o.URL, At: now})
		boots = append(boots, fleet.Boot{ID: r.id, Attempt: r.attempt, Options: opts, URL: o.URL,
			StartedAt: now, Deadline: now.Add(w.cfg.BootTimeout), StopAfter: r.stopAfter})
	}
	if len(evs) == 0 {
		return
	}
	w.record(evs...)
	if w.cfg.BootTimeout <= 0 {
		w.guardStops(now, boots...) // billing guard: counted from the start
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.boots.Begin(ctx, now.Add(w.cfg.BootPoll), boots...); err != nil {
		// The phones did start; nobody will confirm them.
		w.log.Error("cannot record booting phones in Redis: they will not be confirmed", zap.Int("n", len(boots)), zap.Error(err))
	}
}

// watchBoots checks due boots until ctx is done.
func (w *Worker) watchBoots(ctx context.Context) {
	defer close(w.bootsDone)
	idle := min(time.Second, w.cfg.BootPoll)
	for ctx.Err() == nil {
		now := w.cfg.Now()
		// Held for a poll and a call: no other worker takes them meanwhile.
		due, first, err := w.boots.Claim(ctx, now, geelark.MaxStatusIDs, w.cfg.BootPoll+2*w.cfg.CallTimeout, w.checks())
		if err != nil && ctx.Err() == nil {
			w.log.Warn("cannot read booting phones in Redis", zap.Error(err))
		}
		if len(due) == 0 {
			if clock.Sleep(ctx, idle) != nil {
				return
			}
			continue
		}
		w.checkBoots(ctx, due, first)
	}
}

// checks is how status checks are paced: a first check learned between
// the poll and half the boot timeout, so that a phone is checked at least
// a few times before it times out.
func (w *Worker) checks() fleet.Checks {
	return fleet.Checks{Poll: w.cfg.BootPoll, Max: w.cfg.BootTimeout / 2}
}

// checkBoots settles due boots: those with a callback's verdict at once,
// the others by one status call, whose answers also teach the fleet when
// to check (first is the first check the claim was made under).
func (w *Worker) checkBoots(ctx context.Context, due []fleet.Boot, first time.Duration) {
	due = w.dropStopped(ctx, due)
	var ask []fleet.Boot
	for _, bt := range due {
		switch bt.Verdict {
		case fleet.VerdictReady:
			w.bootReady(ctx, bt, "callback")
		case fleet.VerdictFailed:
			w.bootFailed(ctx, bt, ReasonBootFailed, "GeeLark's start callback reported the start failed")
		default:
			ask = append(ask, bt)
		}
	}
	if len(ask) == 0 || w.cfg.Status == nil {
		return
	}
	ids := make([]string, len(ask))
	for i, bt := range ask {
		ids[i] = bt.ID
	}
	var res *geelark.StatusResult
	err := w.admitWith(ctx, w.cfg.StatusLimiter)
	asked := w.cfg.Now() // the phones' ages are as of the call, not its answer
	if err == nil {
		res, err = w.cfg.Status.StatusPhones(ctx, ids)
	}
	now := w.cfg.Now()
	if err != nil {
		if ctx.Err() != nil {
			return // claimed boots come due again after their lease
		}
		var pe *pausedError
		next := now.Add(w.cfg.BootPoll)
		if errors.As(err, &pe) && pe.p.Until.After(next) {
			next = pe.p.Until
		}
		w.log.Warn("status check of booting phones failed; checking again later", zap.Int("n", len(ids)),
			zap.Time("next", next), zap.Error(err))
		for _, bt := range ask {
			w.bootLater(ctx, bt, next)
		}
		return
	}
	w.metrics.statusCall(len(ids))
	var seen fleet.Observed
	for i, bt := range ask {
		o := res.Outcomes[i]
		if o.Known {
			seen.Add(bt, o.State, asked, first, w.cfg.BootPoll)
		}
		if bt.FirstCheck == 0 {
			bt.FirstCheck = first
		}
		switch {
		case o.Known && o.State == geelark.StateStarted:
			w.bootReady(ctx, bt, "status")
		case o.Known && o.State == geelark.StateStarting && now.Before(bt.Deadline):
			bt.Seen = o.State.String()
			w.bootLater(ctx, bt, now.Add(w.cfg.BootPoll))
		case o.Known && o.State == geelark.StateStarting:
			w.bootFailed(ctx, bt, ReasonBootTimeout, fmt.Sprintf("still starting %v after its start was accepted (PHONESTART_BOOT_TIMEOUT %v)",
				now.Sub(bt.StartedAt).Round(time.Second), w.cfg.BootTimeout))
		case o.Known && (o.State == geelark.StateShutDown || o.State == geelark.StateExpired):
			w.bootFailed(ctx, bt, ReasonBootFailed, "GeeLark reports the phone "+o.State.String()+" after accepting its start")
		case o.Known && o.Code != 0:
			w.bootFailed(ctx, bt, ReasonBootFailed, fmt.Sprintf("GeeLark's status check answered %d: %s", o.Code, o.Msg))
		default:
			// Not in the reply: nothing learned; ask again.
			w.bootLater(ctx, bt, now.Add(w.cfg.BootPoll))
		}
	}
	learned, err := w.boots.Learn(ctx, now, w.checks(), seen)
	if err != nil {
		w.log.Warn("cannot record what a status call learned of the boot time", zap.Error(err))
		return
	}
	w.metrics.firstCheck(learned)
	if learned >= first+w.cfg.BootPoll/2 {
		w.log.Info("booting phones were still starting at their first check; the fleet checks them later from now on",
			zap.Duration("first_check", learned), zap.Duration("was", first))
	}
}

// dropStopped ends the boots of phones that a stop reached since their
// start (their state is stopping or stopped): a stopped phone is shut down
// on purpose and must not be started again as a failed boot.
func (w *Worker) dropStopped(ctx context.Context, due []fleet.Boot) []fleet.Boot {
	ids := make([]string, len(due))
	for i, bt := range due {
		ids[i] = bt.ID
	}
	states, err := w.journal.States(ctx, ids...)
	if err != nil {
		return due // checked as usual; a stop still runs after the start
	}
	keep := due[:0:0]
	var drop []string
	for i, bt := range due {
		if s := states[i].State; s == fleet.StateStopping || s == fleet.StateStopped {
			drop = append(drop, bt.ID)
			continue
		}
		keep = append(keep, bt)
	}
	if err := w.boots.Done(ctx, drop...); err != nil {
		w.log.Warn("cannot drop the boots of stopped phones", zap.Error(err))
	}
	return keep
}

func (w *Worker) bootLater(ctx context.Context, bt fleet.Boot, at time.Time) {
	if err := w.boots.Later(ctx, bt, at); err != nil && ctx.Err() == nil {
		w.log.Warn("cannot reschedule a boot check in Redis", zap.String("id", bt.ID), zap.Error(err))
	}
}

// bootReady settles a phone as usable.
func (w *Worker) bootReady(ctx context.Context, bt fleet.Boot, by string) {
	now := w.cfg.Now()
	w.record(fleet.Event{Phone: bt.ID, Event: fleet.EventReady, Attempt: bt.Attempt, URL: bt.URL, At: now})
	if err := w.boots.Done(ctx, bt.ID); err != nil {
		w.log.Warn("cannot clear a confirmed boot in Redis", zap.String("id", bt.ID), zap.Error(err))
	}
	w.guardStops(now, bt) // billing guard: counted from ready
	w.metrics.booted(now.Sub(bt.StartedAt), by)
	w.stats.add(func(s *Stats) { s.Ready++ })
}

// bootFailed starts the phone again as a new attempt after the usual
// backoff, or dead-letters it when its attempts ran out.
func (w *Worker) bootFailed(ctx context.Context, bt fleet.Boot, reason, msg string) {
	if len(w.dropStopped(ctx, []fleet.Boot{bt})) == 0 {
		return // stopped while it was checked: shut down on purpose
	}
	w.metrics.bootFailed(reason)
	w.stats.add(func(s *Stats) { s.BootFailed++ })
	if bt.Attempt >= w.cfg.MaxAttempts {
		if err := w.bury(ctx, fleet.DeadPhone{ID: bt.ID, Reason: reason, Msg: msg, Attempts: bt.Attempt, Options: bt.Options, StopAfter: bt.StopAfter}); err != nil {
			w.bootLater(ctx, bt, w.cfg.Now().Add(w.cfg.BootPoll)) // decided again
			return
		}
		_ = w.boots.Done(ctx, bt.ID)
		return
	}
	delay := backoff(bt.Attempt-1, w.cfg.RetryBase, w.cfg.RetryMax)
	if err := w.startAgain(ctx, bt, delay); err != nil {
		w.log.Warn("cannot start a phone that failed to boot again; trying later", zap.String("id", bt.ID), zap.Error(err))
		w.bootLater(ctx, bt, w.cfg.Now().Add(w.cfg.BootPoll))
		return
	}
	w.log.Info("phone failed to boot; starting it again", zap.String("id", bt.ID), zap.String("reason", reason),
		zap.String("detail", msg), zap.Int("attempt", bt.Attempt), zap.Duration("in", delay))
	w.record(fleet.Event{Phone: bt.ID, Event: fleet.EventRetry, Attempt: bt.Attempt, Reason: reason, Msg: msg})
	_ = w.boots.Done(ctx, bt.ID)
}

// startAgain enqueues a new start task for a phone whose boot failed,
// carrying its attempts, in delay. Its completed task is replaced; a phone
// enqueued again meanwhile by someone else is left to that task.
func (w *Worker) startAgain(ctx context.Context, bt fleet.Boot, delay time.Duration) error {
	t, err := tasks.NewRetryTask(tasks.StartPhone{ID: bt.ID, Options: bt.Options, Attempts: bt.Attempt, StopAfter: bt.StopAfter}, asynq.ProcessIn(delay))
	if err != nil {
		return err
	}
	for range 2 {
		_, err = w.aq.EnqueueContext(ctx, t)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
		ti, ierr := w.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(bt.ID))
		if ierr != nil {
			return ierr
		}
		if ti.State != asynq.TaskStateCompleted && ti.State != asynq.TaskStateArchived {
			return nil // someone asked for it again: that start goes on
		}
		if derr := w.insp.DeleteTask(tasks.Queue, tasks.TaskID(bt.ID)); derr != nil && !errors.Is(derr, asynq.ErrTaskNotFound) {
			return derr
		}
	}
	return err
}
