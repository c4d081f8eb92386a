package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/worker"
)

// env is one scenario: a Redis, the fake API, a client of it, a producer.
type env struct {
	t     testing.TB
	r     *redistest.Redis
	rdb   *redis.Client
	fake  *geelarktest.Server
	api   *geelark.Client
	enq   *enqueue.Client
	insp  *asynq.Inspector
	store *fleet.Store
}

func newEnv(t testing.TB, fcfg geelarktest.Config) *env {
	t.Helper()
	r := redistest.New(t)
	rdb := r.Client(t)
	fake := geelarktest.NewServer(fcfg)
	t.Cleanup(fake.Close)
	api, err := geelark.NewClient(geelark.Config{BaseURL: fake.URL, AppID: "test-app", APIKey: "test-key", Now: fcfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	enq, err := enqueue.New(enqueue.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, r: r, rdb: rdb, fake: fake, api: api, enq: enq, insp: asynq.NewInspectorFromRedisClient(rdb), store: store}
}

// fastConfig retries within about a second, so tests need not wait.
func (e *env) fastConfig() worker.Config {
	return worker.Config{
		Redis:        e.rdb,
		API:          e.api,
		Status:       e.api,
		BootTimeout:  -1, // boot tests turn it on
		Logger:       zaptest.NewLogger(e.t).Named("worker"),
		BatchWait:    200 * time.Millisecond,
		RetryBase:    time.Millisecond,
		RetryMax:     10 * time.Millisecond,
		PollInterval: 100 * time.Millisecond,
	}
}

// startWorker runs a worker until the test ends.
func (e *env) startWorker(cfg worker.Config) *worker.Worker {
	e.t.Helper()
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

func (e *env) enqueue(req enqueue.Request) enqueue.Report {
	e.t.Helper()
	rep, err := e.enq.Start(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// states returns each phone's state, from its record ("ready", "dead",
// ...).
func (e *env) states(ids []string) map[string]string {
	e.t.Helper()
	ps, err := e.store.Phones(context.Background(), ids...)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(map[string]string, len(ids))
	for _, p := range ps {
		out[p.ID] = p.State
	}
	return out
}

// phone returns phone id's record.
func (e *env) phone(id string) fleet.Phone {
	e.t.Helper()
	p, err := e.store.Phone(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitSettled waits until every phone has ended (ready, dead, cancelled
// or stopped), and returns their states.
func (e *env) waitSettled(ids []string, timeout time.Duration) map[string]string {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := e.states(ids)
		done := true
		for _, s := range st {
			if !fleet.Ended(s) {
				done = false
				break
			}
		}
		if done {
			return st
		}
		if time.Now().After(deadline) {
			counts := map[string]int{}
			for _, s := range st {
				counts[s]++
			}
			e.t.Fatalf("phones not settled after %v: %v", timeout, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func phoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return ids
}
