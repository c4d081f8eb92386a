package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redisconn"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/schedule"
	"github.com/phonestart/phonestart/tasks"
	"github.com/phonestart/phonestart/worker"
)

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

func parse(t *testing.T, yaml string) *schedule.File {
	t.Helper()
	f, err := schedule.Parse("s.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTwoSchedulersFireOneTickOnce(t *testing.T) {
	r := redistest.New(t)
	phones := ids("tick", 300)
	yaml := "schedules:\n  - name: morning\n    cron: \"30 7 * * *\"\n    ids: ["
	for i, id := range phones {
		if i > 0 {
			yaml += ", "
		}
		yaml += `"` + id + `"`
	}
	f := parse(t, yaml+"]\n")
	s, _ := f.Find("morning")
	tick := s.Next(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))

	var wg sync.WaitGroup
	reps := make([]schedule.TickReport, 2)
	for i := range 2 {
		rdb := r.Client(t) // two processes: two connections
		enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
		run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := run.Fire(context.Background(), s, tick)
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		}()
	}
	wg.Wait()
	fired := 0
	enqueued := 0
	for _, rep := range reps {
		if rep.Fired {
			fired++
		}
		enqueued += rep.Enqueued
	}
	if fired != 1 || enqueued != 300 {
		t.Fatalf("fired %d times, enqueued %d in all: %+v", fired, enqueued, reps)
	}
	q, err := asynq.NewInspectorFromRedisClient(r.Client(t)).GetQueueInfo(tasks.Queue)
	if err != nil || q.Size != 300 {
		t.Fatalf("queue holds %v tasks (%v), want 300", q, err)
	}

	// The next tick finds the phones still pending: duplicates, not new tasks.
	rdb := r.Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, _ := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq})
	rep, err := run.Fire(context.Background(), s, s.Next(tick))
	if err != nil || !rep.Fired || rep.Enqueued != 0 || rep.Duplicates != 300 {
		t.Fatalf("next tick: %+v, %v", rep, err)
	}
}

