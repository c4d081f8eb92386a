package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/clock"
	"github.com/phonestart/phonestart/internal/fleet"
)

// admit blocks until a call may be made: no fleet-wide pause is in force
// and the limiter grants a token. A pause returns a *pausedError. While Redis
// can't be read, admit waits and retries rather than call unmetered.
func (w *Worker) admit(ctx context.Context) error {
	return w.admitWith(ctx, w.cfg.Limiter)
}

func (w *Worker) admitWith(ctx context.Context, lim Limiter) error {
	lastLog := time.Time{}
	for {
		err := w.admitOnce(ctx, lim)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var pe *pausedError
		if errors.As(err, &pe) {
			return err
		}
		if now := time.Now(); now.Sub(lastLog) >= 10*time.Second {
			lastLog = now
			w.log.Warn("cannot check the API budget or pause in Redis; holding calls until it answers", zap.Error(err))
		}
		if err := clock.Sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

func (w *Worker) admitOnce(ctx context.Context, lim Limiter) error {
	if p, on := w.local.get(w.cfg.Now()); on {
		return &pausedError{p: p, soon: true}
	}
	if p, on, err := w.pauses.Fresh(ctx); err != nil {
		return err
	} else if on && w.holds(p) {
		return &pausedError{p: p}
	}
	if lim == nil {
		return nil
	}
	began := time.Now()
	if err := lim.Wait(ctx); err != nil {
		return err
	}
	w.metrics.waited(time.Since(began))
	// A pause may have begun while this call waited for its token.
	if p, on, err := w.pauses.Fresh(ctx); err != nil {
		return err
	} else if on && w.holds(p) {
		return &pausedError{p: p}
	}
	return nil
}

// newStarts builds the start side: its batcher, within the start
// endpoint's budget.
func (w *Worker) newStarts() *action {
	a := &action{
		name:    fleet.ActionStart,
		limiter: w.cfg.Limiter,
		done:    geelark.StatusStarted,
		call: func(ctx context.Context, ids []string, opts geelark.StartOptions) ([]geelark.Outcome, string, error) {
			res, err := w.cfg.API.StartPhones(ctx, ids, opts)
			if res == nil {
				return nil, "", err
			}
			return res.Outcomes, res.TraceID, err
		},
		after: w.afterCall,
		count: w.countPhone,
	}
	a.batcher = newBatcher(w.cfg.BatchSize, w.cfg.BatchWait, time.Now, w.admit,
		func(opts geelark.StartOptions, batch []*request) { w.send(a, opts, batch) })
	return a
}

// afterCall logs the call, counts it, and turns rate-limit and account-wide
// codes into a fleet-wide pause.
func (w *Worker) afterCall(ids []string, outcomes []geelark.Outcome, traceID string, err error, latency time.Duration) {
	ctx := context.Background()
	fields := []zap.Field{zap.String("trace_id", traceID), zap.Int("n", len(ids)), zap.Duration("latency", latency)}
	if ce := w.log.Check(zap.DebugLevel, "start call IDs"); ce != nil {
		ce.Write(zap.String("trace_id", traceID), zap.Strings("ids", ids))
	}
	var apiErr *geelark.APIError
	switch {
	case errors.As(err, &apiErr):
		w.countCall(len(ids), latency, apiErr.Code, false)
		w.callRefused(ctx, "start call refused", fields, apiErr)
		return
	case err != nil:
		w.countCall(len(ids), latency, 0, true)
		w.log.Warn("start call outcome unknown; its phones are checked before any second start", append(fields, zap.Error(err))...)
		return
	}
	started, unknown := 0, 0
	codes := map[string]int{}
	var pauseCode int
	var pauseMsg string
	for _, o := range outcomes {
		switch o.Status {
		case geelark.StatusStarted:
			started++
		case geelark.StatusUnknown:
			unknown++
		case geelark.StatusFailed:
			codes[strconv.Itoa(o.Code)]++
			switch geelark.Lookup(o.Code).Class {
			case geelark.ClassStarted:
				started++
			case geelark.ClassAccount, geelark.ClassRateLimited:
				pauseCode, pauseMsg = o.Code, o.Msg
			}
		}
	}
	w.countCall(len(ids), latency, 0, false)
	w.accepted(ctx)
	w.log.Info("start call", append(fields, zap.Int("started", started), zap.Any("failed", codes),
		zap.Int("unknown", unknown))...)
	if started > 0 {
		if err := w.pauses.Unblock(ctx); err != nil {
			w.log.Warn("cannot clear the account-wide error streak in Redis", zap.Error(err))
		}
	}
	if pauseCode != 0 {
		w.pauseFor(ctx, pauseCode, pauseMsg)
	}
}

// pauseFor pauses every worker's calls for a rate-limit or account-wide
// code, and logs an error when that changes the pause. Other codes do not
// pause.
func (w *Worker) pauseFor(ctx context.Context, code int, msg string) {
	info := geelark.Lookup(code)
	now := w.cfg.Now()
	var until time.Time
	switch info.Class {
	case geelark.ClassRateLimited:
		until = now.Add(info.RetryAfter(now))
	case geelark.ClassAccount:
		until = now.Add(AccountProbeInterval)
	default:
		return
	}
	p, changed, err := w.pauses.Set(ctx, code, msg, until)
	if err != nil {
		w.log.Error("cannot record the API pause in Redis", zap.Int("code", code), zap.Error(err))
		return
	}
	if !changed {
		return
	}
	switch info.Class {
	case geelark.ClassRateLimited:
		w.log.Error(fmt.Sprintf("GeeLark rate limit hit (%d: %s): all calls paused until %s",
			code, info.Meaning, p.Until.UTC().Format(time.RFC3339)),
			zap.Int("code", code), zap.String("geelark_msg", msg), zap.Time("until", p.Until))
	case geelark.ClassAccount:
		w.log.Error(fmt.Sprintf("GeeLark account problem (%d: %s): no phone can start until a person fixes it; "+
			"phones wait, probing again at %s; phones still waiting at %s are dead-lettered",
			code, info.Meaning, p.Until.UTC().Format(time.RFC3339), p.Since.Add(w.cfg.MaxWait).UTC().Format(time.RFC3339)),
			zap.Int("code", code), zap.String("geelark_msg", msg), zap.Time("since", p.Since), zap.Time("probe_at", p.Until))
	}
}

// callRefused logs a call refused as a whole, and pauses this worker (a
// code that can be its own problem) or the fleet (rate-limit and
// account-wide codes) for it.
func (w *Worker) callRefused(ctx context.Context, what string, fields []zap.Field, apiErr *geelark.APIError) {
	w.log.Warn(what, append(fields, zap.Int("code", apiErr.Code), zap.String("geelark_msg", apiErr.Msg))...)
	if geelark.Lookup(apiErr.Code).PerWorker {
		w.refused(ctx, apiErr.Code, apiErr.Msg)
		return
	}
	w.pauseFor(ctx, apiErr.Code, apiErr.Msg)
}
