package adminserver_test

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

// env is a Redis, the fake API, a producer, and an admin server whose
// registry a worker can register its metrics on.
type env struct {
	t     *testing.T
	r     *redistest.Redis
	rdb   *redis.Client
	fake  *geelarktest.Server
	enq   *enqueue.Client
	insp  *asynq.Inspector
	reg   *prometheus.Registry
	admin *adminserver.Server
	url   string // of the admin server
}

func newEnv(t *testing.T) *env {
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
	return &env{t: t, r: r, rdb: rdb, fake: fake, enq: enq, insp: asynq.NewInspectorFromRedisClient(rdb),
		reg: reg, admin: admin, url: "http://" + admin.Addr()}
}

// startWorker runs a worker with short retry delays, its metrics on the
// admin server's registry, until the test ends.
func (e *env) startWorker(edit func(*worker.Config)) *worker.Worker {
	e.t.Helper()
	api, err := geelark.NewClient(geelark.Config{BaseURL: e.fake.URL, AppID: geelarktest.DefaultAppID, APIKey: geelarktest.DefaultAPIKey})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := worker.Config{
		Redis: e.rdb, API: api, Logger: zaptest.NewLogger(e.t).Named("worker"), Registerer: e.reg,
		BatchWait: 200 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond,
		PollInterval: 100 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	w, err := worker.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	return w
}

// enqueue starts ids as one request and returns it.
func (e *env) enqueue(ids []string) string {
	e.t.Helper()
	rep, err := e.enq.Start(context.Background(), enqueue.Request{IDs: ids})
	if err != nil || rep.Enqueued != len(ids) {
		e.t.Fatalf("enqueue: %+v, %v", rep, err)
	}
	return rep.Request
}

// waitEnded waits until every phone of request has ended, and returns its
// outcome.
func (e *env) waitEnded(request string, timeout time.Duration) enqueue.Outcome {
	e.t.Helper()
	out, err := e.enq.Wait(context.Background(), request, enqueue.WaitOptions{Timeout: timeout})
	if err != nil {
		e.t.Fatal(err)
	}
	if !out.Ended {
		e.t.Fatalf("request not ended after %v: %d ready, %d dead, %d unfinished", timeout,
			len(out.Ready), len(out.Dead), len(out.Unfinished))
	}
	return out
}

// get fetches path from the admin server.
func (e *env) get(path string) (int, string) {
	e.t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.url + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

func phoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return ids
}
