package enqueue_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

// env is one test's Redis with a producer, the phones' records, and an
// inspector of asynq's queues, all of the default namespace.
type env struct {
	t     *testing.T
	r     *redistest.Redis
	rdb   *redis.Client
	enq   *enqueue.Client
	store *fleet.Store
	insp  *asynq.Inspector
}

func newEnv(t *testing.T, cfg enqueue.Config) *env {
	t.Helper()
	r := redistest.New(t)
	rdb := r.Client(t)
	if cfg.Redis == nil {
		cfg.Redis = rdb
	}
	enq, err := enqueue.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, r: r, rdb: rdb, enq: enq, store: store, insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// start enqueues req and fails the test on error.
func (e *env) start(req enqueue.Request) enqueue.Report {
	e.t.Helper()
	rep, err := e.enq.Start(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Start(%v): %v", req.IDs, err)
	}
	return rep
}

// stop asks for req's stops and fails the test on error.
func (e *env) stop(req enqueue.StopRequest) enqueue.StopReport {
	e.t.Helper()
	rep, err := e.enq.Stop(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Stop(%v): %v", req.IDs, err)
	}
	return rep
}

// queue returns the counts of asynq queue name; all zero when it was never
// written.
func (e *env) queue(name string) asynq.QueueInfo {
	e.t.Helper()
	qs, err := e.insp.Queues()
	if err != nil {
		e.t.Fatal(err)
	}
	if !slices.Contains(qs, name) {
		return asynq.QueueInfo{Queue: name}
	}
	qi, err := e.insp.GetQueueInfo(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return *qi
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

// task returns the task of phone id's current intent, as its record names
// it.
func (e *env) task(id string) *asynq.TaskInfo {
	e.t.Helper()
	p := e.phone(id)
	queue := tasks.Queue
	if p.Action == fleet.ActionStop {
		queue = tasks.StopQueue
	}
	ti, err := e.insp.GetTaskInfo(queue, tasks.TaskID(id, p.Gen, p.Task))
	if err != nil {
		e.t.Fatalf("task of phone %s (%s, generation %d, task %d): %v", id, p.State, p.Gen, p.Task, err)
	}
	return ti
}

// outcome returns request's outcome now.
func (e *env) outcome(request string) enqueue.Outcome {
	e.t.Helper()
	o, err := e.enq.Outcome(context.Background(), request)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// A worker's steps, through the same record transitions a worker makes.

// claim takes ids' current tasks into one call of action and returns its
// token; every phone must be claimed.
func (e *env) claim(action string, ids ...string) string {
	e.t.Helper()
	ctx := context.Background()
	token := fleet.NewToken(action)
	for lo := 0; lo < len(ids); lo += 500 {
		ps, err := e.store.Phones(ctx, ids[lo:min(lo+500, len(ids))]...)
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

// settle writes the word s of the call of token on each of ids, and
// returns what it did.
func (e *env) settle(action, token string, s fleet.Settle, ids ...string) []fleet.Settled {
	e.t.Helper()
	ctx := context.Background()
	var out []fleet.Settled
	for lo := 0; lo < len(ids); lo += 500 {
		ps, err := e.store.Phones(ctx, ids[lo:min(lo+500, len(ids))]...)
		if err != nil {
			e.t.Fatal(err)
		}
		ss := make([]fleet.Settle, len(ps))
		for i, p := range ps {
			ss[i] = s
			ss[i].ID, ss[i].Gen = p.ID, p.Gen
			if s.URL != "" {
				ss[i].URL = s.URL + p.ID
			}
		}
		got, err := e.store.SettleCall(ctx, action, token, 0, ss)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

// readyURL prefixes the URL of a phone a worker settles ready.
const readyURL = "https://fake.geelark.test/phone/"

// ready starts ids: GeeLark accepts the call, and the phones are usable.
func (e *env) ready(ids ...string) {
	e.t.Helper()
	token := e.claim(fleet.ActionStart, ids...)
	e.settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToReady, URL: readyURL}, ids...)
}

// boot starts ids: GeeLark accepts the call, and the phones boot.
func (e *env) boot(ids ...string) {
	e.t.Helper()
	token := e.claim(fleet.ActionStart, ids...)
	now := e.store.Now()
	e.settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, URL: readyURL, Due: now.Add(time.Minute),
		Deadline: now.Add(5 * time.Minute)}, ids...)
}

// retry takes ids through a start call that fails with code: they wait for
// their next attempt.
func (e *env) retry(code int, ids ...string) {
	e.t.Helper()
	token := e.claim(fleet.ActionStart, ids...)
	e.settle(fleet.ActionStart, token, fleet.Settle{To: fleet.ToRetry, Code: code, Reason: fleet.ReasonGeeLark,
		Due: e.store.Now().Add(time.Hour)}, ids...)
}

// kill takes ids' current intent of action through a call GeeLark answers
// with code: they are dead.
func (e *env) kill(action string, code int, msg string, ids ...string) {
	e.t.Helper()
	token := e.claim(action, ids...)
	e.settle(action, token, fleet.Settle{To: fleet.ToDead, Code: code, Reason: fleet.ReasonGeeLark, Msg: msg}, ids...)
}

// stopped takes ids' waiting stops through a call GeeLark accepts.
func (e *env) stopped(ids ...string) {
	e.t.Helper()
	token := e.claim(fleet.ActionStop, ids...)
	e.settle(fleet.ActionStop, token, fleet.Settle{To: fleet.ToStopped}, ids...)
}

func phoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return ids
}

func intPtr(n int) *int { return &n }

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func readyIDs(o enqueue.Outcome) []string {
	out := make([]string, len(o.Ready))
	for i, p := range o.Ready {
		out[i] = p.ID
	}
	return out
}

func deadIDs(o enqueue.Outcome) []string {
	out := make([]string, len(o.Dead))
	for i, p := range o.Dead {
		out[i] = p.ID
	}
	return out
}
