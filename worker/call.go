package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/phonestart/phonestart/internal/clock"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
)

// admit blocks until a call may be made: no fleet-wide pause is in force
// and the limiter grants a token. A pause returns a *pausedError. While Redis
// can't be read, admit waits and retries rather than call unmetered.
func (w *Worker) admit(ctx context.Context) error {
	lastLog := time.Time{}
	for {
		err := w.admitOnce(ctx)
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

func (w *Worker) admitOnce(ctx context.Context) error {
	if p, on, err := w.pauses.Fresh(ctx); err != nil {
		return err
	} else if on {
		return &pausedError{p}
	}
	if w.cfg.Limiter == nil {
		return nil
	}
	began := time.Now()
	if err := w.cfg.Limiter.Wait(ctx); err != nil {
		return err
	}
	w.metrics.waited(time.Since(began))
	// A pause may have begun while this call waited for its token.
	if p, on, err := w.pauses.Fresh(ctx); err != nil {
		return err
	} else if on {
		return &pausedError{p}
	}
	return nil
}

// send makes one call for batch and delivers each phone's result.
func (w *Worker) send(opts geelark.StartOptions, batch []*request) {
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	began := time.Now()
	// The call does not take a handler's context: one handler giving up
	// must not abort the call for the others.
	res, err := w.cfg.API.StartPhones(context.Background(), ids, opts)
	latency := time.Since(began)
	traceID := ""
	if res != nil {
		traceID = res.TraceID
	}
	w.afterCall(ids, res, err, traceID, latency)
	for i, r := range batch {
		out := result{traceID: traceID, err: err}
		if err == nil {
			out.outcome = res.Outcomes[i]
		}
		r.done <- out
	}
}

// afterCall logs the call, counts it, and turns rate-limit and account-wide
// codes into a fleet-wide pause.
func (w *Worker) afterCall(ids []string, res *geelark.StartResult, err error, traceID string, latency time.Duration) {
	ctx := context.Background()
	fields := []zap.Field{
		zap.String("trace_id", traceID), zap.Int("n", len(ids)), zap.Strings("ids", ids),
		zap.Duration("latency", latency),
	}
	var apiErr *geelark.APIError
	switch {
	case errors.As(err, &apiErr):
		w.countCall(len(ids), latency, apiErr.Code, false)
		w.log.Warn("start call refused", append(fields, zap.Int("code", apiErr.Code), zap.String("msg", apiErr.Msg))...)
		w.pauseFor(ctx, apiErr.Code, apiErr.Msg)
		return
	case err != nil:
		w.countCall(len(ids), latency, 0, true)
		w.log.Warn("start call outcome unknown; its phones will be retried", append(fields, zap.Error(err))...)
		return
	}
	started, unknown := 0, 0
	codes := map[string]int{}
	var pauseCode int
	var pauseMsg string
	for _, o := range res.Outcomes {
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
			zap.Int("code", code), zap.String("msg", msg), zap.Time("until", p.Until))
	case geelark.ClassAccount:
		w.log.Error(fmt.Sprintf("GeeLark account problem (%d: %s): no phone can start until a person fixes it; "+
			"phones wait, probing again at %s; phones still waiting at %s are dead-lettered",
			code, info.Meaning, p.Until.UTC().Format(time.RFC3339), p.Since.Add(w.cfg.MaxWait).UTC().Format(time.RFC3339)),
			zap.Int("code", code), zap.String("msg", msg), zap.Time("since", p.Since), zap.Time("probe_at", p.Until))
	}
}
