package api

import (
	"context"
	"net/http"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
)

// waitPoll is the longest a ?wait= goes without looking at its request
// when the stream says nothing.
const waitPoll = time.Second

// getRequest serves GET /v1/requests/{request}[?wait=D]: the request's
// enqueue.Outcome, once it ended or D passed (at most MaxWait).
func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("request")
	if !fleet.ValidRequestID(id) {
		return invalid("request", "%q is not a request ID such as mic1x2a9-3f9a0c12bd4e", id)
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return invalid("wait", "%q is not a duration such as 30s or 5m", v)
		}
		wait = min(d, s.cfg.MaxWait)
	}
	o, err := s.outcome(r.Context(), id, wait)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json", o)
	return nil
}

// outcome returns request id's Outcome once it ended, or wait passed, or
// ctx ended. It looks whenever the events stream grows, and at least every
// waitPoll.
func (s *Server) outcome(ctx context.Context, id string, wait time.Duration) (enqueue.Outcome, error) {
	deadline := time.Now().Add(wait)
	for {
		grown := s.tail.grown()
		if wait <= 0 || !time.Now().Before(deadline) {
			return s.enq.Outcome(ctx, id)
		}
		ended, ok, err := s.store.RequestEnded(ctx, id)
		switch {
		case err != nil:
			return enqueue.Outcome{}, err
		case !ok:
			return enqueue.Outcome{}, enqueue.ErrNoRequest
		case ended:
			return s.enq.Outcome(ctx, id)
		}
		t := time.NewTimer(min(waitPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return enqueue.Outcome{}, ctx.Err()
		case <-s.tail.closed():
			t.Stop()
			return s.enq.Outcome(ctx, id)
		case <-grown:
			t.Stop()
		case <-t.C:
		}
	}
}
