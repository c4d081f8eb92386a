package worker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// Stops. Stop tasks (tasks.StopQueue) are served by the same asynq server
// as starts and packed by a batcher of their own into stop calls of up to
// geelark.MaxStopIDs, within the stop endpoint's budget (StopLimiter).
// Stopping a phone twice is harmless, so a stop whose outcome is unknown is
// simply sent again: stops need no sent marks and no reconciliation. A
// phone's start and stop are never in flight together: each handler waits
// (no attempt used) while the other task of its phone is active.

// newStops builds the stop batcher and, with a Registerer, the stop
// metrics.
func (w *Worker) newStops() error {
	size := min(w.cfg.BatchSize, geelark.MaxStopIDs)
	admit := func(ctx context.Context) error { return w.admitWith(ctx, w.cfg.StopLimiter) }
	w.stops = newBatcher(size, w.cfg.BatchWait, time.Now, admit, w.sendStop)
	w.stopping = fleet.NewStopping(w.cfg.Redis)
	if w.cfg.Registerer != nil {
		w.stopStats = newStopMetrics()
		if err := w.cfg.Registerer.Register(w.stopStats); err != nil {
			return configErr("Registerer", "Registerer: %v", err)
		}
	}
	return nil
}

// stopHandler processes TypeStopPhone tasks, as startHandler does starts.
type stopHandler struct{ w *Worker }

var _ asynq.Handler = (*stopHandler)(nil)

// ProcessTask returns nil when the phone stopped, an error wrapping
// asynq.SkipRetry when it never will, and any other error to retry it.
func (h *stopHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	w := h.w
	attempt := attemptOf(ctx)
	p, err := tasks.ParseStopPhone(t.Payload())
	if err != nil {
		id, lerr := w.buryBadTask(ctx, fleet.ActionStop, attempt, err)
		if lerr != nil {
			return lerr
		}
		w.forgetStop(id)
		w.countStop(outcomeDead, 0)
		return err
	}
	attempt += p.Attempts
	// Due at the whole second before its time (asynq's precision): wait
	// out the rest, up to that second.
	if d := time.Until(p.NotBefore); d > 0 && d <= time.Second {
		if err := clock.Sleep(ctx, d); err != nil {
			return &waitError{reason: "stopping before its time: " + err.Error()}
		}
	}
	sh := &startHandler{w: w} // pauses and codes are answered as for starts
	var res result
	if active, aerr := w.taskActive(tasks.Queue, tasks.TaskID(p.ID)); aerr != nil {
		err = &waitError{reason: "cannot look up the phone's start task: " + aerr.Error()}
	} else if active {
		err = &waitError{reason: "the phone's start is in progress; its stop follows it"}
	} else if err = w.paused(ctx); err == nil {
		wait, cancel := w.handBackBy(ctx)
		res = w.stops.start(ctx, wait, p.ID, attempt, geelark.StartOptions{})
		cancel()
		err = sh.settleStop(ctx, res)
	}
	var pe *PhoneError
	if errors.As(err, &pe) && !pe.Permanent && attempt >= w.cfg.MaxAttempts {
		pe.Permanent = true
	}
	var pa *pausedError
	switch {
	case err == nil:
		w.phoneStopped(ctx, p.ID, attempt)
	case errors.As(err, &pe) && pe.Permanent:
		if lerr := w.bury(ctx, fleet.DeadPhone{ID: p.ID, Action: fleet.ActionStop, Code: pe.Code, Reason: reasonOf(pe.Code),
			Msg: pe.Msg, Attempts: attempt}); lerr != nil {
			return lerr
		}
		w.forgetStop(p.ID)
		w.countStop(outcomeDead, pe.Code)
	case errors.As(err, &pa):
		w.countStop(outcomePaused, pa.p.Code)
	case !isFailure(err):
		w.countStop(outcomePaused, 0)
	default:
		code := 0
		if pe != nil {
			code = pe.Code
		}
		w.countStop(outcomeRetried, code)
	}
	return err
}

