package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// ssePage is how many stream entries one read of an SSE stream takes.
const ssePage = 500

var streamIDRE = regexp.MustCompile(`^[0-9]{1,20}(-[0-9]{1,20})?$`)

// resetJSON is the data of an SSE "reset" event.
type resetJSON struct {
	// Reason is "trimmed": events after the ID resumed from are gone.
	Reason string `json:"reason"`
	After  string `json:"after"`
	// Resume is the ID the stream goes on from (also the event's id).
	Resume string `json:"resume"`
	Detail string `json:"detail"`
}

// eventFilter keeps the events of a request, a label and a phone, each
// when set.
type eventFilter struct{ request, label, phone string }

func (f eventFilter) keep(e fleet.Event) bool {
	return (f.request == "" || slices.Contains(e.Requests, f.request)) &&
		(f.label == "" || slices.Contains(e.Labels, f.label)) &&
		(f.phone == "" || e.Phone == f.phone)
}

// getEvents serves GET /v1/events: the events stream as Server-Sent
// Events, each with id: its stream ID. It starts after Last-Event-ID (the
// header, or ?last_event_id=; "0" for the oldest kept), else at the newest
// entry. When the entry resumed from, or any after it, was trimmed from the
// stream meanwhile, it says so with an "event: reset" before going on from
// the newest entry: never a silent gap. An idle stream gets a comment every
// Heartbeat, with an id: line when it scanned past events it filtered out.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	f := eventFilter{request: q.Get("request"), label: q.Get("label"), phone: q.Get("phone")}
	if f.request != "" && !fleet.ValidRequestID(f.request) {
		return invalid("request", "%q is not a request ID", f.request)
	}
	if err := fleet.ValidateLabel(f.label); err != nil {
		return invalid("label", "%q: %v", f.label, err)
	}
	if f.phone != "" {
		if err := geelark.ValidateID(f.phone); err != nil {
			return invalid("phone", "%v", err)
		}
	}
	field, after := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if after == "" {
		field, after = "last_event_id", q.Get("last_event_id")
	}
	if after != "" && !streamIDRE.MatchString(after) {
		return invalid(field, "%q is not an event id this stream sent", after)
	}
	ctx := r.Context()
	ev := s.store.Events()
	cursor := after
	if cursor == "" {
		last, err := ev.Last(ctx)
		if err != nil {
			return err
		}
		cursor = last
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	fmt.Fprintf(bw, "retry: 2000\n: phonestart events\nid: %s\n\n", cursor)
	if err := flush(); err != nil {
		return nil
	}
	sent := cursor // the id the client holds
	idle := time.NewTimer(s.cfg.Heartbeat)
	defer idle.Stop()
	for {
		grown := s.tail.grown()
		got, err := ev.Read(ctx, cursor, ssePage, 0)
		if err != nil {
			return nil // the answer began: the client reconnects and resumes
		}
		// Checked after the read: entries trimmed before it are caught
		// here, and entries trimmed after it were read.
		trimmed, err := ev.Trimmed(ctx, cursor)
		if err != nil {
			return nil
		}
		if trimmed {
			last, err := ev.Last(ctx)
			if err != nil {
				return nil
			}
			data, _ := json.Marshal(resetJSON{Reason: "trimmed", After: cursor, Resume: last,
				Detail: "events after " + cursor + " were trimmed from the stream before they were read: " +
					"read the state again (GET /v1/requests/{request}, GET /v1/phones/{id}), then go on from here"})
			fmt.Fprintf(bw, "id: %s\nevent: reset\ndata: %s\n\n", last, data)
			if err := flush(); err != nil {
				return nil
			}
			cursor, sent = last, last
			continue
		}
		for _, e := range got {
			if !f.keep(e) {
				continue
			}
			data, _ := json.Marshal(eventOf(e))
			fmt.Fprintf(bw, "id: %s\ndata: %s\n\n", e.StreamID, data)
			sent = e.StreamID
		}
		if len(got) > 0 {
			cursor = got[len(got)-1].StreamID
			if err := flush(); err != nil {
				return nil
			}
			if len(got) == ssePage {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.tail.closed():
			return nil
		case <-grown:
		case <-idle.C:
			if cursor != sent {
				// Skipped past filtered-out events: a client resuming
				// from here need not scan them again.
				fmt.Fprintf(bw, ": heartbeat\nid: %s\n\n", cursor)
				sent = cursor
			} else {
				fmt.Fprint(bw, ": heartbeat\n\n")
			}
			if err := flush(); err != nil {
				return nil
			}
			idle.Reset(s.cfg.Heartbeat)
		}
	}
}
