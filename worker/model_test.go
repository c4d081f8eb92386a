package worker_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"pgregory.net/rapid"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
	"github.com/phonestart/phonestart/worker"
)

// The model test: random plans of enqueues (now and later, with and
// without a billing guard), cancels, stops, fleet pauses and their lifts,
// lost answers (dropped, truncated and HTTP 500 replies), omitted IDs,
// transient status codes, boots that fail once, phones GeeLark does not
// know, and (on the embedded Redis) a Redis freeze, run against one worker
// and the fake GeeLark. A model follows each phone's intent from what each
// request reported, and once the fleet is quiet the record, the events
// stream, the dead list, asynq and the fake must agree with it.

// modelFlags are the rapid flags given on the command line, read before
// TestModel sets any (flag.Visit counts flag.Set too).
var modelFlags = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
})

// modelChecks is how many plans TestModel runs: PHONESTART_MODEL_CHECKS,
// or -rapid.checks when given, or 8 (4 under -short).
func modelChecks(t *testing.T) int {
	if v := os.Getenv("PHONESTART_MODEL_CHECKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PHONESTART_MODEL_CHECKS=%q: want a positive number", v)
		}
		return n
	}
	if modelFlags()["rapid.checks"] {
		n, _ := strconv.Atoi(flag.Lookup("rapid.checks").Value.String())
		return n
	}
	if testing.Short() {
		return 4
	}
	return 8
}

