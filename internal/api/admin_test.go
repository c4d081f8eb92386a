package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/api"
	"github.com/phonestart/phonestart/internal/fleet"
)

// kill dead-letters the phones' current starts (or stops) as a worker
// would: a claim of a call, then GeeLark's 42001 for each.
func (h *harness) kill(action string, ids ...string) {
	h.t.Helper()
	ctx := context.Background()
	ps, err := h.store.Phones(ctx, ids...)
	if err != nil {
		h.t.Fatal(err)
	}
	var cs []fleet.Claim
	var ss []fleet.Settle
	for _, p := range ps {
		cs = append(cs, fleet.Claim{ID: p.ID, Gen: p.Gen})
		ss = append(ss, fleet.Settle{ID: p.ID, Gen: p.Gen, To: fleet.ToDead, Code: 42001, Reason: fleet.ReasonGeeLark,
			Msg: "cloud phone does not exist"})
	}
	token := fleet.NewToken(action)
	claimed, err := h.store.ClaimCall(ctx, action, token, cs)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range claimed {
		if c.Verdict != fleet.ClaimGo {
			h.t.Fatalf("claim %+v", c)
		}
	}
	if _, err := h.store.SettleCall(ctx, action, token, 0, ss); err != nil {
		h.t.Fatal(err)
	}
}

type deadPage struct {
	Entries []struct {
		ID, Action, StopAfter string
		Code                  int
		Options               geelark.StartOptions
	} `json:"entries"`
	Next  string `json:"next"`
	Total int    `json:"total"`
}

