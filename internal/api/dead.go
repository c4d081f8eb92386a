package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
)

// Paging of GET /v1/dead.
const (
	DefaultDeadLimit = 100
	MaxDeadLimit     = 1000
)

// deadPage is GET /v1/dead.
type deadPage struct {
	Entries []deadJSON `json:"entries"`
	// Next is the after of the next page; omitted on the last.
	Next string `json:"next,omitempty"`
	// Total counts every entry of the ledger.
	Total int `json:"total"`
}

func (s *Server) getDead(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	limit := DefaultDeadLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDeadLimit {
			return invalid("limit", "%q: want 1..%d", v, MaxDeadLimit)
		}
		limit = n
	}
	after := q.Get("after")
	if len(after) > 2*geelark.MaxIDLength {
		return invalid("after", "not a cursor this API gave")
	}
	led := s.store.Ledger()
	entries, next, err := led.Page(r.Context(), after, limit)
	if err != nil {
		return err
	}
	total, err := led.Count(r.Context())
	if err != nil {
		return err
	}
	out := deadPage{Entries: make([]deadJSON, 0, len(entries)), Next: next, Total: total}
	for _, d := range entries {
		out.Entries = append(out.Entries, deadOf(d))
	}
	writeJSON(w, http.StatusOK, "application/json", out)
	return nil
}

// requeueBody is POST /v1/dead/requeue: ids or all, not both.
type requeueBody struct {
	IDs   []string `json:"ids,omitempty"`
	All   bool     `json:"all,omitempty"`
	Label string   `json:"label,omitempty"`
}

var requeueObject = object{fields: []string{"ids", "all", "label"}}

// requeueReply is the answer of POST /v1/dead/requeue.
type requeueReply struct {
	// Requeued counts the dead entries sent back.
	Requeued int `json:"requeued"`
	// Requests are the requests made: one per action, options and
	// billing guard among the entries.
	Requests []requeued `json:"requests"`
	// NotFound are the IDs given that have no dead entry.
	NotFound []string `json:"not_found"`
}

type requeued struct {
	Request string `json:"request"`
	Action  string `json:"action"`
	Phones  int    `json:"phones"`
}

// postRequeue sends dead phones back, each as it was asked for: a dead
// start is started again with its options and billing guard, a dead stop
// is stopped again, through enqueue.Client.Start and Stop (so each phone
// gets a new intent and a fresh set of attempts, and its entry leaves the
// ledger). Entries are grouped into one request per action, options and
// billing guard, starts before stops; a phone dead both starting and
// stopping gets both, and its stop, the later request, wins (one phone,
// one intent).
func (s *Server) postRequeue(r *http.Request, c caller, raw []byte) (*post, error) {
	var b requeueBody
	if err := decode(raw, requeueObject, &b); err != nil {
		return nil, err
	}
	switch {
	case b.All && len(b.IDs) > 0:
		return nil, invalid("all", "give ids or all, not both")
	case !b.All && len(b.IDs) == 0:
		return nil, invalid("ids", "give the phone IDs to requeue, or \"all\": true")
	}
	if err := checkIDs(b.IDs); err != nil {
		return nil, err
	}
	for i, id := range b.IDs {
		if err := geelark.ValidateID(id); err != nil {
			return nil, invalid(fmt.Sprintf("ids[%d]", i+1), "%v", err)
		}
	}
	if err := fleet.ValidateLabel(b.Label); err != nil {
		return nil, invalid("label", "%q: %v", b.Label, err)
	}
	return &post{canon: b, do: func(ctx context.Context) (reply, error) {
		entries, notFound, err := s.deadEntries(ctx, b)
		if err != nil {
			return reply{}, err
		}
		out := requeueReply{Requests: []requeued{}, NotFound: notFound}
		for _, g := range groupDead(entries) {
			var rq requeued
			var err error
			if g.action == fleet.ActionStop {
				var rep enqueue.StopReport
				rep, err = s.enq.Stop(ctx, enqueue.StopRequest{IDs: g.ids, Label: b.Label})
				rq = requeued{Request: rep.Request, Action: g.action, Phones: len(g.ids)}
			} else {
				var rep enqueue.Report
				rep, err = s.enq.Start(ctx, enqueue.Request{IDs: g.ids, Options: g.options, StopAfter: g.stopAfter, Label: b.Label})
				rq = requeued{Request: rep.Request, Action: g.action, Phones: len(g.ids)}
			}
			if err != nil {
				return reply{}, partial(rq.Request, out.Requeued, err)
			}
			out.Requests = append(out.Requests, rq)
			out.Requeued += len(g.ids)
		}
		return reply{status: http.StatusAccepted, body: out}, nil
	}}, nil
}

// deadEntries returns the entries b names, and the IDs it names that have
// none.
func (s *Server) deadEntries(ctx context.Context, b requeueBody) ([]fleet.DeadPhone, []string, error) {
	led := s.store.Ledger()
	if !b.All {
		ids, _ := uniqueIDs(b.IDs)
		entries, err := led.Get(ctx, ids...)
		if err != nil {
			return nil, nil, err
		}
		has := map[string]bool{}
		for _, e := range entries {
			has[e.ID] = true
		}
		notFound := []string{}
		for _, id := range ids {
			if !has[id] {
				notFound = append(notFound, id)
			}
		}
		return entries, notFound, nil
	}
	var all []fleet.DeadPhone
	after := ""
	for {
		page, next, err := led.Page(ctx, after, MaxDeadLimit)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, []string{}, nil
		}
		after = next
	}
}

// deadGroup is the dead entries one request sends back.
type deadGroup struct {
	action    string
	options   geelark.StartOptions
	stopAfter time.Duration
	ids       []string
}

// groupDead groups entries by action, options and billing guard, in the
// order first seen, starts first.
func groupDead(entries []fleet.DeadPhone) []*deadGroup {
	var starts, stops []*deadGroup
	by := map[string]*deadGroup{}
	for _, e := range entries {
		k := e.Action
		if e.Action != fleet.ActionStop {
			k = fleet.ActionStart + "/" + e.Options.Key() + "/" + e.StopAfter.String()
		}
		g := by[k]
		if g == nil {
			g = &deadGroup{action: e.Action, options: e.Options, stopAfter: e.StopAfter}
			if e.Action == fleet.ActionStop {
				stops = append(stops, g)
			} else {
				g.action = fleet.ActionStart
				starts = append(starts, g)
			}
			by[k] = g
		}
		g.ids = append(g.ids, e.ID)
	}
	return append(starts, stops...)
}

func uniqueIDs(ids []string) (out, dups []string) {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			dups = append(dups, id)
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, dups
}
