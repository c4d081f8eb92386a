package adminserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// healthz answers 200 while the process serves HTTP at all.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when the worker can do its job: its start-up check of
// GeeLark passed (Config.Checked), Redis answers within ReadyTimeout, and
// no account-wide error (bad credentials, balance, plan,
// whitelist) pauses the fleet. A rate-limit pause clears by itself and
// does not make the worker unready. Otherwise it answers 503 with the reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if reason := s.notReady(r.Context()); reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: "+reason)
		return
	}
	fmt.Fprintln(w, "ready")
}

// notReady returns why the worker is not ready, or "": first its start-up
// check, then Redis and the fleet pause. It answers within
// ReadyTimeout even when Redis accepts connections and never replies (a
// frozen or overloaded server): go-redis bounds a command by its own read
// timeout (3s), not by the context, so the look at Redis runs on its own
// goroutine, which ends when go-redis gives up.
func (s *Server) notReady(ctx context.Context) string {
	if s.cfg.Checked != nil && !s.cfg.Checked() {
		// The worker takes no phone before the check passes.
		return "start-up check of GeeLark not yet passed"
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	done := make(chan string, 1)
	go func() { done <- s.lookAtRedis(ctx) }()
	select {
	case reason := <-done:
		return reason
	case <-ctx.Done():
		return fmt.Sprintf("Redis at %s does not answer within %v", s.cfg.Redis.Options().Addr, s.cfg.ReadyTimeout)
	}
}

// lookAtRedis pings Redis and reads the fleet pause.
func (s *Server) lookAtRedis(ctx context.Context) string {
	// The error names the address, never the password.
	if err := s.cfg.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Sprintf("Redis at %s does not answer: %v", s.cfg.Redis.Options().Addr, err)
	}
	now := s.cfg.Now()
	p, on, err := fleet.CurrentPause(ctx, s.cfg.Redis, s.store.Space(), now)
	if err != nil {
		return fmt.Sprintf("cannot read the fleet pause in Redis: %v", err)
	}
	if on && p.Class() == geelark.ClassAccount {
		return fmt.Sprintf("calls paused by an account-wide error, geelark %d (%s), since %s; probing again at %s",
			p.Code, geelark.Lookup(p.Code).Meaning, p.Since.UTC().Format(time.RFC3339), p.Until.UTC().Format(time.RFC3339))
	}
	return ""
}
