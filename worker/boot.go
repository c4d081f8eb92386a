package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Boot confirmation. GeeLark answers a start call once it has accepted a
// phone; the phone then boots (status 1, Starting) and is usable at status
// 0 (Started). A phone the call started is StateBooting in its record and
// its task is done: it holds no worker slot and no goroutine while it
// boots. Every worker's watchBoots claims the boots that are due (each
// claim bumps the record's version: a fence), checks them with the status
// endpoint in calls of up to 100 within that endpoint's budget, and
// settles them at the claimed version: ready, checked again later, or
// failed to boot (still Starting after BootTimeout, Shut down / Expired,
// or a permanent code), which starts the phone again as a new attempt, by
// a new task, or dead-letters it when its attempts ran out. A GeeLark
// callback, when configured, gives its verdict in the record and saves the
// status call.

// Reasons of a failed boot, the Reason of its dead-letter entry.
const (
	ReasonBootTimeout = fleet.ReasonBootTimeout
	ReasonBootFailed  = fleet.ReasonBootFailed
)

// watchBoots checks due boots until ctx is done.
func (w *Worker) watchBoots(ctx context.Context) {
	defer close(w.bootsDone)
	idle := min(time.Second, w.cfg.BootPoll)
	var logged time.Time // of the last "cannot read" line: one per 10s while Redis is away
	for ctx.Err() == nil {
		// Held for a poll and a call: no other worker takes them meanwhile.
		due, first, err := w.store.ClaimBoots(ctx, geelark.MaxStatusIDs, w.cfg.BootPoll+2*w.cfg.CallTimeout, w.checks())
		if err != nil && ctx.Err() == nil && time.Since(logged) >= 10*time.Second {
			logged = time.Now()
			w.log.Warn("cannot read booting phones in Redis; checking again each second (logged once per 10s)", zap.Error(err))
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

// checkBoots settles claimed boots: those with a callback's verdict at
// once, the others by one status call, whose answers also teach the fleet
// when to check (first is the first check the claim was made under).
func (w *Worker) checkBoots(ctx context.Context, due []fleet.Phone, first time.Duration) {
	var ss []fleet.BootSettle
	var by []string // what confirmed each ready phone
	var ask []fleet.Phone
	for _, p := range due {
		switch p.Boot.Verdict {
		case fleet.VerdictReady:
			ss, by = append(ss, w.bootReady(p)), append(by, "callback")
		case fleet.VerdictFailed:
			ss, by = append(ss, w.bootFailed(p, ReasonBootFailed, 0, "GeeLark's start callback reported the start failed")), append(by, "")
		default:
			ask = append(ask, p)
		}
	}
	if len(ask) > 0 && w.cfg.Status != nil {
		more, moreBy := w.statusBoots(ctx, ask, first)
		ss, by = append(ss, more...), append(by, moreBy...)
	}
	w.settleBoots(ctx, due, ss, by)
}

// statusBoots asks GeeLark for the state of ask in one status call and
// returns their settles. A failed call checks them again later.
func (w *Worker) statusBoots(ctx context.Context, ask []fleet.Phone, first time.Duration) ([]fleet.BootSettle, []string) {
	ids := make([]string, len(ask))
	for i, p := range ask {
		ids[i] = p.ID
	}
	var res *geelark.StatusResult
	err := w.admitWith(ctx, w.cfg.StatusLimiter)
	asked := w.cfg.Now() // the phones' ages are as of the call, not its answer
	if err == nil {
		res, err = w.cfg.Status.StatusPhones(ctx, ids)
	}
	now := w.cfg.Now()
	ss := make([]fleet.BootSettle, 0, len(ask))
	by := make([]string, 0, len(ask))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil // claimed boots come due again after their lease
		}
		var pe *pausedError
		next := now.Add(w.cfg.BootPoll)
		if errors.As(err, &pe) && pe.p.Until.After(next) {
			next = pe.p.Until
		}
		w.log.Warn("status check of booting phones failed; checking again later", zap.Int("n", len(ids)),
			zap.Time("next", next), zap.Error(err))
		for _, p := range ask {
			ss, by = append(ss, w.bootLater(p, next, p.Boot.Seen, p.Boot.FirstCheck)), append(by, "")
		}
		return ss, by
	}
	w.metrics.statusCall(len(ids))
	var seen fleet.Observed
	var pauseCode int
	var pauseMsg string
	for i, p := range ask {
		o := res.Outcomes[i]
		if o.Known {
			seen.Add(p, o.State, asked, first, w.cfg.BootPoll)
		}
		fc := p.Boot.FirstCheck
		if fc == 0 {
			fc = first
		}
		later := func() fleet.BootSettle { return w.bootLater(p, now.Add(w.cfg.BootPoll), o.State.String(), fc) }
		var s fleet.BootSettle
		confirmed := ""
		switch {
		case o.Known && o.Code != 0:
			// GeeLark answered this phone with a code: classed by the code
			// table. Only a permanent code fails the boot; a transient one
			// is asked again, and a rate-limit or account code pauses.
			switch geelark.Lookup(o.Code).Class {
			case geelark.ClassPermanent:
				s = w.bootFailed(p, ReasonBootFailed, o.Code, fmt.Sprintf("GeeLark's status check answered %d: %s", o.Code, o.Msg))
			case geelark.ClassRateLimited, geelark.ClassAccount:
				pauseCode, pauseMsg = o.Code, o.Msg
				s = w.bootLater(p, now.Add(w.cfg.BootPoll), p.Boot.Seen, fc)
			default:
				s = w.bootLater(p, now.Add(w.cfg.BootPoll), p.Boot.Seen, fc)
			}
		case o.Known && o.State == geelark.StateStarted:
			s, confirmed = w.bootReady(p), "status"
		case o.Known && o.State == geelark.StateStarting && now.Before(p.Boot.Deadline):
			s = later()
		case o.Known && o.State == geelark.StateStarting:
			s = w.bootFailed(p, ReasonBootTimeout, 0, fmt.Sprintf("still starting %v after its start was accepted (PHONESTART_BOOT_TIMEOUT %v)",
				now.Sub(p.Boot.StartedAt).Round(time.Second), w.cfg.BootTimeout))
		case o.Known && (o.State == geelark.StateShutDown || o.State == geelark.StateExpired):
			s = w.bootFailed(p, ReasonBootFailed, 0, "GeeLark reports the phone "+o.State.String()+" after accepting its start")
		default:
			// Not in the reply: nothing learned; ask again.
			s = w.bootLater(p, now.Add(w.cfg.BootPoll), p.Boot.Seen, p.Boot.FirstCheck)
		}
		ss, by = append(ss, s), append(by, confirmed)
	}
	if pauseCode != 0 {
		w.pauseFor(ctx, pauseCode, pauseMsg)
	}
	learned, err := w.store.Learn(ctx, now, w.checks(), seen)
	if err != nil {
		w.log.Warn("cannot record what a status call learned of the boot time", zap.Error(err))
		return ss, by
	}
	w.metrics.firstCheck(learned)
	if learned >= first+w.cfg.BootPoll/2 {
		w.log.Info("booting phones were still starting at their first check; the fleet checks them later from now on",
			zap.Duration("first_check", learned), zap.Duration("was", first))
	}
	return ss, by
}

// bootReady settles a phone as usable.
func (w *Worker) bootReady(p fleet.Phone) fleet.BootSettle {
	return fleet.BootSettle{ID: p.ID, Ver: p.Ver, To: fleet.BootReady}
}

// bootLater checks the phone again at at, keeping what a check saw.
func (w *Worker) bootLater(p fleet.Phone, at time.Time, seen string, firstCheck time.Duration) fleet.BootSettle {
	return fleet.BootSettle{ID: p.ID, Ver: p.Ver, To: fleet.BootLater, Due: at, Seen: seen, FirstCheck: firstCheck}
}

// bootFailed starts the phone again as a new attempt after the usual
// backoff, or dead-letters it when its attempts ran out.
func (w *Worker) bootFailed(p fleet.Phone, reason string, code int, msg string) fleet.BootSettle {
	if p.Attempt >= w.cfg.MaxAttempts {
		return fleet.BootSettle{ID: p.ID, Ver: p.Ver, To: fleet.BootDead, Reason: reason, Code: code, Msg: msg}
	}
	due := w.cfg.Now().Add(backoff(p.Attempt-1, w.cfg.RetryBase, w.cfg.RetryMax))
	return fleet.BootSettle{ID: p.ID, Ver: p.Ver, To: fleet.BootRetry, Reason: reason, Code: code, Msg: msg, Due: due}
}

// settleBoots writes ss (for due, confirmed by by) and does what follows
// each: the billing guard of a ready phone, the new task of a phone started
// again. A boot another worker, a callback or a stop settled first is left
// as it is.
func (w *Worker) settleBoots(ctx context.Context, due []fleet.Phone, ss []fleet.BootSettle, by []string) {
	if len(ss) == 0 {
		return
	}
	res, err := w.store.SettleBoots(ctx, w.cfg.MaxRuntime, ss)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("cannot record boot checks in Redis; the phones are checked again after their lease", zap.Error(err))
		}
		return
	}
	byID := make(map[string]fleet.Phone, len(due))
	for _, p := range due {
		byID[p.ID] = p
	}
	now := w.cfg.Now()
	for i, s := range ss {
		r := res[i]
		if !r.OK {
			continue
		}
		p := byID[s.ID]
		switch s.To {
		case fleet.BootReady:
			w.metrics.booted(now.Sub(p.Boot.StartedAt), by[i])
			w.stats.add(func(st *Stats) { st.Ready++ })
			if !r.Guard.IsZero() {
				w.guard(ctx, p.ID, r.Gen, r.Task, r.Guard)
			}
		case fleet.BootRetry:
			w.metrics.bootFailed(s.Reason)
			w.stats.add(func(st *Stats) { st.BootFailed++ })
			w.log.Info("phone failed to boot; starting it again", zap.String("id", s.ID), zap.String("reason", s.Reason),
				zap.String("detail", s.Msg), zap.Int("attempt", p.Attempt), zap.Time("at", s.Due))
			t, err := w.sp.NewTask(fleet.TaskSpec{Action: fleet.ActionStart, ID: s.ID, Gen: r.Gen, Task: r.Task,
				At: time.Now().Add(s.Due.Sub(now)), Options: p.Options})
			if err == nil {
				err = fleet.WriteTask(ctx, w.aq, t)
			}
			if err != nil {
				w.log.Warn("cannot write the task that starts a phone again; the reconciler will", zap.String("id", s.ID), zap.Error(err))
			}
		case fleet.BootDead:
			w.metrics.bootFailed(s.Reason)
			w.stats.add(func(st *Stats) { st.BootFailed++ })
			w.logDead(fleet.ActionStart, s.ID, p.Attempt, fleet.Settle{Code: s.Code, Reason: s.Reason, Msg: s.Msg})
			w.countPhone(outcomeDead, s.Code)
		}
	}
}
