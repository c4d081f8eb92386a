package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/api"
	"github.com/phonestart/phonestart/internal/fleet"
)

type startReply struct {
	Request        string   `json:"request"`
	Enqueued       int      `json:"enqueued"`
	Duplicates     []string `json:"duplicates"`
	CancelledStops int      `json:"cancelled_stops"`
}

// postStart POSTs /v1/starts and fails the test unless it is accepted.
func (h *harness) postStart(body map[string]any, header map[string]string) (startReply, exchange) {
	h.t.Helper()
	x := h.do(req{method: http.MethodPost, path: "/v1/starts", token: "starter", body: body, header: header})
	if x.Status != http.StatusAccepted || x.ReqErr != nil {
		h.t.Fatalf("POST /v1/starts: %d %s (document: %v)", x.Status, x.Body, x.ReqErr)
	}
	var r startReply
	x.decode(h.t, &r)
	if loc := x.Header.Get("Location"); loc != "/v1/requests/"+r.Request {
		h.t.Errorf("Location %q, want /v1/requests/%s", loc, r.Request)
	}
	return r, x
}

// getOutcome GETs a request's outcome.
func (h *harness) getOutcome(request, query string) enqueue.Outcome {
	h.t.Helper()
	x := h.do(req{method: http.MethodGet, path: "/v1/requests/" + request + query, token: "reader"})
	if x.Status != http.StatusOK {
		h.t.Fatalf("GET /v1/requests/%s: %d %s", request, x.Status, x.Body)
	}
	var o enqueue.Outcome
	x.decode(h.t, &o)
	return o
}

// TestStartThenOutcome: a start through the API enqueues every phone (one
// task each, with the options asked for), and GET /v1/requests/{request}
// answers exactly what enqueue.Client.Outcome says, before and after the
// request ends.
func TestStartThenOutcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ids := phones(1, 5)
	rep, _ := h.postStart(map[string]any{"ids": append(ids, ids[0]), "options": map[string]any{"width": 400, "center": 1},
		"stop_after": "2h", "label": "etl-42", "notify_url": "https://hooks.example.com/x"}, nil)
	if rep.Enqueued != 5 || !slices.Equal(rep.Duplicates, []string{ids[0]}) || !fleet.ValidRequestID(rep.Request) {
		t.Fatalf("reply %+v, want 5 enqueued and %s a duplicate", rep, ids[0])
	}
	ctx := context.Background()
	for _, id := range ids {
		p, err := h.store.Phone(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.State != fleet.StateQueued || p.Options.Width != 400 || p.StopAfter != 2*time.Hour || !slices.Contains(p.Labels, "etl-42") {
			t.Errorf("phone %s: %+v", id, p)
		}
	}
	qi, err := asynq.NewInspectorFromRedisClient(h.rdb).GetQueueInfo(fleet.DefaultNamespace)
	if err != nil || qi.Pending != 5 {
		t.Fatalf("queue: %+v %v, want 5 pending tasks", qi, err)
	}
	same := func() {
		t.Helper()
		want, err := h.enq.Outcome(ctx, rep.Request)
		if err != nil {
			t.Fatal(err)
		}
		got := h.getOutcome(rep.Request, "")
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if !bytes.Equal(wb, gb) {
			t.Errorf("GET /v1/requests/%s = %s\nenqueue.Client.Outcome = %s", rep.Request, gb, wb)
		}
	}
	same()
	if _, err := h.enq.Cancel(ctx, enqueue.CancelRequest{IDs: ids[:2]}); err != nil {
		t.Fatal(err)
	}
	same()
	x := h.do(req{method: http.MethodPost, path: "/v1/cancels", token: "canceller", body: map[string]any{"ids": append(ids[2:], "5577999")}})
	var cr enqueue.CancelReport
	x.decode(t, &cr)
	if x.Status != 200 || !slices.Equal(cr.Cancelled, ids[2:]) || !slices.Equal(cr.NotFound, []string{"5577999"}) {
		t.Fatalf("cancel: %d %s", x.Status, x.Body)
	}
	same()
	if o := h.getOutcome(rep.Request, ""); !o.Ended || !slices.Equal(o.Cancelled, ids) || o.Label != "etl-42" {
		t.Errorf("outcome %+v, want ended with every phone cancelled", o)
	}
}

