package api

import (
	"context"
	"net/http"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// maxPhoneEvents is how many of a phone's newest events GET /v1/phones/{id}
// lists.
const maxPhoneEvents = 200

// eventJSON is one event of the stream, in answers and SSE data.
type eventJSON struct {
	// StreamID is the stream entry's ID: the SSE id.
	StreamID string    `json:"stream_id"`
	Phone    string    `json:"phone"`
	Event    string    `json:"event"`
	Action   string    `json:"action"`
	Attempt  int       `json:"attempt"`
	Code     int       `json:"code"`
	Reason   string    `json:"reason,omitempty"`
	Msg      string    `json:"msg,omitempty"`
	URL      string    `json:"url,omitempty"`
	At       time.Time `json:"at"`
	Requests []string  `json:"requests"`
	Labels   []string  `json:"labels"`
}

func eventOf(e fleet.Event) eventJSON {
	return eventJSON{StreamID: e.StreamID, Phone: e.Phone, Event: e.Event, Action: e.Action, Attempt: e.Attempt,
		Code: e.Code, Reason: e.Reason, Msg: e.Msg, URL: e.URL, At: e.At.UTC(), Requests: nonNil(e.Requests),
		Labels: nonNil(e.Labels)}
}

// deadJSON is a dead-letter entry.
type deadJSON struct {
	ID       string               `json:"id"`
	Action   string               `json:"action"`
	Code     int                  `json:"code"`
	Reason   string               `json:"reason"`
	Msg      string               `json:"msg"`
	Attempts int                  `json:"attempts"`
	FailedAt time.Time            `json:"failed_at"`
	Options  geelark.StartOptions `json:"options"`
	// StopAfter is a start's billing guard, as a Go duration ("2h0m0s").
	StopAfter string `json:"stop_after,omitempty"`
}

func deadOf(d fleet.DeadPhone) deadJSON {
	return deadJSON{ID: d.ID, Action: d.Action, Code: d.Code, Reason: d.Reason, Msg: d.Msg, Attempts: d.Attempts,
		FailedAt: d.FailedAt.UTC(), Options: d.Options, StopAfter: durationString(d.StopAfter)}
}

func durationString(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

// phoneJSON is GET /v1/phones/{id}: the record's state fields, its
// dead-letter entries and its events still in the stream.
type phoneJSON struct {
	ID         string               `json:"id"`
	State      string               `json:"state"`
	Action     string               `json:"action"`
	Since      time.Time            `json:"since,omitzero"`
	Attempt    int                  `json:"attempt"`
	Code       int                  `json:"code"`
	Reason     string               `json:"reason,omitempty"`
	Msg        string               `json:"msg,omitempty"`
	URL        string               `json:"url,omitempty"`
	Options    geelark.StartOptions `json:"options"`
	StopAfter  string               `json:"stop_after,omitempty"`
	Due        time.Time            `json:"due,omitzero"`
	Guard      time.Time            `json:"guard,omitzero"`
	Waits      string               `json:"waits,omitempty"`
	Unanswered bool                 `json:"unanswered,omitempty"`
	Boot       *bootJSON            `json:"boot,omitempty"`
	Requests   []string             `json:"requests"`
	Labels     []string             `json:"labels"`
	Dead       []deadJSON           `json:"dead"`
	Events     []eventJSON          `json:"events"`
	// EventsTruncated says that older events of the phone are in the
	// stream beyond the maxPhoneEvents listed.
	EventsTruncated bool `json:"events_truncated"`
}

type bootJSON struct {
	StartedAt time.Time `json:"started_at,omitzero"`
	Deadline  time.Time `json:"deadline,omitzero"`
	Seen      string    `json:"seen,omitempty"`
	Verdict   string    `json:"verdict,omitempty"`
}

func (s *Server) getPhone(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("id")
	if err := geelark.ValidateID(id); err != nil {
		return invalid("id", "%v", err)
	}
	ctx := r.Context()
	p, err := s.store.Phone(ctx, id)
	if err != nil {
		return err
	}
	dead, err := s.store.Ledger().Get(ctx, id)
	if err != nil {
		return err
	}
	if !p.Known() && len(dead) == 0 {
		return problem(ProblemNotFound, "id", "phonestart has no record of phone %s (never asked for, or ended longer ago than the retention)", id)
	}
	out := phoneJSON{ID: id, State: p.State, Action: p.Action, Since: utc(p.Since), Attempt: p.Attempt, Code: p.Code,
		Reason: p.Reason, Msg: p.Msg, URL: p.URL, Options: p.Options, StopAfter: durationString(p.StopAfter),
		Due: utc(p.Due), Guard: utc(p.Guard), Waits: p.Waits, Unanswered: p.Unanswered,
		Requests: nonNil(p.Requests), Labels: nonNil(p.Labels), Dead: []deadJSON{}}
	if !p.Boot.IsZero() {
		out.Boot = &bootJSON{StartedAt: utc(p.Boot.StartedAt), Deadline: utc(p.Boot.Deadline), Seen: p.Boot.Seen, Verdict: p.Boot.Verdict}
	}
	for _, d := range dead {
		out.Dead = append(out.Dead, deadOf(d))
	}
	if !p.Known() {
		// The record is past its retention; the ledger keeps the entry.
		latest := dead[0]
		for _, d := range dead[1:] {
			if d.FailedAt.After(latest.FailedAt) {
				latest = d
			}
		}
		out.State, out.Action, out.Since = fleet.StateDead, latest.Action, utc(latest.FailedAt)
		out.Code, out.Reason, out.Msg, out.Attempt = latest.Code, latest.Reason, latest.Msg, latest.Attempts
	}
	out.Events, out.EventsTruncated, err = s.phoneEvents(ctx, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json", out)
	return nil
}

// phoneEvents reads the whole stream, a page at a time, for the newest
// maxPhoneEvents events of phone id, oldest first.
func (s *Server) phoneEvents(ctx context.Context, id string) ([]eventJSON, bool, error) {
	const page = 2000
	ev := s.store.Events()
	var ring []eventJSON
	truncated := false
	after := "0"
	for {
		got, err := ev.Read(ctx, after, page, 0)
		if err != nil {
			return nil, false, err
		}
		for _, e := range got {
			if e.Phone != id {
				continue
			}
			if len(ring) == maxPhoneEvents {
				ring = ring[1:]
				truncated = true
			}
			ring = append(ring, eventOf(e))
		}
		if len(got) < page {
			break
		}
		after = got[len(got)-1].StreamID
	}
	if ring == nil {
		ring = []eventJSON{}
	}
	return ring, truncated, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
