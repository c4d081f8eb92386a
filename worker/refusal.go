package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// local is a pause of this worker alone: GeeLark refused its credentials or
// its address (a geelark.Info PerWorker code, 40003 or 40016) while other
// workers may be fine. Its phones go back to the queue unsent for the
// others, and once a minute one call probes whether it was fixed. Only when
// every live worker is refused does the refusal pause the fleet.
type local struct {
	mu sync.Mutex
	p  fleet.Pause
}

func (l *local) get(now time.Time) (fleet.Pause, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p, l.p.Until.After(now)
}

// set pauses this worker until p.Until; it reports whether no local pause
// was in force (worth a log line).
func (l *local) set(p fleet.Pause, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	fresh := !l.p.Until.After(now)
	l.p = p
	return fresh
}

// wasRefused reports whether GeeLark refused this worker since its last
// call that went through.
func (l *local) wasRefused() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.Code != 0
}

// clear ends the local pause; it reports whether one had been set.
func (l *local) clear() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	had := l.p.Code != 0
	l.p = fleet.Pause{}
	return had
}

// refused handles a PerWorker code answered to this worker's call.
func (w *Worker) refused(ctx context.Context, code int, msg string) {
	now := w.cfg.Now()
	info := geelark.Lookup(code)
	p := fleet.Pause{Code: code, Msg: msg, Until: now.Add(AccountProbeInterval), By: w.id}
	fresh := w.local.set(p, now)
	if err := w.workers.Refuse(ctx, w.id, code, p.Until); err != nil {
		w.log.Warn("cannot record this worker's refusal in Redis", zap.Error(err))
	}
	all, err := w.workers.AllRefused(ctx)
	if err != nil {
		w.log.Warn("cannot read the other workers' state in Redis", zap.Error(err))
	}
	if all {
		// Every live worker is refused: the account's problem.
		w.pauseFor(ctx, code, msg)
		return
	}
	if fresh {
		w.log.Error(fmt.Sprintf("GeeLark refused this worker (%d: %s): it hands its phones to the other workers and probes again at %s; fix %s",
			code, info.Meaning, p.Until.UTC().Format(time.RFC3339), info.Fix),
			zap.Int("code", code), zap.String("geelark_msg", msg), zap.String("worker", w.id), zap.Time("probe_at", p.Until))
	}
}

// holds reports whether fleet pause p holds this worker's calls. A pause
// for a code that can be one worker's own problem (PerWorker) does not hold
// a worker GeeLark has not refused: its next call probes whether the
// problem is the account's, and lifts the pause if it goes through.
func (w *Worker) holds(p fleet.Pause) bool {
	return !geelark.Lookup(p.Code).PerWorker || w.local.wasRefused()
}

// accepted ends this worker's refusal, and a fleet pause for a PerWorker
// code: a call of this worker's went through, so the account is fine.
func (w *Worker) accepted(ctx context.Context) {
	if p, on, err := w.pauses.Current(ctx); err == nil && on && geelark.Lookup(p.Code).PerWorker {
		// Only the pause read: a newer one (a rate limit set meanwhile)
		// stays.
		if _, _, err := w.pauses.Lift(ctx, p.ID, w.id); err != nil && !errors.Is(err, fleet.ErrPauseChanged) {
			w.log.Warn("cannot lift the fleet pause in Redis", zap.Error(err))
		} else if err == nil {
			w.log.Info(fmt.Sprintf("this worker's calls go through: GeeLark's %d was not the account's; fleet pause lifted", p.Code),
				zap.Int("code", p.Code), zap.String("set_by", p.By))
		}
	}
	if !w.local.clear() {
		return
	}
	if err := w.workers.Accept(ctx, w.id); err != nil {
		w.log.Warn("cannot clear this worker's refusal in Redis", zap.Error(err))
	}
	w.log.Info("GeeLark accepts this worker's calls again", zap.String("worker", w.id))
}
