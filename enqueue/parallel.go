package enqueue

import (
	"context"
	"errors"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
)

var errDuplicate = errors.New("duplicate")

// enqueueAll enqueues one task per id with up to c.parallel in flight, so
// that n phones cost about n/parallel round-trip times rather than n. The
// result for ids[i] is results[i]: nil, errDuplicate, or the Redis error.
func (c *Client) enqueueAll(ctx context.Context, ids []string, opts geelark.StartOptions, when asynq.Option) []error {
	results := make([]error, len(ids))
	extra := []asynq.Option{asynq.Retention(c.retention)}
	if when != nil {
		extra = append(extra, when)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(c.parallel, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = c.enqueueOne(ctx, ids[i], opts, extra)
			}
		}()
	}
	for i := range ids {
		if ctx.Err() != nil {
			results[i] = ctx.Err()
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// enqueueOne enqueues a phone's task. When a task of that phone exists, the
// phone is a duplicate unless its task has completed or been archived: then
// the old task is deleted and the phone enqueued anew.
func (c *Client) enqueueOne(ctx context.Context, id string, opts geelark.StartOptions, extra []asynq.Option) error {
	task, err := tasks.NewStartTask(id, opts, extra...)
	if err != nil {
		return err // validated before; cannot happen
	}
	for range 3 {
		_, err = c.asynq.EnqueueContext(ctx, task)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
		info, err := c.inspector.GetTaskInfo(tasks.Queue, tasks.TaskID(id))
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound):
			continue // gone since: try again
		case err != nil:
			return err
		}
		if info.State != asynq.TaskStateCompleted && info.State != asynq.TaskStateArchived {
			return errDuplicate
		}
		err = c.inspector.DeleteTask(tasks.Queue, tasks.TaskID(id))
		if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return err
		}
	}
	return errDuplicate
}
