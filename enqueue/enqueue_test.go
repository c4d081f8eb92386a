package enqueue_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/tasks"
)

// assertUntouched fails unless Redis holds no key of asynq's or of the
// deployment's: no queue, no task, no record, no request.
func (e *env) assertUntouched() {
	e.t.Helper()
	for _, pattern := range []string{"asynq:*", e.store.Space().Prefix() + "*"} {
		keys, err := e.rdb.Keys(context.Background(), pattern).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		if len(keys) > 0 {
			e.t.Errorf("Redis holds %d keys %s, want none: %v", len(keys), pattern, keys[:min(len(keys), 5)])
		}
	}
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
		{"cluster", enqueue.Config{Redis: cluster}, "Redis Cluster"},
		{"bad namespace", enqueue.Config{Redis: rdb, Namespace: "a b"}, "Namespace"},
		{"negative retention", enqueue.Config{Redis: rdb, Retention: -time.Second}, "Retention"},
		{"negative parallelism", enqueue.Config{Redis: rdb, Parallelism: -1}, "Parallelism"},
		{"negative min replicas", enqueue.Config{Redis: rdb, MinReplicas: -1}, "MinReplicas"},
		{"negative replica timeout", enqueue.Config{Redis: rdb, ReplicaTimeout: -time.Second}, "ReplicaTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := enqueue.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error naming %s", c, err, tc.want)
			}
		})
	}
	if _, err := enqueue.New(enqueue.Config{Redis: cluster}); !errors.Is(err, redisconn.ErrCluster) {
		t.Errorf("New on a cluster client = %v, want redisconn.ErrCluster", err)
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
		{"empty ID among good ones", enqueue.Request{IDs: []string{"p1", "", "p3"}}, "ids[2]"},
		{"space", enqueue.Request{IDs: []string{"p1", "p2", "p 3"}}, "ids[3]"},
		{"leading space", enqueue.Request{IDs: []string{" p1"}}, "ids[1]"},
		{"tab", enqueue.Request{IDs: []string{"p1", "p\t2"}}, "ids[2]"},
		{"non-ASCII", enqueue.Request{IDs: []string{"p1", "téléphone-1"}}, "ids[2]"},
		{"byte-order mark", enqueue.Request{IDs: []string{"\ufeff557712345678901234"}}, "ids[1]"},
		{"zero-width space", enqueue.Request{IDs: []string{"5577\u200b12345678901234"}}, "ids[1]"},
		{"full-width digits", enqueue.Request{IDs: []string{"５５７７"}}, "ids[1]"},
		{"newline", enqueue.Request{IDs: []string{"p1\n"}}, "ids[1]"},
		{"control char", enqueue.Request{IDs: []string{"p1", "p\x012"}}, "ids[2]"},
		{"invalid UTF-8", enqueue.Request{IDs: []string{"p\xff"}}, "ids[1]"},
		{"65 bytes", enqueue.Request{IDs: []string{"p1", long}}, "ids[2]"},
		{"first bad ID wins", enqueue.Request{IDs: []string{"p1", "", long}}, "ids[2]"},
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
		{"negative StopAfter", enqueue.Request{IDs: []string{"p1"}, StopAfter: -time.Second}, "stop_after"},
		{"label with a space", enqueue.Request{IDs: []string{"p1"}, Label: "night shift"}, "label"},
		{"label of 65 bytes", enqueue.Request{IDs: []string{"p1"}, Label: strings.Repeat("l", 65)}, "label"},
		{"notify over ftp", enqueue.Request{IDs: []string{"p1"}, NotifyURL: "ftp://hooks.example/x"}, "notify_url"},
		{"notify with a password", enqueue.Request{IDs: []string{"p1"}, NotifyURL: "https://u:pw@hooks.example/x"}, "notify_url"},
		{"notify without a host", enqueue.Request{IDs: []string{"p1"}, NotifyURL: "https:///x"}, "notify_url"},
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
			if rep.Enqueued != 0 || len(rep.Duplicates) != 0 || rep.Request != "" {
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
		{"64-byte label", enqueue.Request{IDs: []string{"p1"}, Label: strings.Repeat("l", 64)}},
		{"label of every kind of character", enqueue.Request{IDs: []string{"p1"}, Label: "Shop-EU_2026.11:morning"}},
		{"notify over http", enqueue.Request{IDs: []string{"p1"}, NotifyURL: "http://10.0.0.5:8080/hook?x=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(); err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
		})
	}
}

