package enqueue_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
	"github.com/redis/go-redis/v9"
)

// env is one test's Redis with a producer and an inspector of it.
type env struct {
	t    *testing.T
	rdb  *redis.Client
	enq  *enqueue.Client
	insp *asynq.Inspector
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
	return &env{t: t, rdb: rdb, enq: enq, insp: asynq.NewInspectorFromRedisClient(rdb)}
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

// queue returns the phonestart queue's counts; all zero when the queue was
// never written.
func (e *env) queue() asynq.QueueInfo {
	e.t.Helper()
	if !e.queueExists() {
		return asynq.QueueInfo{Queue: tasks.Queue}
	}
	qi, err := e.insp.GetQueueInfo(tasks.Queue)
	if err != nil {
		e.t.Fatal(err)
	}
	return *qi
}

// queueExists reports whether asynq knows the phonestart queue. (Unlike
// GetTaskInfo, GetQueueInfo does not wrap asynq.ErrQueueNotFound.)
func (e *env) queueExists() bool {
	e.t.Helper()
	qs, err := e.insp.Queues()
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.Contains(qs, tasks.Queue)
}

// task returns the task of a phone.
func (e *env) task(id string) *asynq.TaskInfo {
	e.t.Helper()
	ti, err := e.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id))
	if err != nil {
		e.t.Fatalf("task of phone %s: %v", id, err)
	}
	return ti
}

// assertUntouched fails unless Redis holds no asynq key at all: no queue,
// no task, not even the queue's name in asynq's list of queues.
func (e *env) assertUntouched() {
	e.t.Helper()
	if e.queueExists() {
		e.t.Errorf("asynq lists queue %s, want it unknown", tasks.Queue)
	}
	keys, err := e.rdb.Keys(context.Background(), "asynq:*").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	if len(keys) > 0 {
		e.t.Errorf("Redis holds %d asynq keys, want none: %v", len(keys), keys[:min(len(keys), 5)])
	}
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

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { rdb.Close() })
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { cluster.Close() })
	for _, tc := range []struct {
		name string
		cfg  enqueue.Config
		want string
	}{
		{"no redis", enqueue.Config{}, "Redis"},
		{"negative retention", enqueue.Config{Redis: rdb, Retention: -time.Second}, "Retention"},
		{"negative parallelism", enqueue.Config{Redis: rdb, Parallelism: -1}, "Parallelism"},
		{"negative min replicas", enqueue.Config{Redis: rdb, MinReplicas: -1}, "MinReplicas"},
		{"negative replica timeout", enqueue.Config{Redis: rdb, ReplicaTimeout: -time.Second}, "ReplicaTimeout"},
		{"min replicas on a cluster", enqueue.Config{Redis: cluster, MinReplicas: 1}, "MinReplicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := enqueue.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error naming %s", c, err, tc.want)
			}
		})
	}
}