// TestDeadListAndRequeue: GET /v1/dead pages through the ledger; POST
// /v1/dead/requeue starts each dead start again with its options and
// billing guard, one request per options, and names IDs without an entry.
func TestDeadListAndRequeue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	wide := phones(1, 3)
	narrow := phones(10, 2)
	if _, err := h.enq.Start(ctx, enqueue.Request{IDs: wide, Options: geelark.StartOptions{Width: 500}, StopAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	h.start(narrow...)
	h.kill(fleet.ActionStart, append(wide, narrow...)...)

	var all []string
	after := ""
	for pages := 0; ; pages++ {
		x := h.do(req{method: http.MethodGet, path: "/v1/dead?limit=2&after=" + after, token: "reader"})
		var p deadPage
		x.decode(t, &p)
		if x.Status != 200 || p.Total != 5 || len(p.Entries) > 2 {
			t.Fatalf("page: %d %s", x.Status, x.Body)
		}
		for _, e := range p.Entries {
			all = append(all, e.ID)
			if e.Code != 42001 || e.Action != "start" {
				t.Errorf("entry %+v", e)
			}
		}
		if p.Next == "" {
			break
		}
		after = p.Next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if want := append(slices.Clone(wide), narrow...); !slices.Equal(all, want) {
		t.Fatalf("paged %v, want %v", all, want)
	}

	x := h.do(req{method: http.MethodPost, path: "/v1/dead/requeue", token: "admin",
		body: map[string]any{"ids": append(append(slices.Clone(wide), narrow...), "5577123"), "label": "again"}})
	var r struct {
		Requeued int `json:"requeued"`
		Requests []struct {
			Request, Action string
			Phones          int
		} `json:"requests"`
		NotFound []string `json:"not_found"`
	}
	x.decode(t, &r)
	if x.Status != 202 || r.Requeued != 5 || len(r.Requests) != 2 || !slices.Equal(r.NotFound, []string{"5577123"}) {
		t.Fatalf("requeue: %d %s", x.Status, x.Body)
	}
	for _, id := range wide {
		p, _ := h.store.Phone(ctx, id)
		if p.State != fleet.StateQueued || p.Options.Width != 500 || p.StopAfter != time.Hour || !slices.Equal(p.Labels, []string{"again"}) {
			t.Errorf("requeued %s: %+v", id, p)
		}
	}
	if n, _ := h.store.Ledger().Count(ctx); n != 0 {
		t.Errorf("%d entries left in the ledger", n)
	}
	// all: nothing left to requeue.
	x = h.do(req{method: http.MethodPost, path: "/v1/dead/requeue", token: "admin", body: map[string]any{"all": true}})
	if x.Status != 202 {
		t.Errorf("requeue all: %d %s", x.Status, x.Body)
	}
	x = h.do(req{method: http.MethodPost, path: "/v1/dead/requeue", token: "admin", body: map[string]any{"all": true, "ids": wide}})
	checkRefused(t, x, badCase{status: 400, typ: api.ProblemInvalid, field: "all", docRefuses: true})
}

// TestPhone: GET /v1/phones/{id} shows the record, its dead entry and its
// events, oldest first.
func TestPhone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	id := phones(1, 1)[0]
	rep := h.start(id, phones(2, 1)[0])
	h.kill(fleet.ActionStart, id)
	x := h.do(req{method: http.MethodGet, path: "/v1/phones/" + id, token: "reader"})
	var p struct {
		ID, State, Action string
		Code              int
		Dead              []struct{ ID string }
		Events            []struct {
			Phone, Event string
			Requests     []string
		}
	}
	x.decode(t, &p)
	if x.Status != 200 || p.State != fleet.StateDead || p.Code != 42001 || len(p.Dead) != 1 {
		t.Fatalf("phone: %d %s", x.Status, x.Body)
	}
	var steps []string
	for _, e := range p.Events {
		if e.Phone != id || !slices.Contains(e.Requests, rep.Request) {
			t.Errorf("event %+v", e)
		}
		steps = append(steps, e.Event)
	}
	if !slices.Equal(steps, []string{fleet.EventEnqueued, fleet.EventDead}) {
		t.Errorf("events %v, want enqueued, dead", steps)
	}
}

// TestStatusAndPauseLift: GET /v1/status counts the phones; POST
// /v1/pause/lift needs If-Match (428), refuses a pause other than the one
// named (412, with it), lifts the one named, and answers lifted false when
// none is in force.
func TestStatusAndPauseLift(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	h.start(phones(1, 4)...)
	x := h.do(req{method: http.MethodGet, path: "/v1/status", token: "reader"})
	var st struct {
		Phones map[string]int `json:"phones"`
		Pause  struct{ Paused bool }
	}
	x.decode(t, &st)
	if x.Status != 200 || st.Phones["queued"] != 4 || st.Pause.Paused {
		t.Fatalf("status: %d %s", x.Status, x.Body)
	}

	pauses := h.store.Pauses(nil)
	p, _, err := pauses.Set(ctx, 40003, "signature verification failed", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	x = h.do(req{method: http.MethodGet, path: "/v1/pause", token: "reader"})
	var pj struct {
		Paused bool
		ID     string
		Code   int
	}
	x.decode(t, &pj)
	if !pj.Paused || pj.ID != p.ID || pj.Code != 40003 || x.Header.Get("ETag") != `"`+p.ID+`"` {
		t.Fatalf("pause: %s ETag %s", x.Body, x.Header.Get("ETag"))
	}
	lift := func(ifMatch, token string) exchange {
		hdr := map[string]string{}
		if ifMatch != "" {
			hdr["If-Match"] = ifMatch
		}
		return h.do(req{method: http.MethodPost, path: "/v1/pause/lift", token: token, header: hdr})
	}
	checkRefused(t, lift(`"`+p.ID+`"`, "starter"), badCase{status: 403, typ: api.ProblemForbidden})
	checkRefused(t, lift("", "admin"), badCase{status: 428, typ: api.ProblemPreconditionNeed, field: "If-Match", docRefuses: true})
	x = lift(`"0123456789abcdef"`, "admin")
	checkRefused(t, x, badCase{status: 412, typ: api.ProblemPauseChanged, field: "If-Match"})
	if pr := x.problem(t); pr.Pause == nil || pr.Pause.ID != p.ID {
		t.Errorf("412 without the pause in force: %s", x.Body)
	}
	if _, on, _ := pauses.Fresh(ctx); !on {
		t.Fatal("a lift naming another pause lifted it")
	}
	x = lift(`"`+p.ID+`"`, "admin")
	var lr struct {
		Lifted bool
		Pause  struct{ ID string }
	}
	x.decode(t, &lr)
	if x.Status != 200 || !lr.Lifted || lr.Pause.ID != p.ID {
		t.Fatalf("lift: %d %s", x.Status, x.Body)
	}
	if _, on, _ := pauses.Fresh(ctx); on {
		t.Fatal("still paused after the lift")
	}
	x = lift(`"`+p.ID+`"`, "admin")
	x.decode(t, &lr)
	if x.Status != 200 || lr.Lifted {
		t.Errorf("lift with none in force: %d %s", x.Status, x.Body)
	}
	x = h.do(req{method: http.MethodGet, path: "/v1/status", token: "reader"})
	var st2 struct {
		LastLift struct{ By string } `json:"last_lift"`
	}
	x.decode(t, &st2)
	if st2.LastLift.By != "api:admin" {
		t.Errorf("status after the lift: %s", x.Body)
	}
}
