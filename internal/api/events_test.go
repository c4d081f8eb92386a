package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/api"
)

// sseEvent is one event of a stream, as a client sees it.
type sseEvent struct {
	id, event, data string
	comment         bool // a comment-only block (heartbeat)
}

// sse is an open stream.
type sse struct {
	h      *harness
	resp   *http.Response
	events chan sseEvent
	// lastID is the last id: line read, as EventSource keeps it.
	lastID string
}

// openSSE opens GET /v1/events?query with Last-Event-ID lastID (none when
// ""), checking the request and the answer's status and headers against
// the document.
func (h *harness) openSSE(query, lastID string) *sse {
	h.t.Helper()
	r, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/v1/events"+query, nil)
	r.Header.Set("Authorization", "Bearer "+h.tokens["reader"])
	if lastID != "" {
		r.Header.Set("Last-Event-ID", lastID)
	}
	route, params, err := h.router.FindRoute(r)
	if err != nil {
		h.t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		h.t.Fatalf("the document refuses GET /v1/events%s: %v", query, err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		h.t.Fatal(err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Errorf("GET /v1/events: answer not as documented: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		h.t.Fatalf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	h.mu.Lock()
	h.seen[route.Operation.OperationID] = true
	h.mu.Unlock()
	s := &sse{h: h, resp: resp, events: make(chan sseEvent, 1000)}
	go s.read()
	return s
}

// read parses the stream as the SSE standard says (data, id, event, comment
// lines; a blank line ends a block).
func (s *sse) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	var ev sseEvent
	var data []string
	seen := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if seen {
				ev.data = strings.Join(data, "\n")
				ev.comment = len(data) == 0 && ev.id == "" && ev.event == ""
				s.events <- ev
			}
			ev, data, seen = sseEvent{}, nil, false
			continue
		}
		seen = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			ev.comment = true
		case "id":
			ev.id = value
		case "event":
			ev.event = value
		case "data":
			data = append(data, value)
		}
	}
}

// next returns the next block with data, keeping lastID as a client does
// (id-only blocks move it too); false when none came within d.
func (s *sse) next(d time.Duration) (sseEvent, bool) {
	s.h.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return sseEvent{}, false
			}
			if ev.id != "" {
				s.lastID = ev.id
			}
			if ev.data != "" {
				return ev, true
			}
		case <-timer.C:
			return sseEvent{}, false
		}
	}
}

func (s *sse) close() { s.resp.Body.Close() }

// checkSchema checks v against the document's schema name.
func (h *harness) checkSchema(name, data string) {
	h.t.Helper()
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		h.t.Fatalf("%s: %v: %s", name, err, data)
	}
	if err := h.doc.Components.Schemas[name].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		h.t.Errorf("%s not as the document says: %v\n%s", name, err, data)
	}
}

// streamIDs returns the stream IDs of request's events in the stream, in
// order: what a client following it must get, each once.
func (h *harness) streamIDs(request string) []string {
	h.t.Helper()
	evs, err := h.store.Events().Read(context.Background(), "0", 100_000, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if slices.Contains(e.Requests, request) {
			out = append(out, e.StreamID)
		}
	}
	return out
}

