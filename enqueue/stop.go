package enqueue

import (
	"context"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
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
	// Label, NotifyURL and NotifyEach are as in Request.
	Label      string
	NotifyURL  string
	NotifyEach bool
	// Requeue marks dead stops a person sends back: their step is
	// "requeued", not "stop_enqueued".
	Requeue bool
}

// StopReport says what a stop request did.
type StopReport struct {
	// Request names the request: pass it to Wait or Outcome.
	Request string `json:"request"`
	// Stopped counts the phones that took the stop.
	Stopped int `json:"stopped"`
	// CancelledStarts counts the phones whose waiting start was cancelled:
	// one phone, one intent, the later request wins. A start already at
	// GeeLark is not recalled: the stop follows it.
	CancelledStarts int `json:"cancelled_starts"`
	// Duplicates lists the phones that already had a stop to come (or were
	// given twice): they joined the request all the same.
	Duplicates []string `json:"-"`
}

// Validate checks r without touching Redis.
func (r StopRequest) Validate() error {
	if err := validateIDs(r.IDs); err != nil {
		return err
	}
	if err := validateWhen(r.At, r.In); err != nil {
		return err
	}
	return validateLabel(r.Label, r.NotifyURL)
}

// Stop validates r, then stops each phone: its waiting start, if any, is
// cancelled, and one stop task is written. Workers send the stops in calls
// of up to geelark.MaxStopIDs within the stop endpoint's budget.
//
// When Redis fails part way, or ctx ends, Stop returns the error with the
// Report of what was done before it; stopping the same phones again is
// safe: stops already enqueued come back as duplicates.
func (c *Client) Stop(ctx context.Context, r StopRequest) (StopReport, error) {
	if err := r.Validate(); err != nil {
		return StopReport{}, err
	}
	in := fleet.Intent{Action: fleet.ActionStop, Label: r.Label, Due: due(r.At, r.In), Notify: r.NotifyURL, Each: r.NotifyEach}
	if r.Requeue {
		in.Event = fleet.EventRequeued
	}
	res, err := c.place(ctx, in, r.IDs, nil)
	rep := StopReport{Request: res.request, Stopped: res.placed, Duplicates: res.dups, CancelledStarts: res.superseded}
	return rep, c.replicas(ctx, rep.Stopped, err)
}

// CancelRequest asks for the waiting starts and stops of phones to be
// called off.
type CancelRequest struct {
	// IDs are the phones. Each must pass geelark.ValidateID.
	IDs []string
}

// CancelReport says what a cancel did, by phone.
type CancelReport struct {
	// Cancelled are the phones whose pending, scheduled or retrying start
	// (or stop) was called off: they end "cancelled".
	Cancelled []string `json:"cancelled"`
	// NotFound are the phones with nothing waiting: never asked for,
	// already started or stopped, or dead (dead phones are for `dead
	// purge`).
	NotFound []string `json:"not_found"`
	// Active are the phones in a call right now: it may already be at
	// GeeLark, so they are not called off.
	Active []string `json:"active"`
}

// Validate checks r without touching Redis.
func (r CancelRequest) Validate() error { return validateIDs(r.IDs) }

// Cancel calls off the waiting starts and stops of r's phones. An ID given
// twice counts once. On a Redis error part way it returns what it did so
// far.
func (c *Client) Cancel(ctx context.Context, r CancelRequest) (CancelReport, error) {
	rep := CancelReport{Cancelled: []string{}, NotFound: []string{}, Active: []string{}}
	if err := r.Validate(); err != nil {
		return rep, err
	}
	ids, _ := unique(r.IDs)
	res, err := c.store.Cancel(ctx, ids)
	sp := c.store.Space()
	for _, x := range res {
		switch x.Outcome {
		case "cancelled":
			rep.Cancelled = append(rep.Cancelled, x.ID)
			// Stale now; deleting it only keeps asynq's sets small.
			_ = c.insp.DeleteTask(sp.StartQueue(), x.Task)
			_ = c.insp.DeleteTask(sp.StopQueue(), x.Task)
		case "active":
			rep.Active = append(rep.Active, x.ID)
		default:
			rep.NotFound = append(rep.NotFound, x.ID)
		}
	}
	if err != nil {
		return rep, err
	}
	return rep, c.replicas(ctx, len(rep.Cancelled), nil)
}
