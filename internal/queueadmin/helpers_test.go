package queueadmin_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/internal/redistest"
)

// namespace is the tests' deployment: not the default, so that a key
// written outside it would be missed.
const namespace = "fleet-q"

// env is a Redis, a producer and the records of one deployment, and an
// Admin of it.
type env struct {
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
	return &env{t: t, rdb: rdb, enq: enq, store: store, adm: queueadmin.New(enq, store),
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

// claim takes ids' current tasks into a call of action, 500 phones a
// script, as a worker does, and returns the call's token.
func (e *env) claim(action string, ids ...string) string {
	e.t.Helper()
	ctx := context.Background()
	token := fleet.NewToken(action)
	for lo := 0; lo < len(ids); lo += 500 {
		chunk := ids[lo:min(lo+500, len(ids))]
		ps, err := e.store.Phones(ctx, chunk...)
		if err != nil {
			e.t.Fatal(err)
		}
		cs := make([]fleet.Claim, len(ps))
		for i, p := range ps {
			cs[i] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
		}
		got, err := e.store.ClaimCall(ctx, action, token, cs)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range got {
			if c.Verdict != fleet.ClaimGo {
				e.t.Fatalf("claim of %s for a %s: %s", c.ID, action, c.Verdict)
			}
		}
	}
	return token
}

// settle writes the call's word s on each of ids, 500 phones a script.
func (e *env) settle(action, token string, s fleet.Settle, ids ...string) {
	e.t.Helper()
	ctx := context.Background()
	for lo := 0; lo < len(ids); lo += 500 {
		chunk := ids[lo:min(lo+500, len(ids))]
		ps, err := e.store.Phones(ctx, chunk...)
		if err != nil {
			e.t.Fatal(err)
		}
		ss := make([]fleet.Settle, len(ps))
		for i, p := range ps {
			ss[i] = s
			ss[i].ID, ss[i].Gen = p.ID, p.Gen
		}
		got, err := e.store.SettleCall(ctx, action, token, 0, ss)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range got {
			if r.Outcome != fleet.SettledOK {
				e.t.Fatalf("settle of %s: %s", r.ID, r.Outcome)
			}
		}
	}
}

// kill takes ids' current intent of action through a call that GeeLark
// answers with code: they are dead, each with a ledger entry.
func (e *env) kill(action string, code int, msg string, ids ...string) {
	e.t.Helper()
	token := e.claim(action, ids...)
	e.settle(action, token, fleet.Settle{To: fleet.ToDead, Code: code, Reason: fleet.ReasonGeeLark, Msg: msg}, ids...)
}

// boot takes ids' waiting starts through a call GeeLark accepted: they
// boot.
func (e *env) boot(ids ...string) {
	e.t.Helper()
	token := e.claim(fleet.ActionStart, ids...)
	now := e.store.Now()
	e.settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, Due: now.Add(time.Minute), Deadline: now.Add(5 * time.Minute)}, ids...)
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
