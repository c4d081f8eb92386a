package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
)

// optionsObject is geelark.StartOptions as JSON.
var optionsObject = object{fields: []string{"hide_sidebar", "display_timer", "width", "center", "hide_library", "hide_mirror"}}

// startBody is POST /v1/starts.
type startBody struct {
	IDs        []string             `json:"ids"`
	Options    geelark.StartOptions `json:"options"`
	At         string               `json:"at,omitempty"`
	In         string               `json:"in,omitempty"`
	StopAfter  string               `json:"stop_after,omitempty"`
	Label      string               `json:"label,omitempty"`
	NotifyURL  string               `json:"notify_url,omitempty"`
	NotifyEach bool                 `json:"notify_each,omitempty"`
}

var startObject = object{
	fields: []string{"ids", "options", "at", "in", "stop_after", "label", "notify_url", "notify_each"},
	nested: map[string]object{"options": optionsObject},
}

// stopBody is POST /v1/stops.
type stopBody struct {
	IDs        []string `json:"ids"`
	At         string   `json:"at,omitempty"`
	In         string   `json:"in,omitempty"`
	Label      string   `json:"label,omitempty"`
	NotifyURL  string   `json:"notify_url,omitempty"`
	NotifyEach bool     `json:"notify_each,omitempty"`
}

var stopObject = object{fields: []string{"ids", "at", "in", "label", "notify_url", "notify_each"}}

// idsBody is POST /v1/cancels.
type idsBody struct {
	IDs []string `json:"ids"`
}

var idsObject = object{fields: []string{"ids"}}

// startReply is the answer of POST /v1/starts.
type startReply struct {
	Request        string   `json:"request"`
	Enqueued       int      `json:"enqueued"`
	Duplicates     []string `json:"duplicates"`
	CancelledStops int      `json:"cancelled_stops"`
}

// stopReply is the answer of POST /v1/stops.
type stopReply struct {
	Request         string   `json:"request"`
	Stopped         int      `json:"stopped"`
	CancelledStarts int      `json:"cancelled_starts"`
	Duplicates      []string `json:"duplicates"`
}

// checkIDs refuses more than MaxIDs IDs (413); package enqueue checks each.
func checkIDs(ids []string) error {
	if len(ids) > MaxIDs {
		return problem(ProblemTooLarge, "ids", "%d phone IDs: at most %d a request", len(ids), MaxIDs)
	}
	return nil
}

// when reads a body's "at" and "in".
func (s *Server) when(at, in string) (time.Time, time.Duration, error) {
	var t time.Time
	var d time.Duration
	var err error
	if at != "" {
		if t, err = time.Parse(time.RFC3339, at); err != nil {
			return t, d, invalid("at", "%q is not an RFC 3339 time such as 2026-01-02T07:30:00Z", at)
		}
		if !t.After(s.cfg.Now()) {
			return t, d, invalid("at", "%s is not in the future", at)
		}
	}
	if in != "" {
		if d, err = time.ParseDuration(in); err != nil {
			return t, d, invalid("in", "%q is not a duration such as 90s, 10m or 2h", in)
		}
	}
	return t, d, nil
}

// notify checks a body's notify_url and notify_each against this server.
func (s *Server) notify(url string, each bool) error {
	switch {
	case url != "" && s.cfg.WebhookSecret == "":
		return invalid("notify_url", "this server has no PHONESTART_WEBHOOK_SECRET: it would not sign the webhook")
	case each && url == "":
		return invalid("notify_each", "notify_each needs a notify_url")
	}
	return nil
}

func (s *Server) postStarts(r *http.Request, c caller, raw []byte) (*post, error) {
	var b startBody
	if err := decode(raw, startObject, &b); err != nil {
		return nil, err
	}
	if err := checkIDs(b.IDs); err != nil {
		return nil, err
	}
	req := enqueue.Request{IDs: b.IDs, Options: b.Options, Label: b.Label, NotifyURL: b.NotifyURL, NotifyEach: b.NotifyEach}
	var err error
	if req.At, req.In, err = s.when(b.At, b.In); err != nil {
		return nil, err
	}
	if b.StopAfter != "" {
		if req.StopAfter, err = time.ParseDuration(b.StopAfter); err != nil {
			return nil, invalid("stop_after", "%q is not a duration such as 90m or 2h", b.StopAfter)
		}
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := s.notify(b.NotifyURL, b.NotifyEach); err != nil {
		return nil, err
	}
	return &post{canon: b, do: func(ctx context.Context) (reply, error) {
		rep, err := s.enq.Start(ctx, req)
		if err != nil {
			return reply{}, partial(rep.Request, rep.Enqueued, err)
		}
		return reply{status: http.StatusAccepted, location: "/v1/requests/" + rep.Request,
			body: startReply{Request: rep.Request, Enqueued: rep.Enqueued, Duplicates: nonNil(rep.Duplicates),
				CancelledStops: rep.CancelledStops}}, nil
	}}, nil
}

func (s *Server) postStops(r *http.Request, c caller, raw []byte) (*post, error) {
	var b stopBody
	if err := decode(raw, stopObject, &b); err != nil {
		return nil, err
	}
	if err := checkIDs(b.IDs); err != nil {
		return nil, err
	}
	req := enqueue.StopRequest{IDs: b.IDs, Label: b.Label, NotifyURL: b.NotifyURL, NotifyEach: b.NotifyEach}
	var err error
	if req.At, req.In, err = s.when(b.At, b.In); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := s.notify(b.NotifyURL, b.NotifyEach); err != nil {
		return nil, err
	}
	return &post{canon: b, do: func(ctx context.Context) (reply, error) {
		rep, err := s.enq.Stop(ctx, req)
		if err != nil {
			return reply{}, partial(rep.Request, rep.Stopped, err)
		}
		return reply{status: http.StatusAccepted, location: "/v1/requests/" + rep.Request,
			body: stopReply{Request: rep.Request, Stopped: rep.Stopped, CancelledStarts: rep.CancelledStarts,
				Duplicates: nonNil(rep.Duplicates)}}, nil
	}}, nil
}

func (s *Server) postCancels(r *http.Request, c caller, raw []byte) (*post, error) {
	var b idsBody
	if err := decode(raw, idsObject, &b); err != nil {
		return nil, err
	}
	if err := checkIDs(b.IDs); err != nil {
		return nil, err
	}
	req := enqueue.CancelRequest{IDs: b.IDs}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &post{canon: b, do: func(ctx context.Context) (reply, error) {
		rep, err := s.enq.Cancel(ctx, req)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: rep}, nil
	}}, nil
}

// partial is the 500 of a request that failed part way: it names the
// request and how many phones it took before the error, which is logged.
// Asking again is safe: phones already taken come back as duplicates.
func partial(request string, done int, err error) error {
	var ie *enqueue.InputError
	if errors.As(err, &ie) || request == "" {
		return err
	}
	p := problem(ProblemInternal, "", "failed after %d phones took request %s; asking again is safe: they come back as duplicates",
		done, request)
	p.Request, p.Enqueued = request, &done
	return &internalProblem{p: p, cause: err}
}

// internalProblem is a 500 Problem whose cause is logged, not sent.
type internalProblem struct {
	p     *Problem
	cause error
}

func (e *internalProblem) Error() string { return e.p.Error() + ": " + e.cause.Error() }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
