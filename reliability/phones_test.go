//go:build reliability

package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	t     *testing.T
	url   string
	rdb   *redis.Client
	insp  *asynq.Inspector
	store *psfleet.Store
}

func newFleet(t *testing.T, redisURL string) *fleet {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	store, err := psfleet.NewStore(rdb, psfleet.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &fleet{t: t, url: redisURL, rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb), store: store}
}

// enqueue asks for ids through `phonestart enqueue --json --file -`, with
// extra flags, and checks that each was enqueued.
func (f *fleet) enqueue(ids []string, flags ...string) {
	f.t.Helper()
	args := append([]string{"enqueue", "--json", "--file", "-"}, flags...)
	code, stdout, stderr := run(f.t, []string{"REDIS_URL=" + f.url}, strings.Join(ids, "\n")+"\n", args...)
	var rep struct {
		Request    string `json:"request"`
		Enqueued   int    `json:"enqueued"`
		Duplicates int    `json:"duplicates"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || rep.Request == "" ||
		rep.Enqueued != len(ids) || rep.Duplicates != 0 {
		f.t.Fatalf("phonestart enqueue: exit %d, stdout %q, want %d enqueued in a request; stderr:\n%s", code, stdout, len(ids), stderr)
	}
}

// queueCounts are the phones by state, from their records: Pending are
// queued, Active in a call, Completed ever started.
type queueCounts struct {
	Pending, Scheduled, Retry, Active, Booting, Stopping, Completed, Dead int
}

// live is how many phones are on their way.
func (q queueCounts) live() int {
	return q.Pending + q.Scheduled + q.Retry + q.Active + q.Booting + q.Stopping
}

// counts returns the phones by state, or an error while Redis is away.
func (f *fleet) counts() (queueCounts, error) {
	c, err := f.store.Counts(context.Background())
	if err != nil {
		return queueCounts{}, err
	}
	n := c.ByState
	return queueCounts{Pending: n[psfleet.StateQueued], Scheduled: n[psfleet.StateScheduled], Retry: n[psfleet.StateRetry],
		Active: n[psfleet.StateSending], Booting: n[psfleet.StateBooting], Stopping: n[psfleet.StateStopping],
		Completed: c.Started, Dead: c.Dead}, nil
}

// waitSettled waits until every phone of ids has ended (ready or dead) and
// none is on its way (queued, scheduled, retrying, in a call, booting).
// logs is shown on failure.
func (f *fleet) waitSettled(ids []string, timeout time.Duration, logs func() string) time.Duration {
	f.t.Helper()
	began := time.Now()
	var last string
	eventually(f.t, timeout, func() bool {
		q, err := f.counts()
		if err != nil {
			last = err.Error()
			return false
		}
		ps, err := f.store.Phones(context.Background(), ids...)
		if err != nil {
			last = err.Error()
			return false
		}
		ended := 0
		for _, p := range ps {
			if psfleet.Ended(p.State) {
				ended++
			}
		}
		last = fmt.Sprintf("%+v, %d of %d ended", q, ended, len(ids))
		return q.live() == 0 && ended == len(ids)
	}, func() string { return fmt.Sprintf("%d phones settled: %s; log:\n%s", len(ids), last, logs()) })
	return time.Since(began)
}

// states returns the state of each phone's record ("ready", "dead", ...,
// "missing" for a phone without one) and each dead phone's dead-letter
// entry (a dead phone without an entry is reported as lost).
func (f *fleet) states(ids []string) (state map[string]string, dead map[string]psfleet.DeadPhone) {
	f.t.Helper()
	state = make(map[string]string, len(ids))
	dead = map[string]psfleet.DeadPhone{}
	entries, err := f.store.Ledger().Get(context.Background(), ids...)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range entries {
		dead[d.ID] = d
	}
	ps, err := f.store.Phones(context.Background(), ids...)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range ps {
		state[p.ID] = p.State
		switch _, ok := dead[p.ID]; {
		case p.State == "":
			state[p.ID] = "missing"
		case p.State == psfleet.StateDead && !ok:
			state[p.ID] = "dead without a dead-letter entry"
		}
	}
	return state, dead
}

// assertNoneLost checks the final state of every phone: each is ready
// (started, then confirmed usable) or dead with its entry, and every ready
// phone was started by the fake at least once. It returns the phones by
// state.
func (f *fleet) assertNoneLost(ids []string, fake *geelarktest.Server) (byState map[string]int, dead map[string]psfleet.DeadPhone) {
	f.t.Helper()
	state, dead := f.states(ids)
	byState = map[string]int{}
	var bad []string
	for _, id := range ids {
		s := state[id]
		byState[s]++
		switch {
		case s != psfleet.StateReady && s != psfleet.StateDead:
			bad = append(bad, id+" is "+s)
		case s == psfleet.StateReady && fake.Starts(id) == 0:
			bad = append(bad, id+" is ready but the API never started it")
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
// those of the phones of keep.
func (f *fleet) assertNoTasks(keep ...string) {
	f.t.Helper()
	prefix := "asynq:{" + tasks.Queue + "}:t:"
	keys, err := f.rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		f.t.Fatal(err)
	}
	var extra []string
	for _, k := range keys {
		id, _, _ := strings.Cut(strings.TrimPrefix(k, prefix), ":")
		if !slices.Contains(keep, id) {
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
