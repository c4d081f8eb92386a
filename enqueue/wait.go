package enqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
)

// Defaults of WaitOptions.
const (
	// DefaultWaitPoll is the longest Wait goes without looking at the
	// phones' states.
	DefaultWaitPoll = time.Second
	// waitBatch is how many phones' states one round trip reads.
	waitBatch = 500
	// waitRead is how many stream entries one read takes.
	waitRead = 10_000
)

// Mark is a point in the events stream (fleet.EventsKey): Wait counts only
// what phones did after it. Report.Mark is the one taken just before Start
// wrote anything.
type Mark struct {
	// Stream is the ID of the newest stream entry then ("0": none).
	Stream string
	// At is this process's time then. Wait compares phones' states with
	// it only when the stream no longer holds what came after Stream
	// (trimmed by EventsMax).
	At time.Time
}

// IsZero reports whether m was never taken.
func (m Mark) IsZero() bool { return m.Stream == "" }

// Mark returns the current point of the events stream, for a Wait on phones
// enqueued after it by someone else (Start's Report carries its own).
func (c *Client) Mark(ctx context.Context) (Mark, error) {
	at := time.Now()
	id, err := c.journal.Last(ctx)
	if err != nil {
		return Mark{}, fmt.Errorf("enqueue: read the events stream: %w", err)
	}
	return Mark{Stream: id, At: at}, nil
}

// WaitOptions configures a Wait.
type WaitOptions struct {
	// After is the point from which phones' events count: the Report.Mark
	// of the Start that enqueued them. Required.
	After Mark
	// Timeout bounds the wait; phones not done by then are unfinished.
	// 0: until ctx ends.
	Timeout time.Duration
	// ReadyOnStart counts a phone as ready once GeeLark accepted its start
	// (state booting, event started). Set it when the workers run with boot
	// confirmation off (PHONESTART_BOOT_TIMEOUT=0): they never confirm a
	// phone ready. Default false: ready means GeeLark reported it Started.
	ReadyOnStart bool
	// Poll is the longest Wait goes without reading the phones' states
	// when no event wakes it. Default DefaultWaitPoll (1s); it never reads
	// them more often.
	Poll time.Duration
}

// DeadPhone is a phone that will not start without a person.
type DeadPhone struct {
	ID     string `json:"id"`
	Code   int    `json:"code"`   // GeeLark's code; 0 when none decided it
	Reason string `json:"reason"` // fleet.ReasonGeeLark, "boot_timeout", ...
	Msg    string `json:"msg"`
}

// Outcome is where a Wait left the phones, each listed once, in the order
// first given.
type Outcome struct {
	Ready      []string    `json:"ready"`
	Dead       []DeadPhone `json:"dead"`
	Unfinished []string    `json:"unfinished"`
}

// AllReady reports whether every phone is ready.
func (o Outcome) AllReady() bool { return len(o.Dead) == 0 && len(o.Unfinished) == 0 }

// Wait waits until each of ids is ready or dead, opts.Timeout passes or ctx
// ends, and returns where each phone is. Phones are those of a request,
// duplicates included: a phone another request had already enqueued is
// done when that start is. An ID given twice counts once.
//
// Wait follows the events stream from opts.After, woken by each new entry
// (XREAD BLOCK), and reads the states (fleet.Journal.States, 500 phones a
// round trip) of phones the stream has said nothing about, at most every
// opts.Poll: those states count only when written after opts.After.At. A
// phone's enqueued event never ends its wait, whichever comes first: the
// request's own enqueue may be recorded after a quick worker's outcome.
//
// When the timeout passes, Wait returns the phones not done as Unfinished
// and a nil error. When ctx ends, it looks once more (for at most 2s) and
// returns the Outcome as of then (phones not done as Unfinished) and ctx's
// error. Waiting starts or stops no phone.
func (c *Client) Wait(ctx context.Context, ids []string, opts WaitOptions) (Outcome, error) {
	if len(ids) == 0 {
		return Outcome{}, &InputError{Field: "ids", Err: errors.New("no phone IDs")}
	}
	if opts.After.IsZero() {
		return Outcome{}, errors.New("enqueue: wait: WaitOptions.After is required: the Report.Mark of the Start, or Client.Mark taken before it")
	}
	if opts.Timeout < 0 || opts.Poll < 0 {
		return Outcome{}, fmt.Errorf("enqueue: wait: Timeout %v or Poll %v is negative", opts.Timeout, opts.Poll)
	}
	if opts.Poll == 0 {
		opts.Poll = DefaultWaitPoll
	}
	w := newWaiter(ids, opts)
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = time.Now().Add(opts.Timeout)
	}
	cursor := opts.After.Stream
	var lastStates time.Time
	// ended is the return when ctx ends: one last look, so that what is
	// reported is as of now.
	ended := func() (Outcome, error) {
		last, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalLook)
		defer cancel()
		if _, err := c.catchUp(last, w, cursor); err == nil && w.left() > 0 {
			_ = w.readStates(last, c.journal)
		}
		return w.outcome(), ctx.Err()
	}
	for {
		// Catch up with the stream, then look at states when due.
		var err error
		if cursor, err = c.catchUp(ctx, w, cursor); err != nil {
			if ctx.Err() != nil {
				return ended()
			}
			return w.outcome(), fmt.Errorf("enqueue: wait: %w", err)
		}
		if w.left() > 0 && (lastStates.IsZero() || time.Since(lastStates) >= opts.Poll) {
			lastStates = time.Now()
			if err := w.readStates(ctx, c.journal); err != nil {
				if ctx.Err() != nil {
					return ended()
				}
				return w.outcome(), fmt.Errorf("enqueue: wait: %w", err)
			}
		}
		if w.left() == 0 {
			return w.outcome(), nil
		}
		block := opts.Poll
		if !deadline.IsZero() {
			rest := time.Until(deadline)
			if rest <= 0 {
				return w.outcome(), nil
			}
			block = min(block, rest)
		}
		if ctx.Err() != nil {
			return ended()
		}
		// Wake on the next entry, or after block.
		evs, err := c.journal.Read(ctx, cursor, waitRead, max(block, time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return ended()
			}
			return w.outcome(), fmt.Errorf("enqueue: wait: %w", err)
		}
		cursor = w.apply(evs, cursor)
	}
}

