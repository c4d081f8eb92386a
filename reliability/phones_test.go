package reliability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/geelark/geelarktest"
	psfleet "github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// fleet is one case's phones and the Redis they live in.
type fleet struct {
	t    *testing.T
	url  string
	rdb  *redis.Client
	insp *asynq.Inspector
}

func newFleet(t *testing.T, redisURL string) *fleet {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return &fleet{t: t, url: redisURL, rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// enqueue asks for ids through `phonestart enqueue --json --file -`, with
// extra flags, and checks that each was enqueued.
func (f *fleet) enqueue(ids []string, flags ...string) {
	f.t.Helper()
	args := append([]string{"enqueue", "--json", "--file", "-"}, flags...)
	code, stdout, stderr := run(f.t, []string{"REDIS_URL=" + f.url}, strings.Join(ids, "\n")+"\n", args...)
	want := fmt.Sprintf(`{"enqueued":%d,"duplicates":0}`, len(ids))
	if code != 0 || strings.TrimSpace(stdout) != want {
		f.t.Fatalf("phonestart enqueue: exit %d, stdout %q, want %s; stderr:\n%s", code, stdout, want, stderr)
	}
}

// counts returns the queue's tasks by state, or an error while Redis is
// away.
func (f *fleet) counts() (*asynq.QueueInfo, error) {
	q, err := f.insp.GetQueueInfo(tasks.Queue)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// waitSettled waits until n phones are completed or archived and none is
// pending, scheduled, retrying or active. logs is shown on failure.
func (f *fleet) waitSettled(n int, timeout time.Duration, logs func() string) time.Duration {
	f.t.Helper()
	began := time.Now()
	var last string
	eventually(f.t, timeout, func() bool {
		q, err := f.counts()
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("pending %d, scheduled %d, retry %d, active %d, completed %d, archived %d",
			q.Pending, q.Scheduled, q.Retry, q.Active, q.Completed, q.Archived)
		return q.Pending+q.Scheduled+q.Retry+q.Active == 0 && q.Completed+q.Archived == n
	}, func() string { return fmt.Sprintf("%d phones settled: %s; log:\n%s", n, last, logs()) })
	return time.Since(began)
}

// states returns the state of each phone's task ("completed", "archived",
// ...), "missing" for a phone with no task, read one by one with
// asynq.Inspector.GetTaskInfo, and the dead-letter entry of each archived
// one (an archived phone without an entry is reported as lost).
func (f *fleet) states(ids []string) (state map[string]string, dead map[string]psfleet.DeadPhone) {
	f.t.Helper()
	state = make(map[string]string, len(ids))
	dead = map[string]psfleet.DeadPhone{}
	entries, err := psfleet.NewLedger(f.rdb, 0).Get(context.Background(), ids...)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range entries {
		dead[d.ID] = d
	}
	for _, id := range ids {
		ti, err := f.insp.GetTaskInfo(tasks.Queue, tasks.TaskID(id))
		if err != nil {
			state[id] = "missing"
			continue
		}
		state[id] = ti.State.String()
		if _, ok := dead[id]; ti.State == asynq.TaskStateArchived && !ok {
			state[id] = "archived without a dead-letter entry"
		}
	}
	return state, dead
}

// assertNoneLost checks the final state of every phone: each has a task that
// is completed (started) or archived (dead), and every completed phone was
// started by the fake at least once. It returns the phones by state.
func (f *fleet) assertNoneLost(ids []string, fake *geelarktest.Server) (byState map[string]int, dead map[string]psfleet.DeadPhone) {
	f.t.Helper()
	state, dead := f.states(ids)
	byState = map[string]int{}
	var bad []string
	for _, id := range ids {
		s := state[id]
		byState[s]++
		switch {
		case s != "completed" && s != "archived":
			bad = append(bad, id+" is "+s)
		case s == "completed" && fake.Starts(id) == 0:
			bad = append(bad, id+" is completed but the API never started it")
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		f.t.Errorf("%d of %d phones lost or wrong (states %v): %s", len(bad), len(ids), byState,
			strings.Join(bad[:min(len(bad), 20)], "; "))
	}
	return byState, dead
}

// assertNoneTwice checks that the fake started no phone of ids twice.
func assertNoneTwice(t *testing.T, fake *geelarktest.Server, ids []string) {
	t.Helper()
	dups, extra := duplicates(fake, ids)
	if len(dups) > 0 {
		sort.Strings(dups)
		t.Errorf("%d of %d phones started more than once (%d extra starts), e.g. %v", len(dups), len(ids), extra, dups[:min(len(dups), 10)])
	}
}

// assertNoTasks checks that Redis holds no start task in any state except
// those of keep.
func (f *fleet) assertNoTasks(keep ...string) {
	f.t.Helper()
	keys, err := f.rdb.Keys(context.Background(), "asynq:{"+tasks.Queue+"}:t:*").Result()
	if err != nil {
		f.t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range keep {
		want["asynq:{"+tasks.Queue+"}:t:"+tasks.TaskID(id)] = true
	}
	var extra []string
	for _, k := range keys {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		f.t.Errorf("Redis holds %d tasks it should not: %v", len(extra), extra[:min(len(extra), 10)])
	}
}

// duplicates returns the phones of ids that the fake started more than
// once, and how many extra starts they got.
func duplicates(fake *geelarktest.Server, ids []string) (phones []string, extra int) {
	for _, id := range ids {
		if n := fake.Starts(id); n > 1 {
			phones = append(phones, id)
			extra += n - 1
		}
	}
	return phones, extra
}

// calledIDs returns the set of phone IDs carried by calls.
func calledIDs(calls []geelarktest.Call) map[string]bool {
	ids := map[string]bool{}
	for _, c := range calls {
		for _, id := range c.IDs {
			ids[id] = true
		}
	}
	return ids
}

// phoneIDs returns n phone IDs that start with prefix.
func phoneIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return ids
}
