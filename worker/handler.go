package worker

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// startHandler processes TypeStartPhone tasks: it hands the phone to the
// worker's batcher and turns the call's word on it into asynq's terms. It
// is not offered for other asynq servers: its pauses and hand-backs rely on
// the worker's IsFailure, RetryDelayFunc and shutdown.
type startHandler struct{ w *Worker }

var _ asynq.Handler = (*startHandler)(nil)

// ProcessTask returns nil when the phone started (its result written), an
// error wrapping asynq.SkipRetry when it never will, and any other error to
// retry it.
func (h *startHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	w := h.w
	attempt := attemptOf(ctx)
	p, err := tasks.ParseStartPhone(t.Payload())
	if err != nil {
		if _, lerr := w.buryBadTask(ctx, fleet.ActionStart, attempt, err); lerr != nil {
			return lerr
		}
		w.countPhone(outcomeDead, 0)
		return err
	}
	attempt += p.Attempts // attempts of earlier tasks: boots that failed
	if err := w.stopInFlight(ctx, p.ID); err != nil {
		return err // one phone, one intent: its stop goes first
	}
	var res result
	if err = w.paused(ctx); err == nil {
		wait, cancel := w.handBackBy(ctx)
		res = w.batcher.startGuarded(ctx, wait, p.ID, attempt, p.Options, p.StopAfter)
		cancel()
		err = h.settle(ctx, t, res)
	}
	var pe *PhoneError
	if errors.As(err, &pe) && !pe.Permanent && attempt >= w.cfg.MaxAttempts {
		pe.Permanent = true // out of attempts: dead-letter with the last code
	}
	var pa *pausedError
	switch {
	case err == nil:
		w.countPhone(outcomeStarted, res.outcome.Code) // 0, or a code that means started (43010)
	case errors.As(err, &pe) && pe.Permanent:
		if lerr := w.bury(ctx, fleet.DeadPhone{ID: p.ID, Code: pe.Code, Reason: reasonOf(pe.Code), Msg: pe.Msg, StopAfter: p.StopAfter,
			Attempts: attempt, Options: p.Options}); lerr != nil {
			return lerr
		}
		w.countPhone(outcomeDead, pe.Code)
	case errors.As(err, &pa):
		w.countPhone(outcomePaused, pa.p.Code)
		if !pa.soon {
			// Parked until the fleet pause ends; a lift runs it sooner.
			if perr := w.pauses.Park(context.WithoutCancel(ctx), p.ID); perr != nil {
				w.log.Warn("cannot record a phone parked for the fleet pause", zap.String("id", p.ID), zap.Error(perr))
			}
		}
	case !isFailure(err):
		w.countPhone(outcomePaused, 0) // handed back at shutdown
	default:
		code := 0
		if pe != nil {
			code = pe.Code
		}
		w.countPhone(outcomeRetried, code)
		w.record(fleet.Event{Phone: p.ID, Event: fleet.EventRetry, Attempt: attempt, Code: code,
			Reason: reasonOf(code), Msg: failMsg(err)})
	}
	return err
}

// reasonOf is the reason of a failure with code (0: no GeeLark code).
func reasonOf(code int) string {
	if code == 0 {
		return fleet.ReasonUnknown
	}
	return fleet.ReasonGeeLark
}

func failMsg(err error) string {
	var pe *PhoneError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}

// settle maps a phone's call result to the handler's return value.
func (h *startHandler) settle(ctx context.Context, t *asynq.Task, res result) error {
	w := h.w
	if res.err != nil {
		var apiErr *geelark.APIError
		var ph *PhoneError
		switch {
		case errors.As(res.err, &apiErr):
			return h.codeErr(apiErr.Code, apiErr.Msg)
		case errors.As(res.err, &ph), !isFailure(res.err):
			return res.err
		case errors.Is(res.err, context.Canceled), errors.Is(res.err, context.DeadlineExceeded):
			if ctx.Err() != nil {
				return res.err // never sent; asynq decides
			}
			return &PhoneError{Msg: res.err.Error()}
		default:
			return &PhoneError{Msg: res.err.Error()}
		}
	}
	o := res.outcome
	switch o.Status {
	case geelark.StatusStarted:
		return h.started(t, tasks.Result{URL: o.URL, ChargingMethod: o.ChargingMethod, TraceID: res.traceID, StartedAt: w.cfg.Now().UTC()})
	case geelark.StatusFailed:
		if geelark.Lookup(o.Code).Class == geelark.ClassStarted {
			return h.started(t, tasks.Result{TraceID: res.traceID, StartedAt: w.cfg.Now().UTC(), Code: o.Code})
		}
		return h.codeErr(o.Code, o.Msg)
	default:
		return &PhoneError{Msg: "missing from the reply of call " + res.traceID}
	}
}

