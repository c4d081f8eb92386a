package worker_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// bounded lists the keys of a deployment that live without a TTL, and
// what bounds each: every other key phonestart writes must expire.
var bounded = []struct {
	pattern, bound string
}{
	{`^\{phonestart\}:gen$`, "one counter"},
	{`^\{phonestart\}:count$`, "one hash, a field a live state"},
	{`^\{phonestart\}:live$`, "the phones waiting for a task"},
	{`^\{phonestart\}:booting$`, "the phones booting"},
	{`^\{phonestart\}:parked$`, "the phones waiting out a pause"},
	{`^\{phonestart\}:events$`, "PHONESTART_EVENTS_MAX entries"},
	{`^\{phonestart\}:dead(:ids|:time)?$`, "kept until purged, or PHONESTART_DEAD_RETENTION"},
	{`^\{phonestart\}:phone:[^:]+$`, "a live phone's record (an ended one expires)"},
	{`^\{phonestart\}:req:[^:]+(:ids|:out)?$`, "an open request (an ended one expires)"},
	{`^\{phonestart\}:workers$`, "the live workers, pruned at each heartbeat"},
	{`^\{phonestart\}:refused$`, "the refused live workers, pruned at each heartbeat"},
	{`^\{phonestart\}:blocked$`, "one hash, while an account-wide error lasts"},
	{`^\{phonestart\}:pause:epoch$`, "one counter"},
	{`^\{phonestart\}:budget:[a-z]+:limit$`, "one a GeeLark endpoint"},
	{`^\{phonestart\}:booting:pace$`, "one hash"},
	{`^\{phonestart\}:outbox$`, "the webhooks of ended requests, drained by phonestart api"},
}

// After a run through starts, failures, dead phones, retries, boots, the
// billing guard, stops, cancels, a pause and its lift, every key
// phonestart wrote either expires or is one of the bounded keys above; no
// key is left outside the deployment's namespace; the records of ended
// phones expire; and the indexes hold only phones still on their way.
func TestEveryKeyIsBoundedAfterARun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, geelarktest.Config{Boot: func(string) geelarktest.Boot { return geelarktest.Boot{Time: 200 * time.Millisecond} }})
	ok, dead, flaky, later := phoneIDs("keyok", 20), phoneIDs("keydead", 5), phoneIDs("keyflaky", 5), phoneIDs("keylater", 5)
	for _, id := range dead {
		e.fake.Script(id, geelarktest.Script{Code: 42001})
	}
	for _, id := range flaky {
		e.fake.Script(id, geelarktest.Script{Code: 47002, Times: 1})
	}
	e.fake.FailNext(1, geelarktest.Fault{Kind: geelarktest.FaultDrop})
	e.enqueue(enqueue.Request{IDs: append(append(append([]string{}, ok...), dead...), flaky...), StopAfter: time.Second, Label: "keys"})
	e.enqueue(enqueue.Request{IDs: later, In: time.Hour})
	if _, err := e.enq.Cancel(ctx, enqueue.CancelRequest{IDs: later[:2]}); err != nil {
		t.Fatal(err)
	}
	cfg := e.bootConfig(time.Minute)
	cfg.MaxRuntime = time.Second
	w := e.startWorker(cfg)
	all := append(append(append([]string{}, ok...), dead...), flaky...)
	waitFor(t, time.Minute, func() bool {
		st := e.states(all)
		for _, id := range all {
			if s := st[id]; s != fleet.StateStopped && s != fleet.StateDead {
				return false
			}
		}
		return true
	})
	pauses := e.store.Pauses(nil)
	p, _, err := pauses.Set(ctx, 40007, "too many", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pauses.Lift(ctx, p.ID, "test"); err != nil {
		t.Fatal(err)
	}
	_ = w

	keys, err := e.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if strings.HasPrefix(k, "asynq:") || k == redistest.LockKey {
			continue // asynq's own, kept by asynq; the test harness's claim of a real Redis database
		}
		if !strings.HasPrefix(k, "{phonestart}:") {
			t.Errorf("key %q outside the deployment's namespace", k)
			continue
		}
		ttl, err := e.rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl > 0 {
			continue
		}
		matched := false
		for _, b := range bounded {
			if regexp.MustCompile(b.pattern).MatchString(k) {
				matched, seen[b.pattern] = true, true
				break
			}
		}
		if !matched {
			t.Errorf("key %q has no TTL and no bound", k)
		}
	}
	// Ended phones' records and the ended request expire; the records
	// without a TTL are the phones still on their way: the three
	// scheduled starts not cancelled.
	for _, id := range all {
		if ttl, _ := e.rdb.PTTL(ctx, e.store.Space().Key("phone", id)).Result(); ttl <= 0 {
			t.Errorf("record of ended phone %s does not expire (PTTL %v)", id, ttl)
		}
	}
	for _, idx := range []string{"live", "booting", "parked"} {
		members, _ := e.rdb.ZRange(ctx, e.store.Space().Key(idx), 0, -1).Result()
		for _, m := range members {
			if !strings.HasPrefix(m, "keylater") {
				t.Errorf("%s index holds %s, which has ended", idx, m)
			}
		}
	}
	if c, _ := e.store.Counts(ctx); c.ByState[fleet.StateScheduled] != 3 || c.ByState[fleet.StateQueued]+c.ByState[fleet.StateSending]+
		c.ByState[fleet.StateBooting]+c.ByState[fleet.StateStopping]+c.ByState[fleet.StateRetry] != 0 {
		t.Errorf("counts %+v: want the 3 scheduled starts alone", c.ByState)
	}
	t.Logf("%d keys of phonestart's without a TTL, each bounded: %d patterns seen", len(seen), len(seen))
}