// Each phone of a request gets a record, queued with the request's
// options, and one task named by the record's generation: ID:gen:1. Tasks
// keep no retention and no result: the record holds the phone's outcome.
func TestStartWritesOneRecordAndOneTaskPerPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	opts := geelark.StartOptions{HideSideBar: true, Width: 400, Center: intPtr(0), HideMirror: true}
	ids := []string{"p1", "p2", strings.Repeat("x", geelark.MaxIDLength)}

	rep := e.start(enqueue.Request{IDs: ids, Options: opts, Label: "morning"})

	if rep.Enqueued != len(ids) || len(rep.Duplicates) != 0 || rep.CancelledStops != 0 {
		t.Errorf("report = %+v, want %d enqueued and no duplicates", rep, len(ids))
	}
	if !fleet.ValidRequestID(rep.Request) {
		t.Errorf("report names request %q, want a request ID", rep.Request)
	}
	if q := e.queue(tasks.Queue); q.Pending != len(ids) || q.Size != len(ids) {
		t.Errorf("queue has %d pending of %d tasks, want %d", q.Pending, q.Size, len(ids))
	}
	gens := map[int64]bool{}
	for _, id := range ids {
		p := e.phone(id)
		if p.State != fleet.StateQueued || p.Action != fleet.ActionStart || p.Task != 1 || !reflect.DeepEqual(p.Options, opts) {
			t.Errorf("phone %s: record %+v, want a queued start of task 1 with options %+v", id, p, opts)
		}
		gens[p.Gen] = true
		ti := e.task(id)
		if ti.ID != tasks.TaskID(id, p.Gen, 1) || ti.Type != tasks.TypeStartPhone || ti.Queue != tasks.Queue {
			t.Errorf("phone %s: task %s of type %s on queue %s", id, ti.ID, ti.Type, ti.Queue)
		}
		if ti.State != asynq.TaskStatePending {
			t.Errorf("phone %s: state %v, want pending", id, ti.State)
		}
		if ti.Retention != 0 || len(ti.Result) != 0 {
			t.Errorf("phone %s: task kept %v with result %q, want neither", id, ti.Retention, ti.Result)
		}
		if ti.MaxRetry != tasks.MaxRetry || ti.Retried != 0 {
			t.Errorf("phone %s: retried %d of max %d, want 0 of %d", id, ti.Retried, ti.MaxRetry, tasks.MaxRetry)
		}
		if ti.Timeout != tasks.Timeout {
			t.Errorf("phone %s: timeout %v, want %v", id, ti.Timeout, tasks.Timeout)
		}
		pl, err := tasks.ParseStartPhone(ti.Payload)
		if err != nil {
			t.Fatalf("phone %s: payload %s: %v", id, ti.Payload, err)
		}
		if pl.ID != id || pl.Gen != p.Gen || pl.Task != 1 || !reflect.DeepEqual(pl.Options, opts) {
			t.Errorf("phone %s: payload decodes to %+v, want generation %d, task 1, options %+v", id, pl, p.Gen, opts)
		}
	}
	if len(gens) != len(ids) {
		t.Errorf("%d phones share %d generations, want one each", len(ids), len(gens))
	}
	out := e.outcome(rep.Request)
	if out.Request != rep.Request || out.Label != "morning" || out.Ended || len(out.Unfinished) != len(ids) {
		t.Errorf("outcome %+v, want the labelled request open, every phone unfinished", out)
	}
}