// codeErr is the handler's answer to a GeeLark code for this phone.
func (h *startHandler) codeErr(code int, msg string) error {
	info := geelark.Lookup(code)
	switch info.Class {
	case geelark.ClassPermanent:
		return &PhoneError{Code: code, Msg: msg, Permanent: true}
	case geelark.ClassRateLimited, geelark.ClassAccount:
		// The call that got this code paused the fleet, or this worker
		// alone; wait it out.
		if p, on, err := h.w.pauses.Current(context.Background()); err == nil && on && h.w.holds(p) {
			return h.wait(p)
		}
		if p, on := h.w.local.get(h.w.cfg.Now()); on {
			return &pausedError{p: p, soon: true}
		}
		now := h.w.cfg.Now()
		return &pausedError{p: fleet.Pause{Code: code, Msg: msg, Until: now.Add(max(info.RetryAfter(now), AccountProbeInterval))}}
	}
	e := &PhoneError{Code: code, Msg: msg}
	if info.Clears != nil {
		e.RetryAt = info.Clears(h.w.cfg.Now())
	}
	return e
}

// wait sends the phone back to wait out a pause, or dead-letters it when an
// account-wide error has lasted longer than MaxWait.
func (h *startHandler) wait(p fleet.Pause) error {
	if p.Class() == geelark.ClassAccount && !p.Since.IsZero() &&
		h.w.cfg.Now().Sub(p.Since) >= h.w.cfg.MaxWait {
		return &PhoneError{Code: p.Code, Msg: p.Msg + " (account-wide, unresolved for max-wait)", Permanent: true}
	}
	return &pausedError{p: p}
}

func (h *startHandler) started(t *asynq.Task, r tasks.Result) error {
	b, _ := json.Marshal(r)
	// The phone did start; a lost result must not make asynq start it again.
	_, _ = t.ResultWriter().Write(b)
	return nil
}

// bury records a dead phone in the ledger and the events stream, and logs
// it. A phone is archived by asynq only once its entry is written: if Redis
// does not take it, the phone waits (no attempt used) and is decided again.
func (w *Worker) bury(ctx context.Context, d fleet.DeadPhone) error {
	d.FailedAt = w.cfg.Now()
	if err := w.ledger.Add(context.WithoutCancel(ctx), d); err != nil {
		w.log.Warn("cannot record a dead phone in the ledger; it waits and is decided again",
			zap.String("id", d.ID), zap.Error(err))
		return &waitError{reason: "cannot record the dead phone in Redis: " + err.Error()}
	}
	w.log.Warn("phone dead-lettered", zap.String("id", d.ID), zap.Int("code", d.Code), zap.String("reason", d.Reason),
		zap.String("geelark_msg", d.Msg), zap.Int("attempts", d.Attempts))
	w.record(fleet.Event{Phone: d.ID, Event: fleet.EventDead, Attempt: d.Attempts, Code: d.Code, Reason: d.Reason, Msg: d.Msg, At: d.FailedAt})
	return nil
}

// record appends events to the events stream; a failure is logged, not
// returned: the phones' fate does not depend on it.
func (w *Worker) record(evs ...fleet.Event) {
	now := w.cfg.Now()
	for i := range evs {
		if evs[i].At.IsZero() {
			evs[i].At = now
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.journal.Record(ctx, evs...); err != nil {
		w.log.Warn("cannot record phone events in Redis", zap.Int("n", len(evs)), zap.Error(err))
	}
}

// attemptOf returns which attempt of its task this run is, from 1.
func attemptOf(ctx context.Context) int {
	if n, ok := asynq.GetRetryCount(ctx); ok {
		return n + 1
	}
	return 1
}

// buryBadTask dead-letters a task whose payload cannot be read (retrying
// cannot fix it), under its task ID. It returns that ID, and an error to
// return instead when the ledger did not take the entry.
func (w *Worker) buryBadTask(ctx context.Context, action string, attempt int, perr error) (string, error) {
	id, _ := asynq.GetTaskID(ctx)
	return id, w.bury(ctx, fleet.DeadPhone{ID: id, Action: action, Reason: fleet.ReasonBadTask, Msg: perr.Error(), Attempts: attempt})
}

// paused returns the pause a phone waits out instead of going to a batcher
// (this worker's own, or the fleet's), or nil.
func (w *Worker) paused(ctx context.Context) error {
	if lp, on := w.local.get(w.cfg.Now()); on {
		return &pausedError{p: lp, soon: true}
	}
	if pause, on, err := w.pauses.Current(ctx); err == nil && on && w.holds(pause) {
		return (&startHandler{w: w}).wait(pause)
	}
	return nil
}

// handBackBy returns the context a phone waits for its call in. asynq
// fails a task whose deadline passes, whatever the handler returns: a phone
// still waiting for its call (for the budget, say) is handed back two call
// timeouts before that, without using an attempt.
func (w *Worker) handBackBy(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-2*w.cfg.CallTimeout))
	}
	return ctx, func() {}
}
