package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// An action is what differs between starts and stops: the endpoint, its
// budget, what GeeLark answers for a phone that did it, and the metrics.
// Everything else (claiming the phones of a call in their records, the
// call, splitting a call refused for one phone, classing each phone's
// answer, settling the records and answering the handlers) is one path,
// below.
type action struct {
	name    string // fleet.ActionStart or fleet.ActionStop
	batcher *batcher
	limiter Limiter
	// call makes one call for ids.
	call func(ctx context.Context, ids []string, opts geelark.StartOptions) (outcomes []geelark.Outcome, traceID string, err error)
	// after logs and counts a call, and turns rate-limit and account
	// codes into pauses.
	after func(ids []string, outcomes []geelark.Outcome, traceID string, err error, latency time.Duration)
	// done is the status GeeLark answers for a phone the call did.
	done geelark.Status
	// count records a phone settled with outcome and code.
	count func(outcome string, code int)
}

// send settles a batch the batcher admitted: its phones are claimed in
// their records under a fresh call token; stale ones are let go, phones
// whose other action is in a call wait, phones whose last start went
// unanswered are checked first, and the rest go out in one call.
func (w *Worker) send(a *action, opts geelark.StartOptions, batch []*request) {
	ctx := context.Background()
	token := fleet.NewToken(a.name)
	claims := make([]fleet.Claim, len(batch))
	for i, r := range batch {
		claims[i] = fleet.Claim{ID: r.id, Gen: r.gen, Task: r.task}
	}
	claimed, err := w.store.ClaimCall(ctx, a.name, token, claims)
	if err != nil {
		w.log.Warn("cannot claim phones for a call in Redis; they come round again", zap.String("action", a.name),
			zap.Int("n", len(batch)), zap.Error(err))
		deliver(batch, result{err: &waitError{reason: "cannot claim the phone for a call in Redis: " + err.Error()}})
		return
	}
	var call, check []*request
	for i, r := range batch {
		switch c := claimed[i]; c.Verdict {
		case fleet.ClaimGo:
			r.attempt = c.Attempt
			call = append(call, r)
		case fleet.ClaimCheck:
			r.attempt = c.Attempt
			check = append(check, r)
		case fleet.ClaimWait:
			r.done <- result{err: &waitError{reason: "the phone's other action is in a call; this one follows it"}}
		default:
			r.done <- result{} // stale: another request took the phone over
		}
	}
	if len(check) > 0 {
		call = append(call, w.reconcile(token, check)...)
	}
	if len(call) > 0 {
		w.call(a, token, opts, call)
	}
}

// call makes one call of a for batch, whose phones are claimed under
// token, and settles each phone by its answer. A call refused with a code
// one of its IDs can cause (geelark.Info's PerID, e.g. 40004) is split in
// halves, each sent again at once within the budget, down to single IDs:
// only the phones that fail alone get the code.
func (w *Worker) call(a *action, token string, opts geelark.StartOptions, batch []*request) {
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	began := time.Now()
	// The call does not take a handler's context: one handler giving up
	// must not abort the call for the others.
	outcomes, traceID, err := a.call(context.Background(), ids, opts)
	a.after(ids, outcomes, traceID, err, time.Since(began))
	var apiErr *geelark.APIError
	if errors.As(err, &apiErr) && len(batch) > 1 && geelark.Lookup(apiErr.Code).PerID {
		w.log.Info(a.name+" call refused with a code one phone can cause: sending each half on its own",
			zap.Int("code", apiErr.Code), zap.String("trace_id", apiErr.TraceID), zap.Int("n", len(batch)))
		mid := len(batch) / 2
		for _, half := range [][]*request{batch[:mid], batch[mid:]} {
			if err := w.admitWith(context.Background(), a.limiter); err != nil {
				// Paused or stopping: the half is settled by that answer.
				w.settle(a, token, half, func(r *request, _ int) verdict { return w.admitVerdict(r, err) })
				continue
			}
			w.call(a, token, opts, half)
		}
		return
	}
	w.settle(a, token, batch, func(r *request, i int) verdict {
		switch {
		case apiErr != nil:
			return w.codeVerdict(a, r, apiErr.Code, apiErr.Msg)
		case err != nil:
			return w.unknownVerdict(a, r, "the call's outcome is unknown: "+err.Error())
		}
		return w.outcomeVerdict(a, r, outcomes[i], traceID)
	})
}

