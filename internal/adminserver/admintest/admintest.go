// Package admintest is the admin server's test harness: a Redis, the fake
// GeeLark API, a producer and an admin server, shared by the admin
// server's tests and the browser test in module e2e.
package admintest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/adminserver"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/worker"
)

// Env is a Redis, the fake API, a producer, and an admin server whose
// registry a worker can register its metrics on.
type Env struct {
	T     *testing.T
	R     *redistest.Redis
	RDB   *redis.Client
	Fake  *geelarktest.Server
	Enq   *enqueue.Client
	Insp  *asynq.Inspector
	Reg   *prometheus.Registry
	Admin *adminserver.Server
	URL   string // of the admin server
}

// New starts an Env that ends with the test.
func New(t *testing.T) *Env {
	t.Helper()
	r := redistest.New(t)
	rdb := r.Client(t)
	fake := geelarktest.NewServer(geelarktest.Config{})
	t.Cleanup(fake.Close)
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	reg := adminserver.NewRegistry(rdb)
	admin, err := adminserver.New(adminserver.Config{
		Addr: "127.0.0.1:0", Redis: rdb, Gatherer: reg, Logger: zaptest.NewLogger(t).Named("admin"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := admin.Shutdown(ctx); err != nil {
			t.Errorf("admin shutdown: %v", err)
		}
	})
	return &Env{T: t, R: r, RDB: rdb, Fake: fake, Enq: enq, Insp: asynq.NewInspectorFromRedisClient(rdb),
		Reg: reg, Admin: admin, URL: "http://" + admin.Addr()}
}

// StartWorker runs a worker with short retry delays, its metrics on the
// admin server's registry, until the test ends.
func (e *Env) StartWorker(edit func(*worker.Config)) *worker.Worker {
	e.T.Helper()
	api, err := geelark.NewClient(geelark.Config{BaseURL: e.Fake.URL, AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey})
	if err != nil {
		e.T.Fatal(err)
	}
	cfg := worker.Config{
		Redis: e.RDB, API: api, Logger: zaptest.NewLogger(e.T).Named("worker"), Registerer: e.Reg,
		BatchWait: 200 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond,
		PollInterval: 100 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	w, err := worker.New(cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	if err := w.Start(); err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	return w
}

// Enqueue starts ids as one request and returns it.
func (e *Env) Enqueue(ids []string) string {
	e.T.Helper()
	rep, err := e.Enq.Start(context.Background(), enqueue.Request{IDs: ids})
	if err != nil || rep.Enqueued != len(ids) {
		e.T.Fatalf("enqueue: %+v, %v", rep, err)
	}
	return rep.Request
}

// WaitEnded waits until every phone of request has ended, and returns its
// outcome.
func (e *Env) WaitEnded(request string, timeout time.Duration) enqueue.Outcome {
	e.T.Helper()
	out, err := e.Enq.Wait(context.Background(), request, enqueue.WaitOptions{Timeout: timeout})
	if err != nil {
		e.T.Fatal(err)
	}
	if !out.Ended {
		e.T.Fatalf("request not ended after %v: %d ready, %d dead, %d unfinished", timeout,
			len(out.Ready), len(out.Dead), len(out.Unfinished))
	}
	return out
}

// Get fetches path from the admin server.
func (e *Env) Get(path string) (int, string) {
	e.T.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.URL + path)
	if err != nil {
		e.T.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// PhoneIDs returns n phone IDs: prefix and a number of 6 digits.
func PhoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return ids
}