func TestModel(t *testing.T) {
	modelFlags()
	checks := modelChecks(t)
	// rapid reads its count from -rapid.checks, and runs a fifth of it
	// under -short.
	rc := flag.Lookup("rapid.checks")
	old := rc.Value.String()
	n := checks
	if testing.Short() {
		n *= 5
	}
	if err := flag.Set("rapid.checks", strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("rapid.checks", old)
	// A plan takes about a second: shrinking a failure to a small plan
	// takes minutes, not rapid's default 30 seconds.
	if !modelFlags()["rapid.shrinktime"] && os.Getenv("RAPID_SHRINKTIME") == "" {
		st := flag.Lookup("rapid.shrinktime")
		old := st.Value.String()
		flag.Set("rapid.shrinktime", "3m")
		defer flag.Set("rapid.shrinktime", old)
	}

	r := redistest.New(t)
	rdb := r.Client(t)
	var runs atomic.Int64
	began := time.Now()
	rapid.Check(t, func(rt *rapid.T) {
		runModel(t, rt, r, rdb, fmt.Sprintf("model%d", runs.Add(1)))
	})
	t.Logf("%d plans in %v", runs.Load(), time.Since(began).Round(time.Millisecond))
}

// How a phone behaves at the fake GeeLark.
type phoneKind int

const (
	bootsAtOnce   phoneKind = iota
	bootsSlowly             // Starting for 300ms
	fallsBackOnce           // its first boot falls back to Shut down: started again
	unknownPhone            // 42001 to every start and stop: dead
)

var kindNames = [...]string{"boots at once", "boots in 300ms", "falls back once", "unknown to GeeLark (42001)"}

type phonePlan struct {
	Kind       phoneKind
	Status     int // a transient code the status endpoint answers for it first, 0 for none
	StatusHits int
}

func (p phonePlan) GoString() string {
	s := kindNames[p.Kind]
	if p.Status != 0 {
		s += fmt.Sprintf(" and status answers %d %d time(s)", p.Status, p.StatusHits)
	}
	return "{" + s + "}"
}

type opKind int

const (
	opEnqueue opKind = iota
	opCancel
	opStop
	opPause
	opLift
	opFault
	opFreeze
	opWait
)

type op struct {
	Kind   opKind
	Phones []int
	Later  bool // enqueue: in 1s
	Guard  bool // enqueue: stop-after 1s
	Fault  geelarktest.FaultKind
	Wait   time.Duration
}

func (o op) GoString() string {
	ids := make([]string, len(o.Phones))
	for i, p := range o.Phones {
		ids[i] = phoneName(p)
	}
	who := strings.Join(ids, ",")
	switch o.Kind {
	case opEnqueue:
		s := "enqueue " + who
		if o.Later {
			s += " in 1s"
		}
		if o.Guard {
			s += " stop-after 1s"
		}
		return s
	case opCancel:
		return "cancel " + who
	case opStop:
		return "stop " + who
	case opPause:
		return "pause the fleet (41001) for an hour, or extend the pause"
	case opLift:
		return "lift the pause"
	case opFault:
		return "next call: " + o.Fault.String()
	case opFreeze:
		return fmt.Sprintf("freeze Redis %v", o.Wait)
	}
	return fmt.Sprintf("wait %v", o.Wait)
}

// opWeights makes enqueues the likeliest step, and freezes rare.
var opWeights = []opKind{opEnqueue, opEnqueue, opEnqueue, opEnqueue, opCancel, opCancel, opStop, opStop,
	opPause, opLift, opFault, opFault, opFault, opFreeze, opWait, opWait}

func phoneName(i int) string { return fmt.Sprintf("p%d", i) }

func opGen(phones int) *rapid.Generator[op] {
	subset := rapid.SliceOfNDistinct(rapid.IntRange(0, phones-1), 1, phones, rapid.ID[int])
	return rapid.Custom(func(t *rapid.T) op {
		o := op{Kind: rapid.SampledFrom(opWeights).Draw(t, "kind")}
		switch o.Kind {
		case opEnqueue:
			o.Phones = subset.Draw(t, "phones")
			o.Later = rapid.IntRange(0, 3).Draw(t, "later") == 0
			o.Guard = rapid.IntRange(0, 3).Draw(t, "guard") == 0
		case opCancel, opStop:
			o.Phones = subset.Draw(t, "phones")
		case opFault:
			o.Fault = rapid.SampledFrom([]geelarktest.FaultKind{geelarktest.FaultDrop, geelarktest.FaultTruncated,
				geelarktest.Fault500, geelarktest.FaultOmit}).Draw(t, "fault")
		case opFreeze:
			o.Wait = time.Duration(rapid.IntRange(2, 10).Draw(t, "freeze")) * 100 * time.Millisecond
		case opWait:
			o.Wait = time.Duration(rapid.IntRange(0, 12).Draw(t, "wait")) * 100 * time.Millisecond
		}
		return o
	})
}

// phoneModel is what the model knows of one phone.
type phoneModel struct {
	plan   phonePlan
	intent string // the last request that took: "start", "stop", "cancelled"; "" for none
	guard  bool   // the current start has a billing guard
	lives  int    // start requests the phone took (not duplicates)
	// calledOff is how many start calls named the phone when its current
	// start was called off before any start call named it (by a cancel or
	// a stop), -1 otherwise.
	calledOff int
	livesAt   int // start calls naming the phone when its current start was placed
	cleanOffs int // starts it took that were called off before any start call named them
}

// end is the state the phone's record must end in.
func (m *phoneModel) end() string {
	switch {
	case m.intent == "cancelled":
		return fleet.StateCancelled
	case m.plan.Kind == unknownPhone:
		return fleet.StateDead
	case m.intent == "stop", m.guard:
		return fleet.StateStopped
	}
	return fleet.StateReady
}

// startCallsNaming counts the start calls that named id.
func startCallsNaming(calls []geelarktest.Call, id string) int {
	n := 0
	for _, c := range calls {
		if c.Path == geelark.StartPath && slices.Contains(c.IDs, id) {
			n++
		}
	}
	return n
}

func runModel(t *testing.T, rt *rapid.T, r *redistest.Redis, rdb *redis.Client, ns string) {
	ctx := context.Background()
	nPhones := rapid.IntRange(1, 4).Draw(rt, "phones")
	planGen := rapid.Custom(func(t *rapid.T) phonePlan {
		p := phonePlan{Kind: phoneKind(rapid.IntRange(0, int(unknownPhone)).Draw(t, "kind"))}
		if p.Kind != unknownPhone && rapid.Bool().Draw(t, "status") {
			p.Status = rapid.SampledFrom([]int{50000, 40010}).Draw(t, "code")
			p.StatusHits = rapid.IntRange(1, 2).Draw(t, "hits")
		}
		return p
	})
	plans := rapid.SliceOfN(planGen, nPhones, nPhones).Draw(rt, "plans")
	ops := rapid.SliceOfN(opGen(nPhones), 1, 12).Draw(rt, "ops")

	e := modelEnv(t, rt, r, rdb, ns)
	ids := make([]string, nPhones)
	model := make(map[string]*phoneModel, nPhones)
	for i, p := range plans {
		id := phoneName(i)
		ids[i] = id
		model[id] = &phoneModel{plan: p, calledOff: -1}
		switch p.Kind {
		case bootsSlowly:
			e.fake.ScriptBoot(id, geelarktest.Boot{Time: 300 * time.Millisecond})
		case fallsBackOnce:
			e.fake.ScriptBoot(id, geelarktest.Boot{Time: 200 * time.Millisecond, FallBack: true, Times: 1})
		case unknownPhone:
			e.fake.Script(id, geelarktest.Script{Code: 42001})
		}
		if p.Status != 0 {
			e.fake.ScriptStatus(id, geelarktest.Script{Code: p.Status, Times: p.StatusHits})
		}
	}
	sp := fleet.MustSpace(ns)
	cfg := e.fastConfig()
	cfg.Namespace = ns
	cfg.Logger = zap.NewNop()
	cfg.BatchWait = 50 * time.Millisecond
	cfg.BootPoll = 100 * time.Millisecond
	cfg.BootTimeout = 20 * time.Second
	for _, l := range []struct {
		endpoint string
		to       *worker.Limiter
	}{{"start", &cfg.Limiter}, {"status", &cfg.StatusLimiter}, {"stop", &cfg.StopLimiter}} {
		b, err := fleet.NewBudget(e.rdb, fleet.BudgetConfig{Space: sp, Endpoint: l.endpoint, PerMinute: modelRate})
		if err != nil {
			rt.Fatal(err)
		}
		*l.to = b
	}
	w, err := worker.New(cfg)
	if err != nil {
		rt.Fatal(err)
	}
	if err := w.Start(); err != nil {
		rt.Fatal(err)
	}
	rt.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = w.Shutdown(sctx)
	})

	pauses := e.store.Pauses(time.Now)
	asked := map[string]bool{}
	for _, o := range ops {
		var who []string
		for _, p := range o.Phones {
			who = append(who, phoneName(p))
		}
		switch o.Kind {
		case opEnqueue:
			req := enqueue.Request{IDs: who}
			if o.Later {
				req.In = time.Second
			}
			if o.Guard {
				req.StopAfter = time.Second
			}
			calls := e.fake.Calls()
			rep := e.enqueue(req)
			for _, id := range who {
				asked[id] = true
				if slices.Contains(rep.Duplicates, id) {
					continue
				}
				m := model[id]
				m.intent, m.guard, m.calledOff = "start", o.Guard, -1
				m.lives++
				m.livesAt = startCallsNaming(calls, id)
			}
		case opCancel:
			rep, err := e.enq.Cancel(ctx, enqueue.CancelRequest{IDs: who})
			if err != nil {
				rt.Fatal(err)
			}
			calls := e.fake.Calls()
			for _, id := range rep.Cancelled {
				model[id].calledOffBy(startCallsNaming(calls, id))
				model[id].intent = "cancelled"
			}
		case opStop:
			for _, id := range who {
				asked[id] = true
				rep := e.stop(enqueue.StopRequest{IDs: []string{id}})
				if rep.Stopped == 0 {
					continue // a duplicate: a stop was on its way
				}
				m := model[id]
				if rep.CancelledStarts == 1 {
					m.calledOffBy(startCallsNaming(e.fake.Calls(), id))
				}
				m.intent, m.guard = "stop", false
			}
		case opPause:
			// Set again while in force, the pause is extended: its lift
			// must still reach the boots its earlier end held back.
			if _, _, err := pauses.Set(ctx, 41001, "balance not enough", time.Now().Add(time.Hour)); err != nil {
				rt.Fatal(err)
			}
		case opLift:
			lift(rt, pauses)
		case opFault:
			e.fake.FailNext(1, geelarktest.Fault{Kind: o.Fault})
		case opFreeze:
			if r.Mini == nil {
				rt.Logf("freeze skipped: a real Redis is not frozen")
				continue
			}
			r.Mini.Close()
			time.Sleep(o.Wait)
			if err := r.Mini.Restart(); err != nil {
				t.Fatalf("restart the embedded Redis: %v", err)
			}
			// go-redis's pool answers its last dial error for up to a
			// second after Redis is back: the plan goes on once it is.
			for deadline := time.Now().Add(30 * time.Second); rdb.Ping(ctx).Err() != nil; {
				if time.Now().After(deadline) {
					t.Fatal("the embedded Redis is not back 30s after its restart")
				}
				time.Sleep(20 * time.Millisecond)
			}
		case opWait:
			time.Sleep(o.Wait)
		}
	}
	lift(rt, pauses)

	var askedIDs []string
	for _, id := range ids {
		if asked[id] {
			askedIDs = append(askedIDs, id)
		}
	}
	quiet(rt, e, sp, askedIDs)
	checkModel(rt, e, sp, ids, model)
}