// verdict is where one phone of a call goes: its record's settle, and what
// its handler returns to asynq once the settle took effect.
type verdict struct {
	settle  fleet.Settle
	ret     error
	outcome string
	code    int
}

// outcomeVerdict classes GeeLark's answer for one phone of a call.
func (w *Worker) outcomeVerdict(a *action, r *request, o geelark.Outcome, traceID string) verdict {
	switch {
	case o.Status == a.done, o.Status == geelark.StatusFailed && a.name == fleet.ActionStart && geelark.Lookup(o.Code).Class == geelark.ClassStarted:
		return w.doneVerdict(a, r, o.URL, o.Code)
	case o.Status == geelark.StatusFailed:
		return w.codeVerdict(a, r, o.Code, o.Msg)
	}
	return w.unknownVerdict(a, r, "missing from the reply of call "+traceID)
}

// doneVerdict is a phone GeeLark did the action for: a start boots (or is
// ready, with boot confirmation off); a stop is stopped.
func (w *Worker) doneVerdict(a *action, r *request, url string, code int) verdict {
	now := w.cfg.Now()
	if a.name == fleet.ActionStop {
		return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToStopped}, outcome: outcomeStopped}
	}
	if w.cfg.BootTimeout <= 0 {
		return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToReady, URL: url}, outcome: outcomeStarted, code: code}
	}
	return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToBooting, URL: url, Due: now.Add(w.cfg.BootPoll),
		Deadline: now.Add(w.cfg.BootTimeout)}, outcome: outcomeStarted, code: code}
}

// unknownVerdict is a phone whose answer was lost. A start is marked
// unanswered: it is checked before any second start, so it is never dead
// (nor started again) without GeeLark saying whether this call started it.
// A stop is simply sent again: stopping twice is harmless.
func (w *Worker) unknownVerdict(a *action, r *request, msg string) verdict {
	if a.name == fleet.ActionStart {
		due := w.cfg.Now().Add(backoff(r.attempt-1, w.cfg.RetryBase, w.cfg.RetryMax))
		return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToRetry, Reason: fleet.ReasonUnknown, Msg: msg,
			Due: due, Unanswered: true}, ret: &PhoneError{Msg: msg, RetryAt: due}, outcome: outcomeRetried}
	}
	return w.failVerdict(a, r, 0, msg, time.Time{})
}

// codeVerdict classes a GeeLark code for one phone.
func (w *Worker) codeVerdict(a *action, r *request, code int, msg string) verdict {
	info := geelark.Lookup(code)
	switch info.Class {
	case geelark.ClassPermanent:
		return w.deadVerdict(r, code, fleet.ReasonGeeLark, msg)
	case geelark.ClassRateLimited, geelark.ClassAccount:
		return w.pausedVerdict(r, code, msg)
	}
	var at time.Time
	if info.Clears != nil {
		at = info.Clears(w.cfg.Now())
	}
	return w.failVerdict(a, r, code, msg, at)
}

// failVerdict is an attempt that failed: retried after its backoff (or at
// at, when the code says when it clears), or dead when the attempts ran
// out.
func (w *Worker) failVerdict(a *action, r *request, code int, msg string, at time.Time) verdict {
	reason := fleet.ReasonGeeLark
	if code == 0 {
		reason = fleet.ReasonUnknown
	}
	if r.attempt >= w.cfg.MaxAttempts {
		return w.deadVerdict(r, code, reason, msg)
	}
	due := w.cfg.Now().Add(backoff(r.attempt-1, w.cfg.RetryBase, w.cfg.RetryMax))
	if !at.IsZero() {
		due = at.Add(jitter(time.Minute))
	}
	return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToRetry, Code: code, Reason: reason, Msg: msg, Due: due},
		ret: &PhoneError{Code: code, Msg: msg, RetryAt: due}, outcome: outcomeRetried, code: code}
}

