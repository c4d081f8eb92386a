package worker

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
)

// reconcile checks the phones of batch whose last start call went out
// without an answer for them, before any of them is started again. GeeLark
// reports each one's state: Started or Starting means that call did start
// it, and it is settled as started with no second call; Shut down (or
// expired) means it did not, and it stays in the batch. A phone the check
// says nothing about, or whose check fails, waits and comes round again
// (no attempt used): it is never started blindly and never given up.
//
// It returns the phones to start now; the others have their result.
func (w *Worker) reconcile(batch []*request) []*request {
	if w.cfg.Status == nil {
		return batch
	}
	ctx := context.Background()
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	marked, err := w.sent.Marked(ctx, ids)
	if err != nil {
		deliver(batch, result{err: &waitError{reason: "cannot read sent marks in Redis: " + err.Error()}})
		return nil
	}
	var check []*request
	rest := batch[:0:0]
	for i, r := range batch {
		if marked[i] {
			check = append(check, r)
		} else {
			rest = append(rest, r)
		}
	}
	for lo := 0; lo < len(check); lo += geelark.MaxStatusIDs {
		part := check[lo:min(lo+geelark.MaxStatusIDs, len(check))]
		rest = append(rest, w.check(ctx, part)...)
	}
	return rest
}

// check asks GeeLark for the state of part (at most MaxStatusIDs phones)
// within the status endpoint's budget, settles the phones that did start,
// and returns the ones to start.
func (w *Worker) check(ctx context.Context, part []*request) []*request {
	ids := make([]string, len(part))
	for i, r := range part {
		ids[i] = r.id
	}
	if err := w.admitWith(ctx, w.cfg.StatusLimiter); err != nil {
		deliver(part, result{err: err})
		return nil
	}
	res, err := w.cfg.Status.StatusPhones(ctx, ids)
	if err != nil {
		w.log.Warn("status check of phones whose start went unanswered failed; they wait and are checked again",
			zap.Int("n", len(ids)), zap.Error(err))
		deliver(part, result{err: &waitError{reason: "status check failed: " + err.Error()}})
		return nil
	}
	var again []*request
	var settled []string
	counts := map[string]int{}
	for i, r := range part {
		o := res.Outcomes[i]
		switch {
		case o.Known && (o.State == geelark.StateStarted || o.State == geelark.StateStarting):
			settled = append(settled, r.id)
			counts["started"]++
			r.done <- result{traceID: res.TraceID, outcome: geelark.Outcome{ID: r.id, Status: geelark.StatusStarted}}
		case o.Known && (o.State == geelark.StateShutDown || o.State == geelark.StateExpired || o.Code != 0):
			// Not running: the unanswered call did not start it (or
			// GeeLark has a code for it, which a start will answer too).
			counts["start_again"]++
			again = append(again, r)
		default:
			counts["unknown"]++
			r.done <- result{err: &waitError{reason: fmt.Sprintf("status check %s said nothing about the phone", res.TraceID)}}
		}
	}
	if err := w.sent.Clear(ctx, settled); err != nil {
		w.log.Warn("cannot clear the sent marks of checked phones", zap.Error(err))
	}
	w.log.Info("checked phones whose start went unanswered", zap.String("trace_id", res.TraceID),
		zap.Int("n", len(ids)), zap.Any("outcome", counts))
	return again
}