func TestStartRefusesBadRequestAndWritesNothing(t *testing.T) {
	t.Parallel()
	// Every case shares one Redis: none may write to it.
	shared := newEnv(t, enqueue.Config{})
	long := strings.Repeat("x", geelark.MaxIDLength+1)
	for _, tc := range []struct {
		name  string
		req   enqueue.Request
		field string
	}{
		{"empty ID among good ones", enqueue.Request{IDs: []string{"p1", "", "p3"}}, "ids[1]"},
		{"space", enqueue.Request{IDs: []string{"p1", "p2", "p 3"}}, "ids[2]"},
		{"leading space", enqueue.Request{IDs: []string{" p1"}}, "ids[0]"},
		{"tab", enqueue.Request{IDs: []string{"p1", "p\t2"}}, "ids[1]"},
		{"non-ASCII", enqueue.Request{IDs: []string{"p1", "téléphone-1"}}, "ids[1]"},
		{"byte-order mark", enqueue.Request{IDs: []string{"\ufeff557712345678901234"}}, "ids[0]"},
		{"zero-width space", enqueue.Request{IDs: []string{"5577\u200b12345678901234"}}, "ids[0]"},
		{"full-width digits", enqueue.Request{IDs: []string{"５５７７"}}, "ids[0]"},
		{"newline", enqueue.Request{IDs: []string{"p1\n"}}, "ids[0]"},
		{"control char", enqueue.Request{IDs: []string{"p1", "p\x012"}}, "ids[1]"},
		{"invalid UTF-8", enqueue.Request{IDs: []string{"p\xff"}}, "ids[0]"},
		{"65 bytes", enqueue.Request{IDs: []string{"p1", long}}, "ids[1]"},
		{"first bad ID wins", enqueue.Request{IDs: []string{"p1", "", long}}, "ids[1]"},
		{"nil IDs", enqueue.Request{}, "ids"},
		{"empty IDs", enqueue.Request{IDs: []string{}}, "ids"},
		{"width 199", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Width: 199}}, "width"},
		{"width 601", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Width: 601}}, "width"},
		{"width -1", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Width: -1}}, "width"},
		{"center 2", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Center: intPtr(2)}}, "center"},
		{"center -1", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Center: intPtr(-1)}}, "center"},
		{"center 2 with good width", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Width: 400, Center: intPtr(2)}}, "center"},
		{"both At and In", enqueue.Request{IDs: []string{"p1"}, At: time.Now().Add(time.Hour), In: time.Hour}, "at"},
		{"negative In", enqueue.Request{IDs: []string{"p1"}, In: -time.Second}, "in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := *shared
			e.t = t
			err := tc.req.Validate()
			var ie *enqueue.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate = %v, want an *InputError", err)
			}
			if ie.Field != tc.field {
				t.Errorf("Validate: Field = %q, want %q (%v)", ie.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("Validate: %q does not name %s", err, tc.field)
			}

			rep, err := e.enq.Start(context.Background(), tc.req)
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Errorf("Start = %v, want an *InputError on %s", err, tc.field)
			}
			if rep.Enqueued != 0 || len(rep.Duplicates) != 0 {
				t.Errorf("Start refused but reported %+v", rep)
			}
			e.assertUntouched()
		})
	}
}

func TestValidateAcceptsEdges(t *testing.T) {
	t.Parallel()
	id64 := strings.Repeat("x", geelark.MaxIDLength)
	for _, tc := range []struct {
		name string
		req  enqueue.Request
	}{
		{"64-byte ID", enqueue.Request{IDs: []string{id64}}},
		{"width 200", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Width: 200}}},
		{"width 600", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Width: 600}}},
		{"center 0", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Center: intPtr(0)}}},
		{"center 1", enqueue.Request{IDs: []string{"p1"}, Options: geelark.StartOptions{Center: intPtr(1)}}},
		{"At alone", enqueue.Request{IDs: []string{"p1"}, At: time.Now().Add(time.Hour)}},
		{"In alone", enqueue.Request{IDs: []string{"p1"}, In: time.Hour}},
		{"same ID twice", enqueue.Request{IDs: []string{"p1", "p1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(); err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
		})
	}
}

func TestStartEnqueuesOneTaskPerPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	opts := geelark.StartOptions{HideSideBar: true, Width: 400, Center: intPtr(0), HideMirror: true}
	ids := []string{"p1", "p2", strings.Repeat("x", geelark.MaxIDLength)}

	rep := e.start(enqueue.Request{IDs: ids, Options: opts})

	if rep.Enqueued != len(ids) || len(rep.Duplicates) != 0 {
		t.Errorf("report = %+v, want %d enqueued and no duplicates", rep, len(ids))
	}
	if q := e.queue(); q.Pending != len(ids) || q.Size != len(ids) {
		t.Errorf("queue has %d pending of %d tasks, want %d", q.Pending, q.Size, len(ids))
	}
	for _, id := range ids {
		ti := e.task(id)
		if ti.ID != id || ti.Type != tasks.TypeStartPhone || ti.Queue != tasks.Queue {
			t.Errorf("phone %s: task %s of type %s on queue %s", id, ti.ID, ti.Type, ti.Queue)
		}
		if ti.State != asynq.TaskStatePending {
			t.Errorf("phone %s: state %v, want pending", id, ti.State)
		}
		if ti.Retention != enqueue.DefaultRetention {
			t.Errorf("phone %s: retention %v, want %v", id, ti.Retention, enqueue.DefaultRetention)
		}
		if ti.MaxRetry != tasks.MaxRetry || ti.Retried != 0 {
			t.Errorf("phone %s: retried %d of max %d, want 0 of %d", id, ti.Retried, ti.MaxRetry, tasks.MaxRetry)
		}
		if ti.Timeout != tasks.Timeout {
			t.Errorf("phone %s: timeout %v, want %v", id, ti.Timeout, tasks.Timeout)
		}
		p, err := tasks.ParseStartPhone(ti.Payload)
		if err != nil {
			t.Fatalf("phone %s: payload %s: %v", id, ti.Payload, err)
		}
		if p.ID != id || !reflect.DeepEqual(p.Options, opts) {
			t.Errorf("phone %s: payload decodes to %+v, want ID %s options %+v", id, p, id, opts)
		}
	}
}

func TestStartUsesConfiguredRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{Retention: 90 * time.Minute})
	e.start(enqueue.Request{IDs: []string{"p1"}})
	if got := e.task("p1").Retention; got != 90*time.Minute {
		t.Errorf("retention %v, want 1h30m", got)
	}
}

func TestStartSchedules(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(2 * time.Hour)
	for _, tc := range []struct {
		name string
		req  enqueue.Request
	}{
		{"At", enqueue.Request{At: at}},
		{"In", enqueue.Request{In: 30 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, enqueue.Config{})
			tc.req.IDs = []string{"p1", "p2"}
			// asynq stores the time to the second.
			earliest, latest := at.Add(-time.Second), at
			if tc.req.In > 0 {
				earliest = time.Now().Add(tc.req.In - time.Second)
			}
			rep := e.start(tc.req)
			if tc.req.In > 0 {
				latest = time.Now().Add(tc.req.In)
			}
			if rep.Enqueued != 2 {
				t.Errorf("report = %+v, want 2 enqueued", rep)
			}
			q := e.queue()
			if q.Scheduled != 2 || q.Pending != 0 {
				t.Errorf("queue has %d scheduled and %d pending, want 2 and 0", q.Scheduled, q.Pending)
			}
			for _, id := range tc.req.IDs {
				ti := e.task(id)
				if ti.State != asynq.TaskStateScheduled {
					t.Errorf("phone %s: state %v, want scheduled", id, ti.State)
				}
				if next := ti.NextProcessAt; next.Before(earliest) || next.After(latest) {
					t.Errorf("phone %s: runs at %v, want between %v and %v", id, next, earliest, latest)
				}
			}
			// A scheduled phone is not enqueued a second time.
			rep = e.start(enqueue.Request{IDs: []string{"p1"}})
			if rep.Enqueued != 0 || !slices.Equal(rep.Duplicates, []string{"p1"}) {
				t.Errorf("second start of a scheduled phone: report %+v, want p1 as duplicate", rep)
			}
		})
	}
}

func TestStartAtInThePastRunsNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	e.start(enqueue.Request{IDs: []string{"p1"}, At: time.Now().Add(-time.Hour)})
	if st := e.task("p1").State; st != asynq.TaskStatePending {
		t.Errorf("state %v, want pending", st)
	}
}

func TestStartManyPhones(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	ids := phoneIDs("bulk-", 2000)
	rep := e.start(enqueue.Request{IDs: ids})
	if rep.Enqueued != len(ids) || len(rep.Duplicates) != 0 {
		t.Errorf("report: %d enqueued, %d duplicates; want %d, 0", rep.Enqueued, len(rep.Duplicates), len(ids))
	}
	if q := e.queue(); q.Pending != len(ids) {
		t.Errorf("queue has %d pending, want %d", q.Pending, len(ids))
	}
}