// deadVerdict is a phone that will not start (or stop) without a person.
func (w *Worker) deadVerdict(r *request, code int, reason, msg string) verdict {
	return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToDead, Code: code, Reason: reason, Msg: msg},
		outcome: outcomeDead, code: code}
}

// pausedVerdict is a phone whose call met a rate-limit or account code: it
// waits out the pause that code set (this worker's own, or the fleet's),
// with its attempt given back; after an account-wide error has lasted
// MaxWait, it is dead with the code.
func (w *Worker) pausedVerdict(r *request, code int, msg string) verdict {
	now := w.cfg.Now()
	if p, on, err := w.pauses.Current(context.Background()); err == nil && on && w.holds(p) {
		if p.Class() == geelark.ClassAccount && !p.Since.IsZero() && now.Sub(p.Since) >= w.cfg.MaxWait {
			return w.deadVerdict(r, p.Code, fleet.ReasonGeeLark, p.Msg+" (account-wide, unresolved for max-wait)")
		}
		return w.parkVerdict(r, &pausedError{p: p})
	}
	if p, on := w.local.get(now); on {
		return w.parkVerdict(r, &pausedError{p: p, soon: true})
	}
	info := geelark.Lookup(code)
	p := fleet.Pause{Code: code, Msg: msg, Until: now.Add(max(info.RetryAfter(now), AccountProbeInterval))}
	return w.parkVerdict(r, &pausedError{p: p})
}

// parkVerdict sends a phone of a call back to wait out pe, with the attempt
// the claim counted given back.
func (w *Worker) parkVerdict(r *request, pe *pausedError) verdict {
	due := pe.p.Until
	pause := pe.p.ID
	if pe.soon {
		due, pause = w.cfg.Now(), "" // back to the queue at once, for another worker
	}
	return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToParked, Pause: pause, Due: due, Refund: true},
		ret: pe, outcome: outcomePaused, code: pe.p.Code}
}

// admitVerdict is a claimed phone whose call (a half of a split one) was
// not admitted: paused, or the worker stopping.
func (w *Worker) admitVerdict(r *request, err error) verdict {
	var pe *pausedError
	if errors.As(err, &pe) {
		return w.parkVerdict(r, pe)
	}
	// Stopping: not sent. It stays in the call in its record, and is
	// checked before a start when it comes round again.
	return verdict{settle: fleet.Settle{ID: r.id, Gen: r.gen, To: fleet.ToRetry, Reason: fleet.ReasonUnknown,
		Msg: "handed back unsent at shutdown", Due: w.cfg.Now(), Unanswered: true, Refund: true}, ret: errHandBack}
}

