package enqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// StopRequest asks for phones to be stopped (shut down).
type StopRequest struct {
	// IDs are the phones to stop. Each must pass geelark.ValidateID. An ID
	// given twice is stopped once and reported once as a duplicate.
	IDs []string
	// At, when set, stops the phones at that time instead of now.
	At time.Time
	// In, when set, stops the phones that long from now. At most one of At
	// and In may be set.
	In time.Duration
}

// StopReport says what a stop request did.
type StopReport struct {
	// Stopped counts the stop tasks enqueued.
	Stopped int `json:"stopped"`
	// CancelledStarts counts the phones whose pending, scheduled or
	// retrying start was cancelled: one phone, one intent, the later
	// request wins. A start already under way is not cancelled: the stop
	// waits for it to finish, then goes out.
	CancelledStarts int `json:"cancelled_starts"`
	// Duplicates lists the phones that already had a stop pending,
	// scheduled, retrying or under way (or were given twice).
	Duplicates []string `json:"-"`
}

// Validate checks r without touching Redis.
func (r StopRequest) Validate() error {
	if len(r.IDs) == 0 {
		return &InputError{Field: "ids", Err: errors.New("no phone IDs")}
	}
	for i, id := range r.IDs {
		if err := geelark.ValidateID(id); err != nil {
			return &InputError{Field: fmt.Sprintf("ids[%d]", i), Err: err}
		}
	}
	switch {
	case !r.At.IsZero() && r.In != 0:
		return &InputError{Field: "at", Err: errors.New("set at most one of At and In")}
	case r.In < 0:
		return &InputError{Field: "in", Err: fmt.Errorf("%v is negative", r.In)}
	}
	return nil
}

// Stop validates r, then, for each phone, cancels its pending, scheduled or
// retrying start and enqueues one stop task (tasks.StopQueue), Parallelism
// phones at a time. Workers send the stops in calls of up to
// geelark.MaxStopIDs within the stop endpoint's budget.
//
// When Redis fails part way, or ctx ends, Stop returns the error with the
// Report of what was done before it; stopping the same phones again is
// safe: stops already enqueued come back as duplicates.
func (c *Client) Stop(ctx context.Context, r StopRequest) (StopReport, error) {
	if err := r.Validate(); err != nil {
		return StopReport{}, err
	}
	var extra []asynq.Option
	switch {
	case !r.At.IsZero():
		extra = append(extra, asynq.ProcessAt(r.At))
	case r.In > 0:
		extra = append(extra, asynq.ProcessAt(time.Now().Add(r.In)))
	}
	ids, dups := unique(r.IDs)
	rep := StopReport{Duplicates: dups}
	stopping := fleet.NewStopping(c.rdb)
	// In the set before the tasks exist: a start enqueued meanwhile finds
	// the stop it cancels.
	if err := stopping.Add(ctx, ids...); err != nil {
		return rep, fmt.Errorf("enqueue: record phones to stop: %w", err)
	}
	results := make([]error, len(ids))
	var cancelled atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(c.parallel, len(ids)) {
		wg.Go(func() {
			for i := range jobs {
				ok, err := c.cancelStart(ctx, ids[i])
				if ok {
					cancelled.Add(1)
				}
				if err == nil {
					err = c.writeStop(ctx, ids[i], extra)
				}
				results[i] = err
			}
		})
	}
	for i := range ids {
		if ctx.Err() != nil {
			for k := i; k < len(ids); k++ {
				results[k] = ctx.Err()
			}
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rep.CancelledStarts = int(cancelled.Load())
	var firstErr error
	var enqueued []string
	for i, res := range results {
		switch {
		case res == nil:
			rep.Stopped++
			enqueued = append(enqueued, ids[i])
		case errors.Is(res, errDuplicate):
			rep.Duplicates = append(rep.Duplicates, ids[i])
		case firstErr == nil:
			firstErr = fmt.Errorf("enqueue: stop phone %s: %w", ids[i], res)
		}
	}
	if err := c.afterStops(ctx, enqueued); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("enqueue: after enqueueing %d stops: %w", len(enqueued), err)
	}
	return rep, firstErr
}

// afterStops drops the phones' dead stops from the ledger (their dead
// starts stay) and records a stop_enqueued event each.
func (c *Client) afterStops(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ledger := fleet.NewLedger(c.rdb, 0)
	journal := fleet.NewJournal(c.rdb, c.eventsMax)
	now := time.Now()
	for lo := 0; lo < len(ids); lo += chunkSize {
		part := ids[lo:min(lo+chunkSize, len(ids))]
		dead, err := ledger.Get(ctx, part...)
		if err != nil {
			return fmt.Errorf("read the dead-letter ledger: %w", err)
		}
		var drop []string
		for _, d := range dead {
			if d.Action == fleet.ActionStop {
				drop = append(drop, d.ID)
			}
		}
		if _, err := ledger.Remove(ctx, drop...); err != nil {
			return fmt.Errorf("drop from the dead-letter ledger: %w", err)
		}
		evs := make([]fleet.Event, len(part))
		for i, id := range part {
			evs[i] = fleet.Event{Phone: id, Event: fleet.EventStopEnqueued, At: now}
		}
		if err := journal.Record(ctx, evs...); err != nil {
			return fmt.Errorf("record events: %w", err)
		}
	}
	return nil
}

// cancelStart deletes the phone's start task when it is pending, scheduled
// or retrying, and reports whether it did. A start under way, finished or
// dead is left alone.
func (c *Client) cancelStart(ctx context.Context, id string) (bool, error) {
	return c.cancelTask(ctx, tasks.Queue, tasks.TaskID(id))
}

// cancelTask deletes task id of queue when it is pending, scheduled or
// retrying. asynq's Inspector deletes a task whatever its state, so the
// state is looked up first; a task that became active in between is
// refused by the delete, and left alone.
func (c *Client) cancelTask(ctx context.Context, queue, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ti, err := c.insp.GetTaskInfo(queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up the phone's task in %s: %w", queue, err)
	}
	switch ti.State {
	case asynq.TaskStatePending, asynq.TaskStateScheduled, asynq.TaskStateRetry:
	default:
		return false, nil
	}
	err = c.insp.DeleteTask(queue, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, asynq.ErrTaskNotFound):
		return false, nil
	}
	if ti, ierr := c.insp.GetTaskInfo(queue, id); ierr == nil && ti.State == asynq.TaskStateActive {
		return false, nil // it started meanwhile
	}
	return false, fmt.Errorf("cancel the phone's task in %s: %w", queue, err)
}

