// Package queueadmin reads and repairs phonestart's queue for people: counts by
// state, the dead-letter ledger (fleet.Ledger), requeue and purge.
package queueadmin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// Admin inspects and repairs the queue on one Redis.
type Admin struct {
	insp   *asynq.Inspector
	enq    *enqueue.Client
	ledger *fleet.Ledger
	boots  *fleet.Boots
	// journal records requeues and purges, capped as enq's events are.
	journal *fleet.Journal
}

// New returns an Admin for rdb; requeues go through enq.
func New(rdb redis.UniversalClient, enq *enqueue.Client) *Admin {
	return &Admin{insp: asynq.NewInspectorFromRedisClient(rdb), enq: enq, ledger: fleet.NewLedger(rdb, 0),
		boots: fleet.NewBoots(rdb), journal: enq.Journal()}
}

// Counts are phones by state.
type Counts struct {
	Pending   int `json:"pending"`
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	Active    int `json:"active"`
	Dead      int `json:"dead"`
	// Booting counts phones GeeLark accepted and has not yet reported
	// usable (fleet.Boots).
	Booting int `json:"booting"`
}

// Counts returns the number of phones in each state.
func (a *Admin) Counts(ctx context.Context) (Counts, error) {
	dead, err := a.ledger.Count(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("count dead phones: %w", err)
	}
	booting, err := a.boots.Count(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("count booting phones: %w", err)
	}
	// GetQueueInfo does not map a missing queue to ErrQueueNotFound: ask
	// first. A queue appears with its first task.
	queues, err := a.insp.Queues()
	if err != nil {
		return Counts{}, fmt.Errorf("list queues: %w", err)
	}
	if !slices.Contains(queues, tasks.Queue) {
		return Counts{Dead: dead, Booting: booting}, nil
	}
	q, err := a.insp.GetQueueInfo(tasks.Queue)
	if err != nil {
		return Counts{}, fmt.Errorf("read queue %s: %w", tasks.Queue, err)
	}
	return Counts{Pending: q.Pending, Scheduled: q.Scheduled, Retry: q.Retry, Active: q.Active, Dead: dead, Booting: booting}, nil
}

// DeadPhone is one entry of the dead-letter ledger.
type DeadPhone = fleet.DeadPhone

// DeadPage returns up to limit dead phones in ID order after the phone
// after ("" for the first), and the after of the next page ("" on the last).
func (a *Admin) DeadPage(ctx context.Context, after string, limit int) ([]DeadPhone, string, error) {
	out, next, err := a.ledger.Page(ctx, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list dead phones: %w", err)
	}
	return out, next, nil
}

// chunk is how many dead phones --all handles at a time.
const chunk = 1000

// each calls f with the dead phones named by ids, or with all of them a
// chunk at a time. A named ID that is not dead is an error, before f is
// called at all.
func (a *Admin) each(ctx context.Context, all bool, ids []string, f func([]DeadPhone) error) error {
	if all == (len(ids) > 0) {
		return errors.New("name phone IDs or --all, not both and not neither")
	}
	if !all {
		sel, err := a.ledger.Get(ctx, ids...)
		if err != nil {
			return fmt.Errorf("read dead phones: %w", err)
		}
		if len(sel) < len(ids) {
			found := make(map[string]bool, len(sel))
			for _, d := range sel {
				found[d.ID] = true
			}
			for _, id := range ids {
				if !found[id] {
					return fmt.Errorf("phone %q is not dead-lettered", id)
				}
			}
		}
		return f(sel)
	}
	// Pages follow ID order, so entries f removes, and entries added
	// meanwhile behind the cursor, do not shift what comes next.
	after := ""
	for {
		page, next, err := a.ledger.Page(ctx, after, chunk)
		if err != nil {
			return fmt.Errorf("read dead phones: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := f(page); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// Requeue enqueues dead phones again with their own start options and a
// fresh set of attempts, and returns how many were requeued. A phone is
// dropped from the ledger as it is enqueued (package enqueue does that).
func (a *Admin) Requeue(ctx context.Context, all bool, ids []string) (int, error) {
	n := 0
	err := a.each(ctx, all, ids, func(sel []DeadPhone) error {
		byOpts := map[string]*enqueue.Request{}
		var order []string
		sel, stops, err := a.requeueStops(ctx, sel) // dead stops are stopped again
		n += stops
		if err != nil {
			return err
		}
		for _, d := range sel {
			k := d.Options.Key() + "/" + d.StopAfter.String()
			if byOpts[k] == nil {
				byOpts[k] = &enqueue.Request{Options: d.Options, StopAfter: d.StopAfter}
				order = append(order, k)
			}
			byOpts[k].IDs = append(byOpts[k].IDs, d.ID)
		}
		for _, k := range order {
			req := *byOpts[k]
			// Recorded first: a worker may start a phone as soon as it
			// is enqueued, and its events must come after this one.
			if err := a.record(ctx, fleet.EventRequeued, req.IDs); err != nil {
				return err
			}
			rep, err := a.enq.Start(ctx, req)
			n += rep.Enqueued
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Purge deletes dead phones for good and returns how many.
func (a *Admin) Purge(ctx context.Context, all bool, ids []string) (int, error) {
	n := 0
	err := a.each(ctx, all, ids, func(sel []DeadPhone) error {
		for _, d := range sel {
			// asynq's archive keeps the newest for its web UI; drop the
			// phone there too.
			err := a.insp.DeleteTask(tasks.Queue, tasks.TaskID(d.ID))
			if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
				return fmt.Errorf("purge %s: %w", d.ID, err)
			}
		}
		ids := make([]string, len(sel))
		for i, d := range sel {
			ids[i] = d.ID
		}
		k, err := a.ledger.Remove(ctx, ids...)
		n += k
		if err != nil {
			return err
		}
		return a.record(ctx, fleet.EventPurged, ids)
	})
	return n, err
}

// record appends one event of kind ev per phone to the events stream.
func (a *Admin) record(ctx context.Context, ev string, ids []string) error {
	now := time.Now()
	evs := make([]fleet.Event, len(ids))
	for i, id := range ids {
		evs[i] = fleet.Event{Phone: id, Event: ev, At: now}
	}
	if err := a.journal.Record(ctx, evs...); err != nil {
		return fmt.Errorf("record %s events: %w", ev, err)
	}
	return nil
}

// DeadByCode counts the dead phones by code (0: no GeeLark code decided).
func (a *Admin) DeadByCode(ctx context.Context) (map[int]int, error) {
	out := map[int]int{}
	for after := ""; ; {
		page, next, err := a.DeadPage(ctx, after, chunk)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			out[d.Code]++
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}
