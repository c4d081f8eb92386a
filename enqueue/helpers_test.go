package enqueue_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/fleet/fleettest"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

// env is one test's Redis with a producer, the phones' records, and an
// inspector of asynq's queues, all of the default namespace.
type env struct {
	fleettest.Steps
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
	return &env{Steps: fleettest.Steps{T: t, Store: store}, t: t, r: r, rdb: rdb, enq: enq, store: store, insp: asynq.NewInspectorFromRedisClient(rdb)}
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