// settle writes the verdicts of batch (by decide) in the phones' records,
// in one script, and answers each phone's handler, but for the phones a
// check sent on to the call (fleet.ToSend), which it returns. A phone whose
// record was taken over meanwhile is let go. When the settle cannot be
// written, every phone waits: its record still says it is in the call, so
// it is checked before any second start.
func (w *Worker) settle(a *action, token string, batch []*request, decide func(r *request, i int) verdict) (send []*request) {
	vs := make([]verdict, len(batch))
	ss := make([]fleet.Settle, len(batch))
	for i, r := range batch {
		vs[i] = decide(r, i)
		ss[i] = vs[i].settle
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := w.store.SettleCall(ctx, a.name, token, w.cfg.MaxRuntime, ss)
	if err != nil {
		w.log.Warn("cannot record the outcome of a call in Redis; its phones are checked when they come round",
			zap.String("action", a.name), zap.Int("n", len(batch)), zap.Error(err))
		deliver(batch, result{err: &waitError{reason: "cannot record the call's outcome in Redis: " + err.Error()}})
		return nil
	}
	for i, r := range batch {
		v := vs[i]
		if res[i].Outcome != fleet.SettledOK {
			r.done <- result{} // taken over meanwhile: its new intent has a task of its own
			continue
		}
		if v.settle.To == fleet.ToSend {
			send = append(send, r)
			continue
		}
		if v.settle.To == fleet.ToDead {
			w.logDead(a.name, r.id, res[i].Attempt, v.settle)
		}
		if !res[i].Guard.IsZero() {
			w.guard(ctx, r.id, res[i].Gen, res[i].Task, res[i].Guard)
		}
		a.count(v.outcome, v.code)
		r.done <- result{err: v.ret, outcome: v.outcome, code: v.code}
	}
	return send
}

// logDead logs a phone dead-lettered.
func (w *Worker) logDead(act, id string, attempts int, s fleet.Settle) {
	w.log.Warn("phone dead-lettered", zap.String("id", id), zap.String("action", act), zap.Int("code", s.Code),
		zap.String("reason", s.Reason), zap.String("geelark_msg", s.Msg), zap.Int("attempts", attempts))
}

func deliver(batch []*request, res result) {
	for _, r := range batch {
		r.done <- res
	}
}

// process hands the phone of a task of action a to its batcher, unless a
// pause holds it, and returns the call's word on it to asynq.
func (w *Worker) process(ctx context.Context, a *action, id string, gen int64, task int, opts geelark.StartOptions) error {
	if err := w.paused(ctx); err != nil {
		return w.park(ctx, a, id, gen, err)
	}
	wait, cancel := w.handBackBy(ctx)
	res := a.batcher.start(ctx, wait, &request{id: id, gen: gen, task: task, opts: opts})
	cancel()
	var pe *pausedError
	if res.outcome == "" && errors.As(res.err, &pe) {
		// Not admitted (its call met the pause): not claimed either.
		return w.park(ctx, a, id, gen, res.err)
	}
	if res.outcome == "" && errors.Is(res.err, errHandBack) {
		a.count(outcomePaused, 0)
	}
	return res.err
}

// park records that a phone waits out a pause (a fleet pause, so that a
// lift of it runs the phone at once), and returns the pause's error. A
// pause lifted or replaced since this worker read it (its cache is up to a
// second old) holds nothing: the phone goes back to the queue at once.
func (w *Worker) park(ctx context.Context, a *action, id string, gen int64, err error) error {
	var pe *pausedError
	if errors.As(err, &pe) {
		a.count(outcomePaused, pe.p.Code)
	}
	if errors.As(err, &pe) && !pe.soon && pe.p.ID != "" {
		perr := w.store.Park(context.WithoutCancel(ctx), id, gen, pe.p.ID)
		switch {
		case errors.Is(perr, fleet.ErrPauseChanged):
			return &pausedError{p: pe.p, soon: true}
		case perr != nil:
			w.log.Warn("cannot record a phone parked for the fleet pause", zap.String("id", id), zap.Error(perr))
		}
	}
	return err
}

// paused returns the pause a phone waits out instead of going to a batcher
// (this worker's own, or the fleet's), or nil. A lift anywhere in the fleet
// ends this worker's own pause too: its next call probes at once. A fleet
// pause read from the cache is read again from Redis before a phone is
// parked for it: a phone parked for a pause lifted a moment ago would wait
// until that pause's end.
func (w *Worker) paused(ctx context.Context) error {
	pause, on, err := w.pauses.Current(ctx)
	if err == nil && on && w.holds(pause) {
		pause, on, err = w.pauses.Fresh(ctx)
	}
	if ep := w.pauses.Epoch(); ep != w.epoch.Load() {
		w.epoch.Store(ep)
		if w.local.clear() {
			w.log.Info("a fleet pause was lifted: this worker probes GeeLark again at once")
		}
	}
	if lp, on := w.local.get(w.cfg.Now()); on {
		return &pausedError{p: lp, soon: true}
	}
	if err == nil && on && w.holds(pause) {
		return &pausedError{p: pause}
	}
	return nil
}

// handBackBy returns the context a phone waits for its call in. asynq
// fails a task whose deadline passes, whatever the handler returns: a phone
// still waiting for its call (for the budget, say) is handed back two call
// timeouts before that, without using an attempt.
func (w *Worker) handBackBy(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-2*w.cfg.CallTimeout))
	}
	return ctx, func() {}
}

// failMsg is the message of a handler's error.
func failMsg(err error) string {
	var pe *PhoneError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return fmt.Sprint(err)
}