func TestGroupSelectionOf250ResolvesThrough3Pages(t *testing.T) {
	r := redistest.New(t)
	rdb := r.Client(t)
	fake := geelarktest.NewServer(geelarktest.Config{})
	t.Cleanup(fake.Close)
	for _, id := range ids("shop", 250) {
		fake.AddPhones(geelarktest.Phone{ID: id, GroupName: "Shop-EU", Tags: []string{"morning"}})
	}
	for _, id := range ids("other", 40) {
		fake.AddPhones(geelarktest.Phone{ID: id, GroupName: "Shop-US", Tags: []string{"morning"}})
	}
	api, err := geelark.NewClient(geelark.Config{BaseURL: fake.URL, Token: geelarktest.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	budget, err := fleet.NewBudget(rdb, fleet.BudgetConfig{Endpoint: "list"})
	if err != nil {
		t.Fatal(err)
	}
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Lister: api, ListBudget: budget, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	f := parse(t, `schedules:
  - name: shop-eu
    cron: "30 7 * * 1-5"
    time_zone: Europe/Berlin
    select: {group_name: Shop-EU, tags: [morning]}
    options: {width: 400}
`)
	s, _ := f.Find("shop-eu")
	rep, err := run.Fire(context.Background(), s, s.Next(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Selected != 250 || rep.Enqueued != 250 {
		t.Fatalf("report %+v, want 250 selected and enqueued", rep)
	}
	var pages []int
	for _, c := range fake.Calls() {
		if c.Path == geelark.ListPath {
			pages = append(pages, c.Page)
		}
	}
	if fmt.Sprint(pages) != "[1 2 3]" {
		t.Fatalf("list pages called: %v, want [1 2 3]", pages)
	}
	// The selected phones carry the schedule's options, in their record
	// and in their task.
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Phone(context.Background(), "shop00042")
	if err != nil || rec.State != fleet.StateQueued || rec.Options.Width != 400 {
		t.Fatalf("record %+v, %v; want queued with width 400", rec, err)
	}
	ti, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo(tasks.Queue, tasks.TaskID(rec.ID, rec.Gen, rec.Task))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tasks.ParseStartPhone(ti.Payload)
	if p.Options.Width != 400 {
		t.Fatalf("options %+v", p.Options)
	}
	if _, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo(tasks.Queue, tasks.TaskID("other00001", rec.Gen, 1)); err == nil {
		t.Fatal("a phone of another group has a task")
	}
}

// Scheduled phones batch like immediate ones: this is where asynq's own
// group aggregation fails (it drops the group of scheduled tasks).
func TestScheduledStartsBatch(t *testing.T) {
	r := redistest.New(t)
	rdb := r.Client(t)
	fake := geelarktest.NewServer(geelarktest.Config{})
	t.Cleanup(fake.Close)
	api, _ := geelark.NewClient(geelark.Config{BaseURL: fake.URL, Token: geelarktest.DefaultToken})
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	phones := ids("later", 400)
	rep, err := enq.Start(context.Background(), enqueue.Request{IDs: phones, In: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{Redis: rdb, API: api, Logger: zaptest.NewLogger(t),
		BatchWait: 10 * time.Minute, PollInterval: 100 * time.Millisecond}) // only size cuts a batch: 2 full ones
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	out, err := enq.Wait(context.Background(), rep.Request, enqueue.WaitOptions{Timeout: time.Minute})
	if err != nil || len(out.Ready) != 400 {
		t.Fatalf("not all started: %d ready, %d unfinished, %v", len(out.Ready), len(out.Unfinished), err)
	}
	calls := fake.Calls()
	if len(calls) > 2 {
		sizes := []int{}
		for _, c := range calls {
			sizes = append(sizes, len(c.IDs))
		}
		t.Fatalf("400 scheduled phones took %d calls %v, want 2", len(calls), sizes)
	}
}

// 02:30 happens twice in Berlin on the night clocks go back; the schedule
// starts its phones once.
func TestRepeatedHourFiresOnce(t *testing.T) {
	r := redistest.New(t)
	rdb := r.Client(t)
	enq, _ := enqueue.New(enqueue.Config{Redis: rdb})
	run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq})
	if err != nil {
		t.Fatal(err)
	}
	f := parse(t, `schedules:
  - name: night
    cron: "30 2 * * *"
    time_zone: Europe/Berlin
    ids: ["557700000000000001"]
`)
	s, _ := f.Find("night")
	first := s.Next(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC))
	second := s.Next(first)
	fired := 0
	for _, tick := range []time.Time{first, second} {
		rep, err := run.Fire(context.Background(), s, tick)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Fired {
			fired++
		}
		// End the first start, so that a second fire would enqueue again.
		if _, err := enq.Cancel(context.Background(), enqueue.CancelRequest{IDs: s.IDs}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("ticks %v and %v", first.UTC(), second.UTC())
	if fired != 1 {
		t.Fatalf("fired %d times for 02:30 on the night clocks go back", fired)
	}
}

// A Runner, like the producers and workers, refuses a Redis Cluster
// client: the guards and the records need one server.
func TestNewRunnerRefusesARedisCluster(t *testing.T) {
	t.Parallel()
	enq, err := enqueue.New(enqueue.Config{Redis: redistest.New(t).Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}) // never dialled
	t.Cleanup(func() { cluster.Close() })
	run, err := schedule.NewRunner(schedule.Config{Redis: cluster, Enqueue: enq})
	if !errors.Is(err, redisconn.ErrCluster) {
		t.Fatalf("NewRunner on a cluster client = %v, %v; want redisconn.ErrCluster", run, err)
	}
}

// Two deployments sharing one Redis each have a schedule of the same name:
// each fires its own tick, into its own queue, and its guard lives in its
// own namespace.
func TestSchedulesOfTwoNamespacesFireApart(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	rdb := r.Client(t)
	f := parse(t, "schedules:\n  - name: morning\n    cron: \"30 7 * * *\"\n    ids: [\"557700000000000001\"]\n")
	s, _ := f.Find("morning")
	tick := s.Next(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, ns := range []string{"shop-eu", "shop-us"} {
		enq, err := enqueue.New(enqueue.Config{Redis: rdb, Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		run, err := schedule.NewRunner(schedule.Config{Redis: rdb, Enqueue: enq, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := run.Fire(context.Background(), s, tick)
		if err != nil || !rep.Fired || rep.Enqueued != 1 {
			t.Fatalf("%s: tick %+v, %v; want it fired and the phone enqueued", ns, rep, err)
		}
		key := "{" + ns + "}:schedule:morning:2026-11-25T07:30:00"
		if got := run.GuardKey(s, tick); got != key {
			t.Errorf("%s: GuardKey = %q, want %q", ns, got, key)
		}
		if v, err := rdb.Get(context.Background(), key).Result(); err != nil || !strings.HasPrefix(v, "done ") {
			t.Errorf("%s: guard %q = %q, %v; want the done mark", ns, key, v, err)
		}
		if q, err := insp.GetQueueInfo(ns); err != nil || q.Size != 1 {
			t.Errorf("%s: queue %+v, %v; want the one start", ns, q, err)
		}
	}
	if keys, _ := rdb.Keys(context.Background(), "phonestart:schedule:*").Result(); len(keys) != 0 {
		t.Errorf("guards outside the namespaces: %v", keys)
	}
}