// Config.Retention is how long a phone's record and a request that the
// client ended (here by a cancel) are kept: after it, both are gone.
func TestConfiguredRetentionKeepsWhatTheClientEnded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{Retention: 90 * time.Minute})
	if e.r.Mini == nil {
		t.Skip("needs the embedded Redis, whose clock the test moves (REDIS_URL is set)")
	}
	rep := e.start(enqueue.Request{IDs: []string{"p1"}})
	if _, err := e.enq.Cancel(context.Background(), enqueue.CancelRequest{IDs: []string{"p1"}}); err != nil {
		t.Fatal(err)
	}
	e.r.Mini.FastForward(89 * time.Minute)
	if out := e.outcome(rep.Request); !out.Ended || len(out.Cancelled) != 1 {
		t.Fatalf("outcome 89 minutes after the end: %+v, want p1 cancelled", out)
	}
	if p := e.phone("p1"); p.State != fleet.StateCancelled {
		t.Fatalf("record 89 minutes after the end: %+v, want cancelled", p)
	}
	e.r.Mini.FastForward(2 * time.Minute)
	if _, err := e.enq.Outcome(context.Background(), rep.Request); !errors.Is(err, enqueue.ErrNoRequest) {
		t.Fatalf("outcome 91 minutes after the end: %v, want ErrNoRequest", err)
	}
	if p := e.phone("p1"); p.Known() {
		t.Fatalf("record 91 minutes after the end: %+v, want none", p)
	}
}

// At and In schedule a request: each record is "scheduled" with the time
// it is due, and each task is scheduled for it (to asynq's second).
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
			earliest, latest := at, at
			if tc.req.In > 0 {
				earliest = time.Now().Add(tc.req.In)
			}
			rep := e.start(tc.req)
			if tc.req.In > 0 {
				latest = time.Now().Add(tc.req.In)
			}
			if rep.Enqueued != 2 {
				t.Errorf("report = %+v, want 2 enqueued", rep)
			}
			q := e.queue(tasks.Queue)
			if q.Scheduled != 2 || q.Pending != 0 {
				t.Errorf("queue has %d scheduled and %d pending, want 2 and 0", q.Scheduled, q.Pending)
			}
			for _, id := range tc.req.IDs {
				p := e.phone(id)
				if p.State != fleet.StateScheduled || p.Due.Before(earliest.Truncate(time.Millisecond)) || p.Due.After(latest) {
					t.Errorf("phone %s: record %s due %v, want scheduled between %v and %v", id, p.State, p.Due, earliest, latest)
				}
				ti := e.task(id)
				if ti.State != asynq.TaskStateScheduled {
					t.Errorf("phone %s: task %v, want scheduled", id, ti.State)
				}
				if next := ti.NextProcessAt; next.Before(earliest.Add(-time.Second)) || next.After(latest) {
					t.Errorf("phone %s: task runs at %v, want between %v and %v", id, next, earliest.Add(-time.Second), latest)
				}
			}
			if c, err := e.store.Counts(context.Background()); err != nil || c.ByState[fleet.StateScheduled] != 2 {
				t.Errorf("counts %+v, %v; want 2 scheduled", c, err)
			}
			// A scheduled phone is not enqueued a second time.
			rep = e.start(enqueue.Request{IDs: []string{"p1"}})
			if rep.Enqueued != 0 || !reflect.DeepEqual(rep.Duplicates, []string{"p1"}) {
				t.Errorf("second start of a scheduled phone: report %+v, want p1 as duplicate", rep)
			}
		})
	}
}

func TestStartAtInThePastRunsNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enqueue.Config{})
	e.start(enqueue.Request{IDs: []string{"p1"}, At: time.Now().Add(-time.Hour)})
	if p := e.phone("p1"); p.State != fleet.StateQueued || !p.Due.IsZero() {
		t.Errorf("record %s due %v, want queued now", p.State, p.Due)
	}
	if st := e.task("p1").State; st != asynq.TaskStatePending {
		t.Errorf("task %v, want pending", st)
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
	if q := e.queue(tasks.Queue); q.Pending != len(ids) {
		t.Errorf("queue has %d pending, want %d", q.Pending, len(ids))
	}
	if c, err := e.store.Counts(context.Background()); err != nil || c.ByState[fleet.StateQueued] != len(ids) {
		t.Errorf("counts %+v, %v; want %d queued", c.ByState, err, len(ids))
	}
	if out := e.outcome(rep.Request); len(out.Unfinished) != len(ids) || out.Unfinished[1234] != ids[1234] {
		t.Errorf("outcome lists %d unfinished, want the %d in the order given", len(out.Unfinished), len(ids))
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
	e.assertUntouched()
}

// cancelAfter cancels a context once n scripts (a chunk's records, or one
// phone's task, alone or batched with others) have come back from Redis.
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

// A Start cut short reports the phones whose records it wrote; those whose
// task it did not write get one from the workers' reconciler, and a second
// Start of the same phones takes the rest, the first ones duplicates.
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
	rdb := r.Client(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	ids := phoneIDs("p", 5000)

	rep, err := enq.Start(ctx, enqueue.Request{IDs: ids})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start = %v, want context.Canceled", err)
	}
	if rep.Enqueued == 0 || rep.Enqueued == len(ids) {
		t.Fatalf("report: %d enqueued, want some but not all of %d", rep.Enqueued, len(ids))
	}
	if len(rep.Duplicates) != 0 {
		t.Errorf("report lists %d duplicates, want none", len(rep.Duplicates))
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Counts(context.Background())
	if err != nil || c.ByState[fleet.StateQueued] != rep.Enqueued {
		t.Fatalf("report: %d enqueued, but Redis holds %d queued records (%v)", rep.Enqueued, c.ByState[fleet.StateQueued], err)
	}
	qi, err := insp.GetQueueInfo(tasks.Queue)
	if err != nil || qi.Size > rep.Enqueued {
		t.Fatalf("queue %+v, %v: more tasks than the %d phones enqueued", qi, err, rep.Enqueued)
	}
	t.Logf("cut short: %d records, %d tasks", rep.Enqueued, qi.Size)

	// Enqueueing the same request again finishes the job: what made it in
	// the first time comes back as duplicates.
	rep2, err := enq.Start(context.Background(), enqueue.Request{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Enqueued != len(ids)-rep.Enqueued || len(rep2.Duplicates) != rep.Enqueued {
		t.Errorf("second start: %d enqueued and %d duplicates, want %d and %d",
			rep2.Enqueued, len(rep2.Duplicates), len(ids)-rep.Enqueued, rep.Enqueued)
	}
	// A minute later, a worker's reconciler writes the tasks the first
	// Start did not: every phone has its one task.
	later, err := fleet.NewStore(rdb, fleet.StoreConfig{Now: func() time.Time { return time.Now().Add(fleet.DefaultGrace + time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := later.Reconcile(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if st.Looked == 0 {
			break
		}
	}
	// (The reconciler's clock runs ahead: the tasks it wrote are due in a
	// moment.)
	if qi, err := insp.GetQueueInfo(tasks.Queue); err != nil || qi.Size != len(ids) {
		t.Errorf("queue after the reconciler: %+v, %v; want %d tasks", qi, err, len(ids))
	}
	ps, err := store.Phones(context.Background(), ids...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if _, err := insp.GetTaskInfo(tasks.Queue, tasks.TaskID(p.ID, p.Gen, p.Task)); err != nil {
			t.Fatalf("phone %s (task %d): %v", p.ID, p.Task, err)
		}
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
	if q := e.queue(tasks.Queue); q.Pending != len(ids) {
		t.Errorf("queue has %d pending, want %d", q.Pending, len(ids))
	}
}

// A Redis Cluster client is refused, with an error saying what to use.
func TestNewRefusesARedisCluster(t *testing.T) {
	t.Parallel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cc.Close()
	_, err := enqueue.New(enqueue.Config{Redis: cc})
	if err == nil || !strings.Contains(err.Error(), "Cluster") || !strings.Contains(err.Error(), "Sentinel") {
		t.Fatalf("enqueue.New with a cluster client: %v, want an error refusing it and naming Sentinel", err)
	}
}