// settleStop maps a phone's stop call result to the handler's return value.
func (h *startHandler) settleStop(ctx context.Context, res result) error {
	if res.err != nil {
		var apiErr *geelark.APIError
		var ph *PhoneError
		switch {
		case errors.As(res.err, &apiErr):
			return h.codeErr(apiErr.Code, apiErr.Msg)
		case errors.As(res.err, &ph), !isFailure(res.err):
			return res.err
		case ctx.Err() != nil:
			return res.err
		default:
			return &PhoneError{Msg: res.err.Error()}
		}
	}
	switch o := res.outcome; o.Status {
	case geelark.StatusStopped:
		return nil
	case geelark.StatusFailed:
		return h.codeErr(o.Code, o.Msg)
	default:
		// Stopping twice is harmless: the phone is simply stopped again.
		return &PhoneError{Msg: "missing from the reply of stop call " + res.traceID}
	}
}

// phoneStopped settles a stopped phone: its event, and no boot to confirm.
func (w *Worker) phoneStopped(ctx context.Context, id string, attempt int) {
	w.record(fleet.Event{Phone: id, Event: fleet.EventStopped, Attempt: attempt})
	if err := w.boots.Done(context.WithoutCancel(ctx), id); err != nil {
		w.log.Warn("cannot clear the boot of a stopped phone in Redis", zap.String("id", id), zap.Error(err))
	}
	w.forgetStop(id)
	w.countStop(outcomeStopped, 0)
}

// forgetStop drops id from the phones with a stop to come.
func (w *Worker) forgetStop(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.stopping.Remove(ctx, id); err != nil {
		w.log.Warn("cannot clear a finished stop in Redis", zap.String("id", id), zap.Error(err))
	}
}

// stopInFlight returns a *waitError while the phone's stop task is being
// processed, so that its start waits for it (no attempt used): one phone,
// one intent at a time. Only phones with a stop to come are looked up.
func (w *Worker) stopInFlight(ctx context.Context, id string) error {
	hit, err := w.stopping.Which(ctx, id)
	if err != nil || len(hit) == 0 {
		return nil // no stop known; Redis errors surface in the start itself
	}
	active, err := w.taskActive(tasks.StopQueue, tasks.StopTaskID(id))
	if err != nil || !active {
		return nil
	}
	return &waitError{reason: "the phone's stop is in progress; its start follows it"}
}

