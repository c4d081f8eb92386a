package queueadmin

import (
	"context"
	"fmt"
	"slices"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// requeueStops enqueues a stop again for each dead stop of sel and drops
// those from the ledger. It returns the dead starts left to requeue and how
// many stops it enqueued.
func (a *Admin) requeueStops(ctx context.Context, sel []DeadPhone) (starts []DeadPhone, n int, err error) {
	var stops []string
	for _, d := range sel {
		if d.Action == fleet.ActionStop {
			stops = append(stops, d.ID)
		} else {
			starts = append(starts, d)
		}
	}
	if len(stops) == 0 {
		return starts, 0, nil
	}
	rep, err := a.enq.Stop(ctx, enqueue.StopRequest{IDs: stops})
	if err != nil {
		return nil, rep.Stopped, err
	}
	if _, err := a.ledger.Remove(ctx, stops...); err != nil {
		return nil, rep.Stopped, fmt.Errorf("drop requeued stops from the ledger: %w", err)
	}
	return starts, rep.Stopped, nil
}

// StopCounts are stop tasks by state.
type StopCounts struct {
	Pending   int `json:"pending"`
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	Active    int `json:"active"`
}

// Total is every stop still to be done.
func (c StopCounts) Total() int { return c.Pending + c.Scheduled + c.Retry + c.Active }

// StopCounts returns the number of stop tasks in each state. Dead stops are
// in the ledger with the dead starts (Counts.Dead), with action "stop".
func (a *Admin) StopCounts(ctx context.Context) (StopCounts, error) {
	queues, err := a.insp.Queues()
	if err != nil {
		return StopCounts{}, fmt.Errorf("list queues: %w", err)
	}
	if !slices.Contains(queues, tasks.StopQueue) {
		return StopCounts{}, nil
	}
	q, err := a.insp.GetQueueInfo(tasks.StopQueue)
	if err != nil {
		return StopCounts{}, fmt.Errorf("read queue %s: %w", tasks.StopQueue, err)
	}
	return StopCounts{Pending: q.Pending, Scheduled: q.Scheduled, Retry: q.Retry, Active: q.Active}, nil
}