// TestSSEResume cuts a client mid-stream and reconnects it with its
// Last-Event-ID while events keep coming: it gets every event of its
// request exactly once, in order, and none of another request's.
func TestSSEResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	ids := phones(1, 20)
	rep, _ := h.postStart(map[string]any{"ids": ids, "label": "sse-1"}, nil)

	var got []string
	s := h.openSSE("?request="+rep.Request+"&last_event_id=0", "")
	for len(got) < 7 {
		ev, ok := s.next(30 * time.Second)
		if !ok {
			t.Fatalf("stream ended after %d events", len(got))
		}
		h.checkSchema("Event", ev.data)
		got = append(got, ev.id)
	}
	s.close()
	last := s.lastID
	// While the client is away: half its phones are cancelled, and another
	// request's phones come and go.
	if _, err := h.enq.Cancel(ctx, enqueue.CancelRequest{IDs: ids[:10]}); err != nil {
		t.Fatal(err)
	}
	other := h.start(phones(100, 5)...)
	s = h.openSSE("?request="+rep.Request, last)
	defer s.close()
	// And once it is back, the rest.
	if _, err := h.enq.Cancel(ctx, enqueue.CancelRequest{IDs: append(ids[10:], phones(100, 5)...)}); err != nil {
		t.Fatal(err)
	}
	want := h.streamIDs(rep.Request)
	if len(want) != 40 {
		t.Fatalf("%d events of the request in the stream, want 40", len(want))
	}
	for len(got) < len(want) {
		ev, ok := s.next(30 * time.Second)
		if !ok {
			break
		}
		h.checkSchema("Event", ev.data)
		var e struct {
			Requests []string `json:"requests"`
		}
		_ = json.Unmarshal([]byte(ev.data), &e)
		if slices.Contains(e.Requests, other.Request) {
			t.Errorf("an event of another request: %s", ev.data)
		}
		got = append(got, ev.id)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d events %v\nwant %d %v", len(got), got, len(want), want)
	}
	if ev, ok := s.next(200 * time.Millisecond); ok {
		t.Errorf("an event more: %+v", ev)
	}
}

// TestSSETrimmed: a client resuming from an ID the stream no longer holds
// gets "event: reset" first, then the events after it; one whose ID is
// kept gets none.
func TestSSETrimmed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	rep := h.start(phones(1, 10)...)
	kept := h.streamIDs(rep.Request)
	s := h.openSSE("", kept[len(kept)-2])
	ev, ok := s.next(30 * time.Second)
	if !ok || ev.event != "" || ev.id != kept[len(kept)-1] {
		t.Fatalf("resuming from a kept ID: %+v, want the next event", ev)
	}
	s.close()

	if err := h.rdb.XTrimMaxLen(ctx, "{phonestart}:events", 3).Err(); err != nil {
		t.Fatal(err)
	}
	s = h.openSSE("?label=sse-2", kept[2])
	defer s.close()
	ev, ok = s.next(30 * time.Second)
	if !ok || ev.event != "reset" {
		t.Fatalf("resuming from a trimmed ID: %+v, want event: reset", ev)
	}
	h.checkSchema("Reset", ev.data)
	var reset struct{ After, Resume string }
	_ = json.Unmarshal([]byte(ev.data), &reset)
	if reset.After != kept[2] || reset.Resume != kept[len(kept)-1] || ev.id != reset.Resume {
		t.Errorf("reset %s id %s, want after %s, resume and id %s", ev.data, ev.id, kept[2], kept[len(kept)-1])
	}
	// It goes on from there.
	later, err := h.enq.Start(ctx, enqueue.Request{IDs: phones(50, 1), Label: "sse-2"})
	if err != nil {
		t.Fatal(err)
	}
	ev, ok = s.next(30 * time.Second)
	if !ok || ev.event != "" || !strings.Contains(ev.data, later.Request) {
		t.Errorf("after the reset: %+v, want the new phone's event", ev)
	}
}

// TestSSEHeartbeat: an idle stream gets heartbeats, and once it scanned past
// events its filter left out, an id: line so that a client resuming need
// not scan them again.
func TestSSEHeartbeat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{Heartbeat: 50 * time.Millisecond})
	s := h.openSSE("?phone=5577000000000999", "")
	defer s.close()
	start := s.lastID
	rep := h.start(phones(1, 3)...)
	want := h.streamIDs(rep.Request)
	deadline := time.Now().Add(5 * time.Second)
	for s.lastID != want[len(want)-1] && time.Now().Before(deadline) {
		if ev, ok := s.next(100 * time.Millisecond); ok {
			t.Fatalf("an event of another phone: %+v", ev)
		}
	}
	if s.lastID != want[len(want)-1] {
		t.Errorf("last id %q (from %q), want %q after the heartbeat", s.lastID, start, want[len(want)-1])
	}
}