// finalLook bounds the last look of a Wait whose ctx ended.
const finalLook = 2 * time.Second

// catchUp applies every stream entry after cursor and returns the new
// cursor.
func (c *Client) catchUp(ctx context.Context, w *waiter, cursor string) (string, error) {
	for {
		evs, err := c.journal.Read(ctx, cursor, waitRead, 0)
		if err != nil {
			return cursor, err
		}
		cursor = w.apply(evs, cursor)
		if len(evs) < waitRead {
			return cursor, nil
		}
	}
}

// done is a phone's end, as far as a Wait goes.
type done struct {
	ready bool
	dead  DeadPhone
}

// waiter holds where each phone of a Wait is.
type waiter struct {
	opts  WaitOptions
	order []string
	// heard is the phone's latest outcome from the stream: nil while the
	// stream said nothing; a nil *done inside means not done.
	heard map[string]*done
	seen  map[string]bool // the stream mentioned the phone
	state map[string]*done
}

func newWaiter(ids []string, opts WaitOptions) *waiter {
	w := &waiter{opts: opts, heard: map[string]*done{}, seen: map[string]bool{}, state: map[string]*done{}}
	for _, id := range ids {
		if _, ok := w.heard[id]; ok {
			continue
		}
		w.heard[id] = nil
		w.order = append(w.order, id)
	}
	return w
}

// apply takes the events in evs and returns the new cursor.
func (w *waiter) apply(evs []fleet.Event, cursor string) string {
	for _, e := range evs {
		cursor = e.StreamID
		prev, ours := w.heard[e.Phone]
		if !ours || e.Event == fleet.EventEnqueued {
			continue
		}
		w.seen[e.Phone] = true
		switch {
		case e.Event == fleet.EventReady, e.Event == fleet.EventStarted && w.opts.ReadyOnStart:
			w.heard[e.Phone] = &done{ready: true}
		case e.Event == fleet.EventDead:
			w.heard[e.Phone] = &done{dead: DeadPhone{ID: e.Phone, Code: e.Code, Reason: e.Reason, Msg: e.Msg}}
		case e.Event == fleet.EventPurged:
			// Dead, then deleted by a person: still dead.
			if prev == nil || prev.ready {
				prev = &done{dead: DeadPhone{ID: e.Phone, Reason: fleet.StatePurged, Msg: "purged by a person"}}
			}
			w.heard[e.Phone] = prev
		default: // retry, requeued, started: under way again
			w.heard[e.Phone] = nil
		}
	}
	return cursor
}

// end is the phone's outcome so far, or nil.
func (w *waiter) end(id string) *done {
	if w.seen[id] {
		return w.heard[id]
	}
	return w.state[id]
}

func (w *waiter) left() int {
	n := 0
	for _, id := range w.order {
		if w.end(id) == nil {
			n++
		}
	}
	return n
}

// readStates reads the states of the phones the stream has said nothing
// about and that are not done, waitBatch a round trip.
func (w *waiter) readStates(ctx context.Context, j *fleet.Journal) error {
	var ask []string
	for _, id := range w.order {
		if !w.seen[id] && w.state[id] == nil {
			ask = append(ask, id)
		}
	}
	for lo := 0; lo < len(ask); lo += waitBatch {
		states, err := j.States(ctx, ask[lo:min(lo+waitBatch, len(ask))]...)
		if err != nil {
			return err
		}
		for _, s := range states {
			// A state from before the mark is an earlier life's.
			if !s.Known() || s.Since.Before(w.opts.After.At) {
				continue
			}
			switch {
			case s.State == fleet.StateReady, s.State == fleet.StateBooting && w.opts.ReadyOnStart:
				w.state[s.ID] = &done{ready: true}
			case s.State == fleet.StateDead:
				w.state[s.ID] = &done{dead: DeadPhone{ID: s.ID, Code: s.Code, Reason: s.Reason, Msg: s.Msg}}
			case s.State == fleet.StatePurged:
				w.state[s.ID] = &done{dead: DeadPhone{ID: s.ID, Reason: fleet.StatePurged, Msg: "purged by a person"}}
			}
		}
	}
	return nil
}

func (w *waiter) outcome() Outcome {
	o := Outcome{Ready: []string{}, Dead: []DeadPhone{}, Unfinished: []string{}}
	for _, id := range w.order {
		switch d := w.end(id); {
		case d == nil:
			o.Unfinished = append(o.Unfinished, id)
		case d.ready:
			o.Ready = append(o.Ready, id)
		default:
			o.Dead = append(o.Dead, d.dead)
		}
	}
	return o
}
