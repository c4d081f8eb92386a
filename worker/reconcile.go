package worker

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// reconcile checks the phones of a batch whose last start call went out
// without an answer for them (claimed under token, verdict ClaimCheck),
// before any of them is started again. GeeLark reports each one's state:
// Started or Starting means that call did start it, and it is settled as
// started (booting, or ready) with no second call, through boot
// confirmation and the billing guard like any other; Shut down (or
// expired, or a permanent code such as 42001) means it did not, and it
// goes on to this call, unless its attempts ran out (then it is dead). A
// phone the check says nothing about (not in the reply, or answered a
// transient code such as 50000), or whose check fails, waits and comes
// round again (no attempt used): it is never started blindly and never
// given up.
//
// It returns the phones to start now; the others have their answer.
func (w *Worker) reconcile(token string, batch []*request) []*request {
	if w.cfg.Status == nil {
		// Nothing to check with: start them again (Config.Status says so).
		return batch
	}
	var again []*request
	for lo := 0; lo < len(batch); lo += geelark.MaxStatusIDs {
		again = append(again, w.check(token, batch[lo:min(lo+geelark.MaxStatusIDs, len(batch))])...)
	}
	return again
}

// check asks GeeLark for the state of part (at most MaxStatusIDs phones)
// within the status endpoint's budget, settles the phones that did start
// or cannot be decided, and returns the ones to start.
func (w *Worker) check(token string, part []*request) []*request {
	ctx := context.Background()
	ids := make([]string, len(part))
	for i, r := range part {
		ids[i] = r.id
	}
	wait := func(reason string) func(*request, int) verdict {
		return func(r *request, _ int) verdict {
			due := w.cfg.Now().Add(waitRetry)
			return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToRetry, Reason: fleet.ReasonUnknown,
				Msg: reason, Due: due, Unanswered: true}, ret: &waitError{reason: reason}}
		}
	}
	if err := w.admitWith(ctx, w.cfg.StatusLimiter); err != nil {
		w.settle(w.starts, token, part, func(r *request, _ int) verdict { return w.admitVerdict(r, err) })
		return nil
	}
	res, err := w.cfg.Status.StatusPhones(ctx, ids)
	if err != nil {
		w.log.Warn("status check of phones whose start went unanswered failed; they wait and are checked again",
			zap.Int("n", len(ids)), zap.Error(err))
		w.settle(w.starts, token, part, wait("status check failed: "+err.Error()))
		return nil
	}
	vs := make([]verdict, len(part))
	counts := map[string]int{}
	for i, r := range part {
		o := res.Outcomes[i]
		switch {
		case o.Known && (o.State == geelark.StateStarted || o.State == geelark.StateStarting):
			counts["started"]++
			vs[i] = w.doneVerdict(w.starts, r, "", 0)
			vs[i].settle.Event = fleet.EventStarted
			if o.State == geelark.StateStarted {
				// Up already: ready, with no boot check to wait for.
				vs[i].settle.To, vs[i].settle.Event = fleet.ToReady, fleet.EventStarted+"+"+fleet.EventReady
			}
		case o.Known && o.Code != 0 && geelark.Lookup(o.Code).Class != geelark.ClassPermanent:
			// A code that passes (50000, 40010) or is not the phone's
			// says nothing of whether the call started it: ask again.
			counts["unknown"]++
			vs[i] = wait(fmt.Sprintf("status check %s answered %d for the phone: %s", res.TraceID, o.Code, o.Msg))(r, i)
		case o.Known && (o.State == geelark.StateShutDown || o.State == geelark.StateExpired || o.Code != 0):
			// Not running: the unanswered call did not start it (or
			// GeeLark has a permanent code for it, 42001, which a start
			// will answer too).
			counts["start_again"]++
			if r.attempt >= w.cfg.MaxAttempts {
				vs[i] = w.deadVerdict(r, 0, fleet.ReasonUnknown,
					"its attempts ran out without GeeLark answering for it; GeeLark reports it "+o.State.String())
				continue
			}
			r.attempt++
			vs[i] = verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToSend}}
		default:
			counts["unknown"]++
			vs[i] = wait(fmt.Sprintf("status check %s said nothing about the phone", res.TraceID))(r, i)
		}
	}
	w.log.Info("checked phones whose start went unanswered", zap.String("trace_id", res.TraceID),
		zap.Int("n", len(ids)), zap.Any("outcome", counts))
	return w.settle(w.starts, token, part, func(_ *request, i int) verdict { return vs[i] })
}