// calledOffBy records that the phone's start was called off while calls
// start calls named it: before any start call, when none did since it was
// placed.
func (m *phoneModel) calledOffBy(calls int) {
	if m.intent != "start" {
		return
	}
	if calls == m.livesAt {
		m.calledOff = calls
		m.cleanOffs++
	}
}

func lift(rt *rapid.T, pauses *fleet.Pauses) {
	ctx := context.Background()
	p, on, err := pauses.Current(ctx)
	if err != nil {
		rt.Fatal(err)
	}
	if !on {
		return
	}
	if _, _, err := pauses.Lift(ctx, p.ID, "model@test"); err != nil {
		rt.Fatal(err)
	}
}

// modelRate is each endpoint's budget a minute, the workers' and the
// fake's.
const modelRate = 600

// modelEnv is an env of its own for one plan: namespace ns of the test's
// Redis, and a fake GeeLark of its own.
func modelEnv(t *testing.T, rt *rapid.T, r *redistest.Redis, rdb *redis.Client, ns string) *env {
	fcfg := geelarktest.Config{RatePerMinute: modelRate}
	fake := geelarktest.NewServer(fcfg)
	rt.Cleanup(fake.Close)
	api, err := geelark.NewClient(geelark.Config{BaseURL: fake.URL, AppID: "test-app", APIKey: "test-key"})
	if err != nil {
		rt.Fatal(err)
	}
	enq, err := enqueue.New(enqueue.Config{Redis: rdb, Namespace: ns})
	if err != nil {
		rt.Fatal(err)
	}
	store, err := fleet.NewStore(rdb, fleet.StoreConfig{Space: fleet.MustSpace(ns)})
	if err != nil {
		rt.Fatal(err)
	}
	return &env{t: t, r: r, rdb: rdb, fake: fake, api: api, enq: enq, insp: asynq.NewInspectorFromRedisClient(rdb), store: store}
}

