package enqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// DefaultWaitPoll is the longest Wait goes without looking at its request
// when no event wakes it.
const DefaultWaitPoll = time.Second

// ErrNoRequest is the error of Outcome and Wait for a request that does
// not exist: never made, or ended longer ago than the retention.
var ErrNoRequest = fleet.ErrNoRequest

// ReadyPhone is a phone GeeLark reports usable.
type ReadyPhone struct {
	ID  string    `json:"id"`
	URL string    `json:"url"`
	At  time.Time `json:"at"`
}

// DeadPhone is a phone whose start (or stop) will not happen without a
// person.
type DeadPhone struct {
	ID     string `json:"id"`
	Action string `json:"action"` // "start" or "stop"
	Code   int    `json:"code"`   // GeeLark's code; 0 when none decided it
	Reason string `json:"reason"` // "geelark", "boot_timeout", "boot_failed", "unknown", "bad_task"
	Msg    string `json:"msg"`
}

// Outcome is where a request's phones are, each listed once, in the order
// first given.
type Outcome struct {
	Request string `json:"request"`
	Label   string `json:"label,omitempty"`
	// Ended is true once every phone of the request has ended.
	Ended      bool         `json:"ended"`
	Ready      []ReadyPhone `json:"ready"`
	Dead       []DeadPhone  `json:"dead"`
	Cancelled  []string     `json:"cancelled"`
	Stopped    []string     `json:"stopped"`
	Unfinished []string     `json:"unfinished"`
}

// AllReady reports whether every phone is ready.
func (o Outcome) AllReady() bool {
	return len(o.Dead) == 0 && len(o.Cancelled) == 0 && len(o.Stopped) == 0 && len(o.Unfinished) == 0
}

// Outcome returns where the phones of request are now.
func (c *Client) Outcome(ctx context.Context, request string) (Outcome, error) {
	r, err := c.store.Request(ctx, request)
	if err != nil {
		return Outcome{}, fmt.Errorf("enqueue: request %s: %w", request, err)
	}
	return outcomeOf(r), nil
}

func outcomeOf(r fleet.Request) Outcome {
	o := Outcome{Request: r.ID, Label: r.Label, Ended: !r.Ended.IsZero(), Ready: []ReadyPhone{}, Dead: []DeadPhone{},
		Cancelled: []string{}, Stopped: []string{}, Unfinished: []string{}}
	for _, id := range r.IDs {
		oc, ok := r.Outcomes[id]
		switch {
		case !ok:
			o.Unfinished = append(o.Unfinished, id)
		case oc.State == fleet.StateReady:
			o.Ready = append(o.Ready, ReadyPhone{ID: id, URL: oc.URL, At: oc.At})
		case oc.State == fleet.StateDead:
			o.Dead = append(o.Dead, DeadPhone{ID: id, Action: oc.Action, Code: oc.Code, Reason: oc.Reason, Msg: oc.Msg})
		case oc.State == fleet.StateCancelled:
			o.Cancelled = append(o.Cancelled, id)
		case oc.State == fleet.StateStopped:
			o.Stopped = append(o.Stopped, id)
		default:
			o.Unfinished = append(o.Unfinished, id)
		}
	}
	return o
}

// WaitOptions configures a Wait.
type WaitOptions struct {
	// Timeout bounds the wait; phones not done by then are unfinished.
	// 0: until ctx ends.
	Timeout time.Duration
	// Poll is the longest Wait goes without looking at the request when
	// no event wakes it. Default DefaultWaitPoll (1s).
	Poll time.Duration
}

// Wait waits until every phone of request has ended (ready, dead,
// cancelled or stopped), opts.Timeout passes or ctx ends, and returns the
// request's Outcome. It looks at the request whenever the events stream
// has a new entry (XREAD BLOCK), and at least every opts.Poll.
//
// When the timeout passes, Wait returns the Outcome as of then and a nil
// error. When ctx ends, it looks once more (for at most 2s) and returns
// the Outcome with ctx's error. Waiting starts or stops no phone.
func (c *Client) Wait(ctx context.Context, request string, opts WaitOptions) (Outcome, error) {
	if opts.Timeout < 0 || opts.Poll < 0 {
		return Outcome{}, fmt.Errorf("enqueue: wait: Timeout %v or Poll %v is negative", opts.Timeout, opts.Poll)
	}
	if opts.Poll == 0 {
		opts.Poll = DefaultWaitPoll
	}
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = time.Now().Add(opts.Timeout)
	}
	evs := c.store.Events()
	cursor, err := evs.Last(ctx)
	if err != nil {
		return c.waitEnd(ctx, request, err)
	}
	for {
		ended, ok, err := c.store.RequestEnded(ctx, request)
		if err != nil {
			return c.waitEnd(ctx, request, err)
		}
		if !ok {
			return Outcome{}, fmt.Errorf("enqueue: wait: request %s: %w", request, ErrNoRequest)
		}
		if ended {
			return c.Outcome(ctx, request)
		}
		block := opts.Poll
		if !deadline.IsZero() {
			rest := time.Until(deadline)
			if rest <= 0 {
				return c.Outcome(ctx, request)
			}
			block = min(block, rest)
		}
		got, err := evs.Read(ctx, cursor, 10_000, max(block, time.Millisecond))
		if err != nil {
			return c.waitEnd(ctx, request, err)
		}
		if n := len(got); n > 0 {
			cursor = got[n-1].StreamID
		}
	}
}

// finalLook bounds the last look of a Wait whose ctx ended.
const finalLook = 2 * time.Second

// waitEnd is Wait's return on err: once ctx ended, the Outcome as of now
// with ctx's error.
func (c *Client) waitEnd(ctx context.Context, request string, err error) (Outcome, error) {
	if ctx.Err() == nil {
		return Outcome{}, fmt.Errorf("enqueue: wait: %w", err)
	}
	last, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalLook)
	defer cancel()
	o, oerr := c.Outcome(last, request)
	return o, errors.Join(ctx.Err(), oerr)
}
