package queueadmin_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/queueadmin"
	"github.com/phonestart/phonestart/tasks"
)

// Counts reads the phones by state from their records, and the dead
// entries from the ledger (a phone whose start and stop both died counts
// twice), in the Admin's namespace only.
func TestCountsFollowTheRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := fleet.Intent{Action: fleet.ActionStart}
	e.place(start, "q1", "q2", "r1", "s1", "b1", "b2", "d1", "d2", "d3")
	e.place(fleet.Intent{Action: fleet.ActionStart, Due: e.store.Now().Add(time.Hour)}, "sc1")
	e.place(fleet.Intent{Action: fleet.ActionStop}, "st1")
	token := e.Claim(fleet.ActionStart, "r1")
	e.SettleOK(fleet.ActionStart, token, fleet.Settle{To: fleet.ToRetry, Code: 47002, Reason: fleet.ReasonGeeLark,
		Due: e.store.Now().Add(time.Minute)}, "r1")
	e.Claim(fleet.ActionStart, "s1")
	e.Boot("b1", "b2")
	e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", "d1", "d2")
	token = e.Claim(fleet.ActionStart, "d3")
	e.SettleOK(fleet.ActionStart, token, fleet.Settle{To: fleet.ToDead, Reason: fleet.ReasonUnknown}, "d3")
	e.place(fleet.Intent{Action: fleet.ActionStop}, "d2")
	e.Kill(fleet.ActionStop, 42001, "cloud phone does not exist", "d2")
	// Another deployment's phone on the same Redis.
	other, err := fleet.NewStore(e.rdb, fleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Place(context.Background(), start, []string{"q1", "elsewhere"}); err != nil {
		t.Fatal(err)
	}

	want := queueadmin.Counts{Queued: 2, Scheduled: 1, Retry: 1, Sending: 1, Booting: 2, Stopping: 1, Dead: 4, Started: 2}
	if got := e.counts(); got != want {
		t.Fatalf("Counts\n got %+v\nwant %+v", got, want)
	}
	byCode, err := e.adm.DeadByCode(context.Background())
	if want := map[int]int{42001: 3, 0: 1}; err != nil || !maps.Equal(byCode, want) {
		t.Fatalf("DeadByCode = %v, %v; want %v", byCode, err, want)
	}
	page, next, err := e.adm.DeadPage(context.Background(), "", 10)
	var keys []string
	for _, d := range page {
		keys = append(keys, d.Key())
	}
	if want := []string{"d1/start", "d2/start", "d2/stop", "d3/start"}; err != nil || next != "" || !slices.Equal(keys, want) {
		t.Fatalf("DeadPage = %v, next %q, %v; want %v and no next page", keys, next, err, want)
	}
}