// writeStop enqueues the stop task of one phone: nil when written,
// errDuplicate when a stop of it is pending, scheduled, retrying or under
// way. A finished or dead stop task is replaced.
func (c *Client) writeStop(ctx context.Context, id string, extra []asynq.Option) error {
	task, err := tasks.NewStopTask(tasks.StopPhone{ID: id}, extra...)
	if err != nil {
		return err
	}
	_, err = c.aq.EnqueueContext(ctx, task)
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	return c.replaceFinished(ctx, id, tasks.StopQueue, tasks.StopTaskID(id), task)
}

// cancelStops is Start's step for one phone, one intent: the phones of the
// request that were enqueued or found already starting lose their pending,
// scheduled or retrying stop. Only phones in the stopping set are looked
// up, a round trip per chunk otherwise.
func (c *Client) cancelStops(ctx context.Context, ids []string, results []error) (int, error) {
	var started []string
	for i, res := range results {
		if res == nil || errors.Is(res, errDuplicate) {
			started = append(started, ids[i])
		}
	}
	stopping := fleet.NewStopping(c.rdb)
	n := 0
	for lo := 0; lo < len(started); lo += chunkSize {
		hits, err := stopping.Which(ctx, started[lo:min(lo+chunkSize, len(started))]...)
		if err != nil {
			return n, fmt.Errorf("enqueue: look up phones' stops: %w", err)
		}
		for _, id := range hits {
			ok, err := c.cancelTask(ctx, tasks.StopQueue, tasks.StopTaskID(id))
			if err != nil {
				return n, fmt.Errorf("enqueue: phone %s: %w", id, err)
			}
			if ok {
				n++
				if err := stopping.Remove(ctx, id); err != nil {
					return n, fmt.Errorf("enqueue: phone %s: forget its cancelled stop: %w", id, err)
				}
			}
		}
	}
	return n, nil
}