// taskActive reports whether the task id of queue is being processed.
func (w *Worker) taskActive(queue, id string) (bool, error) {
	ti, err := w.insp.GetTaskInfo(queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return ti.State == asynq.TaskStateActive, nil
}

// sendStop makes one stop call for a batch the stop batcher admitted and
// delivers each phone's result. A call refused with a code one of its IDs
// can cause is split in halves, as start calls are.
func (w *Worker) sendStop(_ geelark.StartOptions, batch []*request) {
	if w.cfg.Stop == nil {
		deliver(batch, result{err: &waitError{reason: "this worker has no API client that stops phones"}})
		return
	}
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	began := time.Now()
	res, err := w.cfg.Stop.StopPhones(context.Background(), ids)
	latency := time.Since(began)
	traceID := ""
	if res != nil {
		traceID = res.TraceID
	}
	w.afterStopCall(ids, res, err, traceID, latency)
	var apiErr *geelark.APIError
	if errors.As(err, &apiErr) && len(batch) > 1 && geelark.Lookup(apiErr.Code).PerID {
		w.split(batch, w.cfg.StopLimiter, func(half []*request) { w.sendStop(geelark.StartOptions{}, half) })
		return
	}
	var outcomes []geelark.Outcome
	if err == nil {
		outcomes = res.Outcomes
	}
	answer(batch, outcomes, traceID, err)
}

// afterStopCall logs and counts a stop call, and turns rate-limit and
// account-wide codes into a pause, as for start calls.
func (w *Worker) afterStopCall(ids []string, res *geelark.StopResult, err error, traceID string, latency time.Duration) {
	ctx := context.Background()
	fields := []zap.Field{zap.String("trace_id", traceID), zap.Int("n", len(ids)), zap.Duration("latency", latency)}
	w.stats.add(func(s *Stats) { s.StopCalls++ })
	var apiErr *geelark.APIError
	switch {
	case errors.As(err, &apiErr):
		w.stopStats.call("refused-"+strconv.Itoa(apiErr.Code), len(ids))
		w.callRefused(ctx, "stop call refused", fields, apiErr)
		return
	case err != nil:
		w.stopStats.call("unknown", len(ids))
		w.log.Warn("stop call outcome unknown; its phones are stopped again", append(fields, zap.Error(err))...)
		return
	}
	w.stopStats.call("answered", len(ids))
	stopped, unknown := 0, 0
	codes := map[string]int{}
	for _, o := range res.Outcomes {
		switch o.Status {
		case geelark.StatusStopped:
			stopped++
		case geelark.StatusFailed:
			codes[strconv.Itoa(o.Code)]++
			if c := geelark.Lookup(o.Code).Class; c == geelark.ClassAccount || c == geelark.ClassRateLimited {
				w.pauseFor(ctx, o.Code, o.Msg)
			}
		default:
			unknown++
		}
	}
	w.log.Info("stop call", append(fields, zap.Int("stopped", stopped), zap.Any("failed", codes), zap.Int("unknown", unknown))...)
}

// guardStops is the billing guard: it schedules a stop of each phone its
// stop-after (or MaxRuntime, when it has none) after from. A phone that
// already has a stop to come keeps it.
func (w *Worker) guardStops(from time.Time, boots ...fleet.Boot) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, bt := range boots {
		d := bt.StopAfter
		if d <= 0 {
			d = w.cfg.MaxRuntime
		}
		if d <= 0 {
			continue
		}
		// asynq dates a scheduled task by the wall clock, to the second:
		// the task is due at the second before from + d, and the stop
		// handler waits out the rest (tasks.StopPhone.NotBefore).
		at := time.Now().Add(from.Add(d).Sub(w.cfg.Now()))
		if err := w.stopAt(ctx, bt.ID, at); err != nil {
			w.log.Error("cannot schedule the billing guard's stop of a phone: it runs until stopped",
				zap.String("id", bt.ID), zap.Duration("stop_after", d), zap.Error(err))
			continue
		}
		w.log.Debug("phone stop scheduled", zap.String("id", bt.ID), zap.Time("at", at))
	}
}

// stopAt enqueues a stop task for id at at. A stop already pending,
// scheduled, retrying or active is left as it is; a finished one is
// replaced.
func (w *Worker) stopAt(ctx context.Context, id string, at time.Time) error {
	t, err := tasks.NewStopTask(tasks.StopPhone{ID: id, NotBefore: at}, asynq.ProcessAt(at.Truncate(time.Second)))
	if err != nil {
		return err
	}
	// In the set first: a start enqueued meanwhile finds the stop it
	// cancels.
	if err := w.stopping.Add(ctx, id); err != nil {
		return err
	}
	for range 2 {
		_, err = w.aq.EnqueueContext(ctx, t)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			break
		}
		ti, ierr := w.insp.GetTaskInfo(tasks.StopQueue, tasks.StopTaskID(id))
		if errors.Is(ierr, asynq.ErrTaskNotFound) {
			continue
		}
		if ierr != nil {
			return ierr
		}
		if ti.State != asynq.TaskStateCompleted && ti.State != asynq.TaskStateArchived {
			return nil // a stop to come already
		}
		if derr := w.insp.DeleteTask(tasks.StopQueue, ti.ID); derr != nil && !errors.Is(derr, asynq.ErrTaskNotFound) {
			return derr
		}
	}
	return err
}