func TestStartCancelledBeforehand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := e.enq.Start(ctx, enqueue.Request{IDs: phoneIDs("p", 100)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start = %v, want context.Canceled", err)
	}
	if rep.Enqueued != 0 || len(rep.Duplicates) != 0 {
		t.Errorf("report = %+v, want nothing enqueued and no duplicates", rep)
	}
	if q := e.queue(); q.Size != 0 {
		t.Errorf("queue holds %d tasks, want 0", q.Size)
	}
}

// cancelAfter cancels a context once n task writes (asynq's enqueue
// script, one per phone, alone or batched with others) have come back from
// Redis.
type cancelAfter struct {
	n      int64
	seen   atomic.Int64
	cancel context.CancelFunc
}

func (h *cancelAfter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *cancelAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.saw(cmd)
		}
		return err
	}
}
func (h *cancelAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.saw(cmd)
		return err
	}
}

func (h *cancelAfter) saw(cmd redis.Cmder) {
	if n := cmd.Name(); (n == "evalsha" || n == "eval") && cmd.Err() == nil {
		if h.seen.Add(1) == h.n {
			h.cancel()
		}
	}
}

func TestStartCancelledPartWayReportsWhatIsInRedis(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := &cancelAfter{n: 1200, cancel: cancel}
	producer := r.Client(t)
	producer.AddHook(hook)
	enq, err := enqueue.New(enqueue.Config{Redis: producer, Parallelism: 64})
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(r.Client(t))
	ids := phoneIDs("p", 5000)

	rep, err := enq.Start(ctx, enqueue.Request{IDs: ids})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start = %v, want context.Canceled", err)
	}
	qi, err := insp.GetQueueInfo(tasks.Queue)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued == 0 || rep.Enqueued == len(ids) {
		t.Errorf("report: %d enqueued, want some but not all of %d", rep.Enqueued, len(ids))
	}
	if qi.Size != rep.Enqueued {
		t.Errorf("report: %d enqueued, but Redis holds %d tasks", rep.Enqueued, qi.Size)
	}
	if len(rep.Duplicates) != 0 {
		t.Errorf("report lists %d duplicates, want none", len(rep.Duplicates))
	}

	// Enqueueing the same request again finishes the job: what made it in
	// the first time comes back as duplicates.
	rep2, err := enq.Start(context.Background(), enqueue.Request{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Enqueued+len(rep2.Duplicates) != len(ids) || len(rep2.Duplicates) != rep.Enqueued {
		t.Errorf("second start: %d enqueued and %d duplicates, want %d and %d",
			rep2.Enqueued, len(rep2.Duplicates), len(ids)-rep.Enqueued, rep.Enqueued)
	}
	if qi, err := insp.GetQueueInfo(tasks.Queue); err != nil || qi.Pending != len(ids) {
		t.Errorf("queue: %+v, %v; want %d pending", qi, err, len(ids))
	}
}

func TestStartSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	ids := phoneIDs("p", 200)
	reps := make(chan enqueue.Report, 4)
	for range cap(reps) {
		go func() {
			rep, err := e.enq.Start(context.Background(), enqueue.Request{IDs: ids})
			if err != nil {
				t.Error(err)
			}
			reps <- rep
		}()
	}
	enqueued := 0
	for range cap(reps) {
		rep := <-reps
		enqueued += rep.Enqueued
		if rep.Enqueued+len(rep.Duplicates) != len(ids) {
			t.Errorf("report: %d enqueued + %d duplicates, want %d in all", rep.Enqueued, len(rep.Duplicates), len(ids))
		}
	}
	if enqueued != len(ids) {
		t.Errorf("four concurrent starts enqueued %d phones in all, want each of %d once", enqueued, len(ids))
	}
	if q := e.queue(); q.Pending != len(ids) {
		t.Errorf("queue has %d pending, want %d", q.Pending, len(ids))
	}
}
