package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// startHandler processes TypeStartPhone tasks. It is not offered for other
// asynq servers: its pauses and hand-backs rely on the worker's IsFailure,
// RetryDelayFunc and shutdown.
type startHandler struct{ w *Worker }

var _ asynq.Handler = (*startHandler)(nil)

// ProcessTask returns nil when the phone's task is done (it started, is
// dead, or the task was stale), a *PhoneError to retry it after its
// backoff, and an error that is no failure (a pause, a wait, a hand-back)
// to send it back without using an attempt.
func (h *startHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	w := h.w
	p, err := tasks.ParseStartPhone(t.Payload())
	if err != nil {
		return w.badTask(ctx, fleet.ActionStart, err)
	}
	if p.Gen == 0 {
		return w.adopt(ctx, fleet.Intent{Action: fleet.ActionStart, Options: p.Options, StopAfter: p.StopAfter}, p.ID)
	}
	return w.process(ctx, w.starts, p.ID, p.Gen, p.Task, p.Options)
}

// stopHandler processes TypeStopPhone tasks, as startHandler does starts.
type stopHandler struct{ w *Worker }

var _ asynq.Handler = (*stopHandler)(nil)

// ProcessTask returns nil when the phone's task is done (it stopped, is
// dead, or the task was stale), and errors as startHandler's.
func (h *stopHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	w := h.w
	p, err := tasks.ParseStopPhone(t.Payload())
	if err != nil {
		return w.badTask(ctx, fleet.ActionStop, err)
	}
	if p.Gen == 0 {
		return w.adopt(ctx, fleet.Intent{Action: fleet.ActionStop}, p.ID)
	}
	// Due at the whole second before its time (asynq's precision): wait
	// out the rest, up to that second.
	if d := time.Until(p.NotBefore); d > 0 && d <= time.Second {
		if err := clock.Sleep(ctx, d); err != nil {
			return &waitError{reason: "stopping before its time: " + err.Error()}
		}
	}
	return w.process(ctx, w.stops, p.ID, p.Gen, p.Task, geelark.StartOptions{})
}

// adopt takes a task written without a record (by an earlier version, or by
// hand): its phone's record takes the intent, as if it had been enqueued,
// and gets a task of its own; this one is done. A phone that already has
// the intent under way is left to it.
func (w *Worker) adopt(ctx context.Context, in fleet.Intent, id string) error {
	ps, err := w.store.Place(ctx, in, []string{id})
	if err != nil {
		return &waitError{reason: "cannot record the phone of a task without a record: " + err.Error()}
	}
	if p := ps[0]; p.New {
		t, err := w.sp.NewTask(fleet.TaskSpec{Action: in.Action, ID: id, Gen: p.Gen, Task: p.Task, Options: in.Options})
		if err == nil {
			err = fleet.WriteTask(ctx, w.aq, t)
		}
		if err != nil {
			// The reconciler writes it.
			w.log.Warn("cannot write the task of an adopted phone; the reconciler will", zap.String("id", id), zap.Error(err))
		}
	}
	return nil
}

// badTask dead-letters a task whose payload cannot be read (retrying
// cannot fix it), under the phone its task ID names, and returns the parse
// error (it wraps asynq.SkipRetry: asynq archives the task).
func (w *Worker) badTask(ctx context.Context, act string, perr error) error {
	tid, _ := asynq.GetTaskID(ctx)
	id := phoneOfTask(tid)
	if err := w.store.BuryBadTask(context.WithoutCancel(ctx), id, act, perr.Error()); err != nil {
		return &waitError{reason: "cannot record the dead task in Redis: " + err.Error()}
	}
	w.log.Warn("task dead-lettered: its payload cannot be read", zap.String("task_id", tid), zap.String("action", act), zap.Error(perr))
	w.starts.count(outcomeDead, 0)
	return perr
}

// phoneOfTask is the phone ID of a task ID (ID:gen:n, or an ID alone).
func phoneOfTask(tid string) string {
	for i := 0; i < len(tid); i++ {
		if tid[i] == ':' {
			return tid[:i]
		}
	}
	return tid
}
