package worker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Stops. Stop tasks (the stop queue) are served by the same asynq server
// as starts, down the same path (claim, call, settle), packed by a batcher
// of their own into stop calls of up to geelark.MaxStopIDs, within the
// stop endpoint's budget (StopLimiter). Stopping a phone twice is
// harmless, so a stop whose outcome is unknown is simply sent again. A
// phone's start and stop are never in a call together: the claim of one
// waits (no attempt used) while the other is in a call.

// newStops builds the stop side and, with a Registerer, the stop metrics.
func (w *Worker) newStops() (*action, error) {
	if w.cfg.Registerer != nil {
		w.stopStats = newStopMetrics()
		if err := w.cfg.Registerer.Register(w.stopStats); err != nil {
			return nil, configErr("Registerer", "Registerer: %v", err)
		}
	}
	a := &action{
		name:    fleet.ActionStop,
		limiter: w.cfg.StopLimiter,
		done:    geelark.StatusStopped,
		call: func(ctx context.Context, ids []string, _ geelark.StartOptions) ([]geelark.Outcome, string, error) {
			if w.cfg.Stop == nil {
				return nil, "", errNoStopper
			}
			res, err := w.cfg.Stop.StopPhones(ctx, ids)
			if res == nil {
				return nil, "", err
			}
			return res.Outcomes, res.TraceID, err
		},
		after: w.afterStopCall,
		count: w.countStop,
	}
	size := min(w.cfg.BatchSize, geelark.MaxStopIDs)
	admit := func(ctx context.Context) error { return w.admitWith(ctx, w.cfg.StopLimiter) }
	a.batcher = newBatcher(size, w.cfg.BatchWait, time.Now, admit,
		func(opts geelark.StartOptions, batch []*request) { w.send(a, opts, batch) })
	return a, nil
}

// errNoStopper is the outcome of a stop call on a worker with no API client
// that stops phones: the stop is tried again.
var errNoStopper = errors.New("this worker has no API client that stops phones")

// afterStopCall logs and counts a stop call, and turns rate-limit and
// account-wide codes into a pause, as for start calls.
func (w *Worker) afterStopCall(ids []string, outcomes []geelark.Outcome, traceID string, err error, latency time.Duration) {
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
	for _, o := range outcomes {
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

// guard writes the billing guard's stop of phone id, whose record (at
// generation gen, task n) is ready with its guard at at (fleet time). A
// failed write is left to the reconciler, which finds the record waiting
// for the task.
func (w *Worker) guard(ctx context.Context, id string, gen int64, n int, at time.Time) {
	// asynq dates a scheduled task by the wall clock, to the second: the
	// task is due at the second before the guard, and the stop handler
	// waits out the rest (tasks.StopPhone.NotBefore).
	local := time.Now().Add(at.Sub(w.cfg.Now()))
	t, err := w.sp.NewTask(fleet.TaskSpec{Action: fleet.ActionStop, ID: id, Gen: gen, Task: n, At: local, NotBefore: local})
	if err == nil {
		err = fleet.WriteTask(ctx, w.aq, t)
	}
	if err != nil {
		w.log.Warn("cannot write the billing guard's stop of a phone; the reconciler will", zap.String("id", id), zap.Error(err))
		return
	}
	w.log.Debug("phone stop scheduled", zap.String("id", id), zap.Time("at", local))
}
