package queueadmin

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/tasks"
)

// CancelReport is what Cancel did, by phone.
type CancelReport struct {
	// Cancelled are the phones whose pending, scheduled or retrying start
	// was removed.
	Cancelled []string
	// NotFound are the phones with no start waiting: never enqueued,
	// already started (completed) or dead-lettered. Cancel leaves dead
	// phones to `dead purge`.
	NotFound []string
	// Active are the phones being started right now: their call may already
	// be at GeeLark, so they are not cancelled.
	Active []string
}

// Cancel removes the waiting start tasks of ids: pending, scheduled or
// retrying. A phone being started right now (active) is left alone and
// reported, as is a phone with no waiting start. An ID given twice counts
// once. It stops at the first Redis error, returning what it did so far.
func (a *Admin) Cancel(ctx context.Context, ids []string) (CancelReport, error) {
	var rep CancelReport
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		state, err := a.state(id)
		if err != nil {
			return rep, err
		}
		switch state {
		case asynq.TaskStatePending, asynq.TaskStateScheduled, asynq.TaskStateRetry:
		case asynq.TaskStateActive:
			rep.Active = append(rep.Active, id)
			continue
		default: // none, completed, archived, aggregating
			rep.NotFound = append(rep.NotFound, id)
			continue
		}
		err = a.insp.DeleteTask(tasks.Queue, tasks.TaskID(id))
		switch {
		case err == nil:
			rep.Cancelled = append(rep.Cancelled, id)
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			// Started and completed between the two reads.
			rep.NotFound = append(rep.NotFound, id)
		default:
			// asynq refuses to delete an active task; a worker may have
			// taken the phone between the two reads.
			if s, err2 := a.state(id); err2 == nil && s == asynq.TaskStateActive {
				rep.Active = append(rep.Active, id)
				continue
			}
			return rep, fmt.Errorf("cancel %s: %w", id, err)
		}
	}
	return rep, nil
}

// state returns the state of phone id's task, or 0 when there is none.
func (a *Admin) state(id string) (asynq.TaskState, error) {
	ti, err := a.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read phone %s: %w", id, err)
	}
	return ti.State, nil
}
