package queueadmin_test

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/fleet/fleettest"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/internal/redistest"
)

// namespace is the tests' deployment: not the default, so that a key
// written outside it would be missed.
const namespace = "fleet-q"

// env is a Redis, a producer and the records of one deployment, and an
// Admin of it.
type env struct {
	fleettest.Steps
	t     *testing.T
	rdb   *redis.Client
	enq   *enqueue.Client
	store *fleet.Store
	adm   *queueadmin.Admin
	insp  *asynq.Inspector
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{Space: fleet.MustSpace(namespace)})
	if err != nil {
		t.Fatal(err)
	}
	return &env{Steps: fleettest.Steps{T: t, Store: store}, t: t, rdb: rdb, enq: enq, store: store, adm: queueadmin.New(enq, store),
		insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// place gives ids the intent in (no task is written: a worker's claim
// does not need one).
func (e *env) place(in fleet.Intent, ids ...string) {
	e.t.Helper()
	if _, err := e.store.Place(context.Background(), in, ids); err != nil {
		e.t.Fatal(err)
	}
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

// counts returns the Admin's counts.
func (e *env) counts() queueadmin.Counts {
	e.t.Helper()
	c, err := e.adm.Counts(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// events returns the steps recorded after the stream entry after, as
// "phone event action".
func (e *env) events(after string) []string {
	e.t.Helper()
	evs, err := e.store.Events().Read(context.Background(), after, 10_000, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Phone + " " + ev.Event + " " + ev.Action
	}
	return out
}
