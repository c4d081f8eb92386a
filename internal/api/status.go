package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// pauseJSON is the fleet-wide pause: {"paused":false} when none is in force.
type pauseJSON struct {
	Paused bool `json:"paused"`
	// ID names the pause: POST /v1/pause/lift takes it in If-Match, and
	// GET /v1/pause sends it as the ETag.
	ID      string    `json:"id,omitempty"`
	Code    int       `json:"code,omitempty"`
	Meaning string    `json:"meaning,omitempty"`
	Class   string    `json:"class,omitempty"`
	Msg     string    `json:"msg,omitempty"`
	By      string    `json:"by,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
}

func pauseOf(p fleet.Pause, on bool) *pauseJSON {
	if !on {
		return &pauseJSON{}
	}
	info := geelark.Lookup(p.Code)
	return &pauseJSON{Paused: true, ID: p.ID, Code: p.Code, Meaning: info.Meaning, Class: info.Class.String(), Msg: p.Msg,
		By: p.By, Since: utc(p.Since), Until: utc(p.Until)}
}

// liftJSON is a pause lifted within the last hour.
type liftJSON struct {
	Code int       `json:"code"`
	Msg  string    `json:"msg"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// statusJSON is GET /v1/status.
type statusJSON struct {
	// Phones counts the phones in each live state.
	Phones map[string]int `json:"phones"`
	// Dead counts the dead-letter entries.
	Dead     int        `json:"dead"`
	Pause    *pauseJSON `json:"pause"`
	LastLift *liftJSON  `json:"last_lift,omitempty"`
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	ctx := r.Context()
	counts, err := s.store.Counts(ctx)
	if err != nil {
		return err
	}
	p, on, err := s.pauses.Fresh(ctx)
	if err != nil {
		return err
	}
	out := statusJSON{Phones: counts.ByState, Dead: counts.Dead, Pause: pauseOf(p, on)}
	lift, ok, err := fleet.LastLift(ctx, s.cfg.Redis, s.sp)
	if err != nil {
		return err
	}
	if ok {
		out.LastLift = &liftJSON{Code: lift.Code, Msg: lift.Msg, By: lift.By, At: lift.At.UTC()}
	}
	writeJSON(w, http.StatusOK, "application/json", out)
	return nil
}

func (s *Server) getPause(w http.ResponseWriter, r *http.Request, c caller) error {
	p, on, err := s.pauses.Fresh(r.Context())
	if err != nil {
		return err
	}
	if on {
		w.Header().Set("ETag", `"`+p.ID+`"`)
	}
	writeJSON(w, http.StatusOK, "application/json", pauseOf(p, on))
	return nil
}

// liftReply is the answer of POST /v1/pause/lift.
type liftReply struct {
	// Lifted is false when no pause was in force: the one named had ended
	// already (by its time, or another lift).
	Lifted bool `json:"lifted"`
	// Pause is the pause lifted, when Lifted.
	Pause *pauseJSON `json:"pause,omitempty"`
	// Ran counts the phones parked for the pause that were sent back to
	// the queue at once.
	Ran int `json:"ran"`
}

// postLift serves POST /v1/pause/lift. It needs If-Match: "<pause id>"
// (as GET /v1/pause gave it) or If-Match: * for whichever pause is in
// force: 428 without. 412 when another pause is in force than the one
// named, with that pause; 200 with lifted false when none is.
func (s *Server) postLift(r *http.Request, c caller, raw []byte) (*post, error) {
	if len(strings.TrimSpace(string(raw))) > 0 {
		var empty struct{}
		if err := decode(raw, object{}, &empty); err != nil {
			return nil, err
		}
	}
	m := strings.TrimSpace(r.Header.Get("If-Match"))
	if m == "" {
		return nil, problem(ProblemPreconditionNeed, "If-Match",
			`send If-Match: "<pause id>" with the id GET /v1/pause gave, so that a pause set since is not lifted unseen (or If-Match: * for any)`)
	}
	id := ""
	if m != "*" {
		id = strings.TrimPrefix(m, "W/")
		if len(id) < 3 || id[0] != '"' || id[len(id)-1] != '"' || strings.Contains(id[1:len(id)-1], `"`) {
			return nil, invalid("If-Match", `want "<pause id>" in double quotes, or *`)
		}
		id = id[1 : len(id)-1]
	}
	return &post{canon: struct {
		IfMatch string `json:"if_match"`
	}{m}, do: func(ctx context.Context) (reply, error) {
		res, cur, err := s.pauses.Lift(ctx, id, "api:"+c.name)
		if errors.Is(err, fleet.ErrPauseChanged) {
			p := problem(ProblemPauseChanged, "If-Match", "the pause in force is %s, not %s: read it again (GET /v1/pause) before lifting", cur.ID, id)
			p.Pause = pauseOf(cur, true)
			return reply{}, p
		}
		if err != nil {
			return reply{}, err
		}
		if res.Lifted.ID == "" {
			return reply{status: http.StatusOK, body: liftReply{}}, nil
		}
		return reply{status: http.StatusOK, body: liftReply{Lifted: true, Pause: pauseOf(res.Lifted, true), Ran: res.Ran}}, nil
	}}, nil
}