// TestStopThroughAPI: a stop cancels the waiting starts and makes a
// request of its own.
func TestStopThroughAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ids := phones(1, 3)
	h.start(ids...)
	x := h.do(req{method: http.MethodPost, path: "/v1/stops", token: "stopper",
		body: map[string]any{"ids": ids, "in": "1h", "label": "night"}})
	var r struct {
		Request         string   `json:"request"`
		Stopped         int      `json:"stopped"`
		CancelledStarts int      `json:"cancelled_starts"`
		Duplicates      []string `json:"duplicates"`
	}
	x.decode(t, &r)
	if x.Status != 202 || r.Stopped != 3 || r.CancelledStarts != 3 || len(r.Duplicates) != 0 {
		t.Fatalf("stop: %d %s", x.Status, x.Body)
	}
	p, _ := h.store.Phone(context.Background(), ids[0])
	if p.State != fleet.StateStopping || p.Action != fleet.ActionStop || p.Due.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("phone after stop: %+v", p)
	}
}

// TestWait: ?wait= answers as soon as the request ends, and when it does
// not end, once the wait ran out, with ended false.
func TestWait(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ids := phones(1, 3)
	rep, _ := h.postStart(map[string]any{"ids": ids}, nil)

	began := time.Now()
	o := h.getOutcome(rep.Request, "?wait=300ms")
	if o.Ended || len(o.Unfinished) != 3 || time.Since(began) < 300*time.Millisecond {
		t.Fatalf("wait 300ms on a request that does not end: %+v after %v", o, time.Since(began))
	}

	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = h.enq.Cancel(context.Background(), enqueue.CancelRequest{IDs: ids})
	}()
	began = time.Now()
	o = h.getOutcome(rep.Request, "?wait=1m")
	if took := time.Since(began); !o.Ended || took > 10*time.Second {
		t.Fatalf("wait 1m on a request cancelled after 200ms: %+v after %v", o, took)
	}
}

// TestIdempotentReplay: a POST retried with its Idempotency-Key gets the
// first answer again, marked replayed, and enqueues nothing more; ten at
// once with one key make one request between them.
func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	body := map[string]any{"ids": phones(1, 4), "label": "etl-1"}
	hdr := map[string]string{"Idempotency-Key": "order-1"}
	first, fx := h.postStart(body, hdr)
	before := h.state()
	_, ax := h.postStart(body, hdr)
	if !bytes.Equal(ax.Body, fx.Body) {
		t.Fatalf("replay %s, want %s", ax.Body, fx.Body)
	}
	if ax.Header.Get("Idempotent-Replayed") != "true" || fx.Header.Get("Idempotent-Replayed") != "" {
		t.Error("Idempotent-Replayed not set on the replay alone")
	}
	if after := h.state(); after != before {
		t.Errorf("the replay wrote to Redis:\nbefore\n%s\nafter\n%s", before, after)
	}
	// Keys are per token: another token's key of the same name is its own.
	x := h.do(req{method: http.MethodPost, path: "/v1/starts", token: "admin", body: body, header: hdr})
	var other startReply
	x.decode(t, &other)
	if x.Status != 202 || other.Request == first.Request || other.Enqueued != 0 || len(other.Duplicates) != 4 {
		t.Errorf("another token's POST with the same key: %d %s", x.Status, x.Body)
	}

	// Concurrent POSTs with one key: one carries it out, the others wait
	// for its answer.
	body = map[string]any{"ids": phones(100, 50), "label": "etl-2"}
	hdr = map[string]string{"Idempotency-Key": "order-2"}
	var wg sync.WaitGroup
	answers := make([][]byte, 10)
	for i := range answers {
		wg.Go(func() {
			x := h.do(req{method: http.MethodPost, path: "/v1/starts", token: "starter", body: body, header: hdr})
			if x.Status != 202 {
				t.Errorf("concurrent POST: %d %s", x.Status, x.Body)
			}
			answers[i] = x.Body
		})
	}
	wg.Wait()
	for _, a := range answers[1:] {
		if !bytes.Equal(a, answers[0]) {
			t.Fatalf("concurrent POSTs with one key answered differently:\n%s\n%s", a, answers[0])
		}
	}
	var r startReply
	_ = json.Unmarshal(answers[0], &r)
	if r.Enqueued != 50 {
		t.Errorf("concurrent POSTs: %s, want 50 enqueued once", answers[0])
	}
	keys, _ := h.rdb.Keys(context.Background(), "{phonestart}:req:*").Result()
	reqs := 0
	for _, k := range keys {
		if fleet.ValidRequestID(strings.TrimPrefix(k, "{phonestart}:req:")) {
			reqs++
		}
	}
	if reqs != 3 {
		t.Errorf("%d requests made, want 3 (order-1, admin's, order-2): %v", reqs, keys)
	}
}
