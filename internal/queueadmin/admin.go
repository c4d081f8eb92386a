// Package queueadmin reads and repairs phonestart's phones for people:
// counts by state, the dead-letter ledger, requeue and purge.
package queueadmin

import (
	"context"
	"errors"
	"fmt"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Admin inspects and repairs the phones of one deployment.
type Admin struct {
	enq    *enqueue.Client
	store  *fleet.Store
	ledger *fleet.Ledger
}

// New returns an Admin of store's deployment; requeues go through enq,
// which must be of the same namespace.
func New(enq *enqueue.Client, store *fleet.Store) *Admin {
	return &Admin{enq: enq, store: store, ledger: store.Ledger()}
}

// Counts are phones by state.
type Counts struct {
	Queued    int `json:"queued"`
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	Sending   int `json:"sending"`
	// Booting counts phones GeeLark accepted and has not yet reported
	// usable.
	Booting  int `json:"booting"`
	Stopping int `json:"stopping"`
	// Dead counts the dead-letter entries (a phone whose start and stop
	// both died counts twice).
	Dead int `json:"dead"`
	// Started counts the phones GeeLark ever accepted a start of, in this
	// namespace.
	Started int `json:"started"`
}

// Counts returns the number of phones in each state, from their records.
func (a *Admin) Counts(ctx context.Context) (Counts, error) {
	c, err := a.store.Counts(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("count phones: %w", err)
	}
	n := c.ByState
	return Counts{Queued: n[fleet.StateQueued], Scheduled: n[fleet.StateScheduled], Retry: n[fleet.StateRetry],
		Sending: n[fleet.StateSending], Booting: n[fleet.StateBooting], Stopping: n[fleet.StateStopping], Dead: c.Dead,
		Started: c.Started}, nil
}

// DeadPhone is one entry of the dead-letter ledger.
type DeadPhone = fleet.DeadPhone

// DeadPage returns up to limit dead entries in ID order after the entry
// after ("" for the first), and the after of the next page ("" on the
// last).
func (a *Admin) DeadPage(ctx context.Context, after string, limit int) ([]DeadPhone, string, error) {
	out, next, err := a.ledger.Page(ctx, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list dead phones: %w", err)
	}
	return out, next, nil
}

// chunk is how many dead entries --all handles at a time.
const chunk = 1000

// each calls f with the dead entries of the phones named by ids (a
// phone's start and stop), or with all of them a chunk at a time. A named
// ID with no entry is an error, before f is called at all.
func (a *Admin) each(ctx context.Context, all bool, ids []string, f func([]DeadPhone) error) error {
	if all == (len(ids) > 0) {
		return errors.New("name phone IDs or --all, not both and not neither")
	}
	if !all {
		sel, err := a.ledger.Get(ctx, ids...)
		if err != nil {
			return fmt.Errorf("read dead phones: %w", err)
		}
		found := make(map[string]bool, len(sel))
		for _, d := range sel {
			found[d.ID] = true
		}
		for _, id := range ids {
			if !found[id] {
				return fmt.Errorf("phone %q is not dead-lettered", id)
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
		after = page[len(page)-1].Key()
	}
}

// Requeue sends dead phones back with a fresh set of attempts: a dead start
// is enqueued again with its own options and stop-after, a dead stop is
// stopped again. Each entry goes from the ledger in the same step as its
// phone's record takes the new request. It returns how many it sent back.
func (a *Admin) Requeue(ctx context.Context, all bool, ids []string) (int, error) {
	n := 0
	err := a.each(ctx, all, ids, func(sel []DeadPhone) error {
		byOpts := map[string]*enqueue.Request{}
		var order []string
		var stops []string
		for _, d := range sel {
			if d.Action == fleet.ActionStop {
				stops = append(stops, d.ID)
				continue
			}
			k := d.Options.Key() + "/" + d.StopAfter.String()
			if byOpts[k] == nil {
				byOpts[k] = &enqueue.Request{Options: d.Options, StopAfter: d.StopAfter, Label: "requeue", Requeue: true}
				order = append(order, k)
			}
			byOpts[k].IDs = append(byOpts[k].IDs, d.ID)
		}
		if len(stops) > 0 {
			rep, err := a.enq.Stop(ctx, enqueue.StopRequest{IDs: stops, Label: "requeue", Requeue: true})
			n += rep.Stopped
			if err != nil {
				return err
			}
		}
		for _, k := range order {
			rep, err := a.enq.Start(ctx, *byOpts[k])
			n += rep.Enqueued
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Purge deletes dead entries for good (a phone's start and stop) and
// returns how many.
func (a *Admin) Purge(ctx context.Context, all bool, ids []string) (int, error) {
	n := 0
	err := a.each(ctx, all, ids, func(sel []DeadPhone) error {
		keys := make([]string, len(sel))
		for i, d := range sel {
			keys[i] = d.Key()
		}
		k, err := a.ledger.Purge(ctx, keys...)
		n += k
		return err
	})
	return n, err
}

// DeadByCode counts the dead entries by code (0: no GeeLark code decided).
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