// A requeue sends dead phones back with a fresh set of attempts: a dead
// start is enqueued again with its own options and stop-after, a dead stop
// is stopped again. Each is a "requeued" step of the phone's life, and its
// ledger entry is gone. A phone that is not dead makes the whole requeue
// refused, before anything is sent back.
func TestRequeueSendsDeadStartsAndStopsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	zero := 0
	opts := geelark.StartOptions{Width: 300, Center: &zero, HideSideBar: true}
	if _, err := e.enq.Start(ctx, enqueue.Request{IDs: []string{"a1", "a2", "a3"}, Options: opts, StopAfter: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", "a1", "a2")
	if _, err := e.enq.Stop(ctx, enqueue.StopRequest{IDs: []string{"s1"}}); err != nil {
		t.Fatal(err)
	}
	e.Kill(fleet.ActionStop, 42001, "cloud phone does not exist", "s1")
	before := e.phone("a1")
	if c := e.counts(); c.Dead != 3 || c.Queued != 1 {
		t.Fatalf("before: %+v, want 3 dead and a3 queued", c)
	}

	if _, err := e.adm.Requeue(ctx, false, []string{"a1", "a3"}); err == nil || !strings.Contains(err.Error(), `"a3"`) {
		t.Fatalf("requeue of a phone that is not dead: %v, want an error naming a3", err)
	}
	if c := e.counts(); c.Dead != 3 || c.Queued != 1 {
		t.Fatalf("a refused requeue changed the phones: %+v", c)
	}
	if _, err := e.adm.Requeue(ctx, true, []string{"a1"}); err == nil {
		t.Fatal("requeue of IDs and --all at once was accepted")
	}

	mark, err := e.store.Events().Last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.adm.Requeue(ctx, false, []string{"a1", "s1"})
	if err != nil || n != 2 {
		t.Fatalf("Requeue = %d, %v; want 2", n, err)
	}

	a1 := e.phone("a1")
	if a1.State != fleet.StateQueued || a1.Action != fleet.ActionStart || a1.Attempt != 0 || a1.Gen <= before.Gen ||
		!reflect.DeepEqual(a1.Options, opts) || a1.StopAfter != 2*time.Hour {
		t.Fatalf("a1 after requeue: %+v\nwant queued, a new generation, 0 attempts, options %+v, stop-after 2h", a1, opts)
	}
	ti, err := e.insp.GetTaskInfo(namespace, tasks.TaskID("a1", a1.Gen, a1.Task))
	if err != nil {
		t.Fatalf("a1's new start task: %v", err)
	}
	if p, err := tasks.ParseStartPhone(ti.Payload); err != nil || p.Options.Key() != opts.Key() {
		t.Fatalf("a1's new task carries %+v, %v; want options %+v", p, err, opts)
	}
	s1 := e.phone("s1")
	if s1.State != fleet.StateStopping || s1.Action != fleet.ActionStop {
		t.Fatalf("s1 after requeue: %+v, want a stop waiting", s1)
	}
	if _, err := e.insp.GetTaskInfo(namespace+"-stop", tasks.TaskID("s1", s1.Gen, s1.Task)); err != nil {
		t.Fatalf("s1's new stop task: %v", err)
	}
	got := e.events(mark)
	slices.Sort(got)
	if want := []string{"a1 requeued start", "s1 requeued stop"}; !slices.Equal(got, want) {
		t.Fatalf("steps recorded by the requeue: %q, want %q", got, want)
	}
	if left, err := e.store.Ledger().Get(ctx, "a1", "s1"); err != nil || len(left) != 0 {
		t.Fatalf("ledger entries left of the requeued phones: %+v, %v", left, err)
	}
	if c := e.counts(); c.Dead != 1 || c.Queued != 2 || c.Stopping != 1 {
		t.Fatalf("after: %+v, want a2 dead, a1 and a3 queued, s1 stopping", c)
	}
}

// A purge deletes dead entries for good (a phone's start and its stop),
// each a "purged" step, and leaves the phones where they are.
func TestPurgeDeletesEntriesForGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.place(fleet.Intent{Action: fleet.ActionStart}, "p1", "p2", "p3")
	e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", "p1", "p2", "p3")
	e.place(fleet.Intent{Action: fleet.ActionStop}, "p1")
	e.Kill(fleet.ActionStop, 42001, "cloud phone does not exist", "p1")
	mark, err := e.store.Events().Last(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.adm.Purge(ctx, false, []string{"p1", "never"}); err == nil || !strings.Contains(err.Error(), `"never"`) {
		t.Fatalf("purge of a phone that is not dead: %v, want an error naming it", err)
	}
	n, err := e.adm.Purge(ctx, false, []string{"p1"})
	if err != nil || n != 2 {
		t.Fatalf("Purge(p1) = %d, %v; want its start and its stop", n, err)
	}
	if got, want := e.events(mark), []string{"p1 purged start", "p1 purged stop"}; !slices.Equal(got, want) {
		t.Fatalf("steps recorded: %q, want %q", got, want)
	}
	if p := e.phone("p1"); p.State != fleet.StateDead {
		t.Fatalf("p1 after the purge: %s, want it left dead", p.State)
	}
	n, err = e.adm.Purge(ctx, true, nil)
	if err != nil || n != 2 {
		t.Fatalf("Purge --all = %d, %v; want p2 and p3", n, err)
	}
	if c := e.counts(); c.Dead != 0 {
		t.Fatalf("after purging all: %d dead", c.Dead)
	}
	if n, err := e.adm.Purge(ctx, true, nil); err != nil || n != 0 {
		t.Fatalf("Purge --all of an empty ledger = %d, %v", n, err)
	}
}

// The ledger has no cap: 25,000 dead phones (more than asynq's archive
// keeps) are all listed, page by page in ID order, and --all requeues every
// one. It runs against a real Redis (REDIS_URL; .ci/run's second pass):
// the embedded one runs Lua some twenty times slower, which makes this a
// minute's test instead of a few seconds'.
func TestLedgerKeepsAndRequeuesTwentyFiveThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("25,000 phones: not in -short")
	}
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("25,000 phones: on a real Redis only (set REDIS_URL); the embedded one runs Lua too slowly")
	}
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	const n = 25000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("dead%06d", i)
	}
	e.place(fleet.Intent{Action: fleet.ActionStart, Options: geelark.StartOptions{Width: 400}}, ids...)
	e.Kill(fleet.ActionStart, 42001, "cloud phone does not exist", ids...)
	if c := e.counts(); c.Dead != n || c.Queued != 0 {
		t.Fatalf("before: %+v, want %d dead", c, n)
	}

	seen, after := 0, ""
	for {
		page, next, err := e.adm.DeadPage(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			if d.ID != ids[seen] || d.Action != fleet.ActionStart || d.Code != 42001 || d.Options.Width != 400 {
				t.Fatalf("entry %d: %+v", seen, d)
			}
			seen++
		}
		if next == "" {
			break
		}
		after = next
	}
	if seen != n {
		t.Fatalf("listed %d dead phones, want %d", seen, n)
	}

	got, err := e.adm.Requeue(ctx, true, nil)
	if err != nil || got != n {
		t.Fatalf("requeue --all: %d, %v; want %d", got, err, n)
	}
	if c := e.counts(); c.Dead != 0 || c.Queued != n {
		t.Fatalf("after requeue --all: %+v, want %d queued", c, n)
	}
	if q, err := e.insp.GetQueueInfo(namespace); err != nil || q.Pending != n {
		t.Fatalf("start queue after requeue --all: %+v, %v; want %d pending", q, err, n)
	}
}