// quiet waits until every phone asked for has ended (a ready phone with a
// billing guard still to come has not) and asynq holds no pending or
// active task of the plan's queues. It then runs the tasks still scheduled
// or retrying, which must change nothing, and waits again.
func quiet(rt *rapid.T, e *env, sp fleet.Space, ids []string) {
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	busy := func() string {
		ps, err := e.store.Phones(ctx, ids...)
		if err != nil {
			return err.Error()
		}
		for _, p := range ps {
			if !fleet.Ended(p.State) {
				return p.ID + " is " + p.State
			}
			if p.State == fleet.StateReady && !p.Guard.IsZero() {
				return p.ID + " waits for its billing guard"
			}
		}
		for _, q := range []string{sp.StartQueue(), sp.StopQueue()} {
			qi, err := e.insp.GetQueueInfo(q)
			if err != nil {
				continue // no task was ever written to it
			}
			if n := qi.Pending + qi.Active + qi.Aggregating; n > 0 {
				return fmt.Sprintf("queue %s holds %d pending, %d active", q, qi.Pending, qi.Active)
			}
		}
		return ""
	}
	wait := func() {
		for {
			why := busy()
			if why == "" {
				return
			}
			if time.Now().After(deadline) {
				var recs []string
				for _, id := range ids {
					if p := e.phone(id); !fleet.Ended(p.State) || !p.Guard.IsZero() {
						recs = append(recs, fmt.Sprintf("%+v", p))
					}
				}
				rt.Fatalf("the fleet is not quiet after 2 minutes: %s; states %v; records %v", why, e.states(ids), recs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait()

	// What is left scheduled or retrying (a stale task: cancelled, or
	// replaced by a later request, whose task was not deleted) acts on no
	// phone: it is run now, and changes nothing.
	before := snapshot(rt, e, ids)
	ran := 0
	for _, q := range []string{sp.StartQueue(), sp.StopQueue()} {
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){e.insp.ListScheduledTasks, e.insp.ListRetryTasks} {
			left, err := list(q, asynq.PageSize(1000))
			if err != nil {
				continue
			}
			for _, ti := range left {
				if err := e.insp.RunTask(q, ti.ID); err != nil {
					rt.Fatal(err)
				}
				ran++
			}
		}
	}
	if ran == 0 {
		return
	}
	wait()
	if after := snapshot(rt, e, ids); after != before {
		rt.Fatalf("running the %d tasks left scheduled or retrying changed the fleet:\nbefore %s\nafter  %s", ran, before, after)
	}
}

// snapshot sums up the phones' records, events and the fake's calls.
func snapshot(rt *rapid.T, e *env, ids []string) string {
	evs, err := e.store.Events().Read(context.Background(), "0", 100000, 0)
	if err != nil {
		rt.Fatal(err)
	}
	return fmt.Sprintf("states %v, %d events, %d calls", e.states(ids), len(evs), len(e.fake.Calls()))
}

// endEvent is the event that ends a phone in each end state.
var endEvent = map[string]string{fleet.StateReady: fleet.EventReady, fleet.StateDead: fleet.EventDead,
	fleet.StateCancelled: fleet.EventCancelled, fleet.StateStopped: fleet.EventStopped}

func checkModel(rt *rapid.T, e *env, sp fleet.Space, ids []string, model map[string]*phoneModel) {
	ctx := context.Background()
	calls := e.fake.Calls()
	all, err := e.store.Events().Read(ctx, "0", 100000, 0)
	if err != nil {
		rt.Fatal(err)
	}
	evs := map[string][]string{}
	for _, ev := range all {
		evs[ev.Phone] = append(evs[ev.Phone], ev.Event)
	}
	for _, c := range calls {
		if c.Path != geelark.StartPath {
			continue
		}
		for _, id := range c.IDs {
			if m := model[id]; m == nil || m.lives == 0 {
				rt.Fatalf("start call %d named %s, which no request asked to start", c.N, id)
			}
		}
	}
	relives := 0
	for _, id := range ids {
		m := model[id]
		p := e.phone(id)
		starts := e.fake.Starts(id)
		if m.intent == "" {
			if p.Known() || starts != 0 {
				rt.Fatalf("%s: never asked for, but its record is %q and it was started %d times", id, p.State, starts)
			}
			continue
		}
		relives += max(0, m.lives-1)

		// 1. One end state, with one end event.
		if want := m.end(); p.State != want {
			rt.Fatalf("%s: ended %s (%s %s), want %s; events %v", id, p.State, p.Reason, p.Msg, want, evs[id])
		}
		ev := evs[id]
		last := 0
		for i, k := range ev {
			if k == fleet.EventEnqueued || k == fleet.EventStopEnqueued || k == fleet.EventRequeued {
				last = i
			}
		}
		end := endEvent[p.State]
		if n := count(ev[last:], end); n != 1 || ev[len(ev)-1] != end {
			rt.Fatalf("%s: ended %s with %d %q event(s) since its last request, and %q last; events %v",
				id, p.State, n, end, ev[len(ev)-1], ev)
		}

		// 2. Started only as often as it was asked for, and once more for
		// each boot that failed; every start at GeeLark but one whose
		// answer was lost is in its events.
		fallbacks := 0
		if m.plan.Kind == fallsBackOnce {
			fallbacks = 1
		}
		if starts > m.lives+fallbacks {
			rt.Fatalf("%s: started %d times at GeeLark for %d start request(s) and %d planned boot failure(s); events %v",
				id, starts, m.lives, fallbacks, ev)
		}
		// (A check may also find the phone running from an earlier
		// request, never stopped: started with no second start call.)
		if n, lost := count(ev, fleet.EventStarted), lostStarts(calls, id); starts > n+lost {
			rt.Fatalf("%s: started %d times at GeeLark, %d started events and %d start(s) whose answer was lost; events %v",
				id, starts, n, lost, ev)
		}
		switch p.State {
		case fleet.StateReady:
			if starts == 0 || !e.fake.Running(id) {
				rt.Fatalf("%s: ready, but started %d times and running at GeeLark: %v", id, starts, e.fake.Running(id))
			}
		case fleet.StateStopped:
			if e.fake.Running(id) {
				rt.Fatalf("%s: stopped, but still running at GeeLark; events %v", id, ev)
			}
		}

		// 3. A start called off before any start call named it is never
		// started.
		if m.intent != "start" && m.calledOff >= 0 {
			if n := startCallsNaming(calls, id); n != m.calledOff {
				rt.Fatalf("%s: its start was called off before any start call, yet %d start call(s) named it since", id, n-m.calledOff)
			}
		}
		if m.lives > 0 && m.cleanOffs == m.lives && starts != 0 {
			rt.Fatalf("%s: every start of it was called off before any start call, yet it was started %d times", id, starts)
		}

		// 4. The record and the dead list agree.
		dead, err := e.store.Ledger().Get(ctx, id)
		if err != nil {
			rt.Fatal(err)
		}
		has := func(action string) (fleet.DeadPhone, bool) {
			for _, d := range dead {
				if d.Action == action {
					return d, true
				}
			}
			return fleet.DeadPhone{}, false
		}
		switch p.State {
		case fleet.StateDead:
			d, ok := has(p.Action)
			if !ok || d.Code != p.Code || d.Code != 42001 {
				rt.Fatalf("%s: dead (%s, code %d), dead list %+v: want its %s with code 42001", id, p.Action, p.Code, dead, p.Action)
			}
		case fleet.StateReady:
			if d, ok := has(fleet.ActionStart); ok {
				rt.Fatalf("%s: ready, but its start is in the dead list: %+v", id, d)
			}
		case fleet.StateStopped:
			if d, ok := has(fleet.ActionStop); ok {
				rt.Fatalf("%s: stopped, but its stop is in the dead list: %+v", id, d)
			}
		}
	}
	if n := e.fake.DoubleStarts(); n > relives {
		rt.Fatalf("%d starts of a running phone, with %d start request(s) of phones asked for before", n, relives)
	}
	// 5. The budget.
	if n := e.fake.Violations(); n != 0 {
		rt.Fatalf("%d calls over GeeLark's rate limit", n)
	}
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// lostStarts counts the starts of id at GeeLark whose answer the worker
// did not see: a dropped or truncated reply, or left out of it.
func lostStarts(calls []geelarktest.Call, id string) int {
	n := 0
	for _, c := range calls {
		if c.Path != geelark.StartPath {
			continue
		}
		if c.Omitted == id || (c.Fault == geelarktest.FaultDrop || c.Fault == geelarktest.FaultTruncated) && slices.Contains(c.Started, id) {
			n++
		}
	}
	return n
}
