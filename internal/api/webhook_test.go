package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/api"
	"github.com/phonestart/phonestart/internal/fleet"
)

// receiver is a webhook receiver that fails the first fail deliveries of
// each webhook (by Phonestart-Delivery) with HTTP 500.
type receiver struct {
	*httptest.Server
	fail int

	mu        sync.Mutex
	attempts  map[string]int
	delivered map[string]delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail, attempts: map[string]int{}, delivered: map[string]delivery{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(api.HeaderDelivery)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts[id]++
		if r.attempts[id] <= r.fail {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		if _, ok := r.delivered[id]; ok {
			t.Errorf("webhook %s delivered twice", id)
		}
		r.delivered[id] = delivery{header: req.Header.Clone(), body: body}
	}))
	t.Cleanup(r.Close)
	return r
}

// wait waits until n webhooks were delivered.
func (r *receiver) wait(t *testing.T, n int, d time.Duration) map[string]delivery {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		got := len(r.delivered)
		out := make(map[string]delivery, got)
		for k, v := range r.delivered {
			out[k] = v
		}
		attempts := make(map[string]int, len(r.attempts))
		for k, v := range r.attempts {
			attempts[k] = v
		}
		r.mu.Unlock()
		if got >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks delivered after %v, want %d; attempts %v", got, d, n, attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runWebhooks runs the harness's relay and deliveries until the test ends.
func (h *harness) runWebhooks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.RunWebhooks(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

var fastWebhooks = api.WebhookConfig{RetryDelay: func(int) time.Duration { return 10 * time.Millisecond },
	CheckInterval: 100 * time.Millisecond}

// TestWebhookRetried: a receiver that fails the first three deliveries of
// each webhook gets the fourth: the request's end (its Outcome, as GET
// /v1/requests/{request} says) and each phone's end, signed.
func TestWebhookRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{Webhook: fastWebhooks})
	rcv := newReceiver(t, 3)
	h.runWebhooks(t)
	ids := phones(1, 2)
	rep, _ := h.postStart(map[string]any{"ids": ids, "label": "hook-1", "notify_url": rcv.URL + "/hook?key=s3cret",
		"notify_each": true}, nil)
	x := h.do(req{method: http.MethodPost, path: "/v1/cancels", token: "canceller", body: map[string]any{"ids": ids}})
	if x.Status != 200 {
		t.Fatalf("cancel: %d %s", x.Status, x.Body)
	}
	got := rcv.wait(t, 3, 20*time.Second)
	outcome := h.getOutcome(rep.Request, "")
	want, _ := json.Marshal(outcome)
	rcv.mu.Lock()
	attempts := maps.Clone(rcv.attempts)
	rcv.mu.Unlock()
	for id, d := range got {
		if n := attempts[id]; n != 4 {
			t.Errorf("webhook %s delivered at attempt %d, want 4", id, n)
		}
		ts, sig := d.header.Get(api.HeaderTimestamp), d.header.Get(api.HeaderSignature)
		if err := api.Verify([]byte(secret), ts, sig, d.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("webhook %s: %v", id, err)
		}
		if err := api.Verify([]byte("another-secret-0123456789"), ts, sig, d.body, time.Now(), 5*time.Minute); err == nil {
			t.Errorf("webhook %s verifies with another secret", id)
		}
		switch ev := d.header.Get(api.HeaderEvent); ev {
		case api.EventRequestEnded:
			if id != "request:"+rep.Request || !bytes.Equal(d.body, want) {
				t.Errorf("request webhook %s: %s\nwant %s", id, d.body, want)
			}
			h.checkSchema("Outcome", string(d.body))
		case api.EventPhoneEnded:
			var p api.PhoneEnded
			_ = json.Unmarshal(d.body, &p)
			if p.Request != rep.Request || p.State != fleet.StateCancelled || p.Label != "hook-1" || id != "phone:"+rep.Request+":"+p.ID {
				t.Errorf("phone webhook %s: %s", id, d.body)
			}
			h.checkSchema("PhoneEnded", string(d.body))
		default:
			t.Errorf("webhook %s: event %q", id, ev)
		}
	}
	logs := h.logText()
	if strings.Contains(logs, "s3cret") {
		t.Errorf("a notify_url's query reached the log:\n%s", logs)
	}
	if !strings.Contains(logs, "webhook failed: it is tried again") {
		t.Errorf("failed attempts not logged:\n%s", logs)
	}
	for _, k := range []string{"{phonestart}:outbox", "{phonestart}:outbox:processing"} {
		if n := h.rdb.LLen(context.Background(), k).Val(); n != 0 {
			t.Errorf("%s holds %d entries after delivery", k, n)
		}
	}
}

// TestWebhookArchived: a webhook that never gets a 2xx is archived in asynq
// after its attempts, and logged.
func TestWebhookArchived(t *testing.T) {
	t.Parallel()
	cfg := fastWebhooks
	cfg.Attempts = 3
	h := newHarness(t, api.Config{Webhook: cfg})
	rcv := newReceiver(t, 1000)
	h.runWebhooks(t)
	rep, _ := h.postStart(map[string]any{"ids": phones(1, 1), "notify_url": rcv.URL}, nil)
	if _, err := h.enq.Cancel(context.Background(), enqueue.CancelRequest{IDs: phones(1, 1)}); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(h.rdb)
	deadline := time.Now().Add(20 * time.Second)
	for {
		archived, _ := insp.ListArchivedTasks(api.WebhookQueue(fleet.MustSpace("")))
		if len(archived) == 1 {
			if archived[0].ID != "request:"+rep.Request || archived[0].Retried != 2 {
				t.Errorf("archived %s after %d retries, want request:%s after 2", archived[0].ID, archived[0].Retried, rep.Request)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not archived; attempts %v", rcv.attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(h.logText(), "webhook archived") {
		t.Errorf("archive not logged:\n%s", h.logText())
	}
}

// TestWebhookRelayRecovers: an entry a relay took but never relayed (it
// died) is delivered by the next relay, once; an entry relayed again is not
// delivered twice.
func TestWebhookRelayRecovers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Config{Webhook: fastWebhooks})
	rcv := newReceiver(t, 0)
	ctx := context.Background()
	rep, err := h.enq.Start(ctx, enqueue.Request{IDs: phones(1, 1), NotifyURL: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.enq.Cancel(ctx, enqueue.CancelRequest{IDs: phones(1, 1)}); err != nil {
		t.Fatal(err)
	}
	// A relay that died between taking the entry and enqueueing it.
	if err := h.rdb.LMove(ctx, "{phonestart}:outbox", "{phonestart}:outbox:processing", "LEFT", "RIGHT").Err(); err != nil {
		t.Fatal(err)
	}
	h.runWebhooks(t)
	rcv.wait(t, 1, 10*time.Second)
	// The same entry once more, as a relay that died after enqueueing.
	h.rdb.RPush(ctx, "{phonestart}:outbox", "request "+rep.Request)
	deadline := time.Now().Add(3 * time.Second)
	for h.rdb.LLen(ctx, "{phonestart}:outbox").Val()+h.rdb.LLen(ctx, "{phonestart}:outbox:processing").Val() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the outbox entry was not relayed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if n := rcv.attempts["request:"+rep.Request]; n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
}
