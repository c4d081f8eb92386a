package fleet_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

func request(t *testing.T, st *fleet.Store, id string) fleet.Request {
	t.Helper()
	r, err := st.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A phone asked for again while its start is under way is a duplicate: it
// joins the second request, and its one end counts for both.
func TestDuplicateJoinsTheSecondRequest(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	a := fleet.Intent{Action: fleet.ActionStart, Request: "a-1", Label: "etl"}
	b := fleet.Intent{Action: fleet.ActionStart, Request: "b-2"}
	if p := place(t, st, a, "p1", "p2"); !p[0].New || !p[1].New {
		t.Fatalf("first request: %+v", p)
	}
	if p := place(t, st, b, "p1"); p[0].New || p[0].Gen == 0 {
		t.Fatalf("second request: %+v, want a duplicate", p)
	}
	token, _ := claim(t, st, fleet.ActionStart, "p1", "p2")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToReady, URL: "https://x"}, "p1", "p2")
	for _, rid := range []string{"a-1", "b-2"} {
		r := request(t, st, rid)
		if r.Ended.IsZero() || r.Open != 0 || r.Outcomes["p1"].State != fleet.StateReady || r.Outcomes["p1"].URL != "https://x" {
			t.Fatalf("request %s: %+v, want ended with p1 ready", rid, r)
		}
	}
	if r := request(t, st, "a-1"); r.Label != "etl" || !slices.Equal(r.IDs, []string{"p1", "p2"}) || len(r.Outcomes) != 2 {
		t.Fatalf("request a-1: %+v", r)
	}
	evs, _ := st.Events().Read(context.Background(), "0", 100, 0)
	for _, e := range evs {
		if e.Phone == "p1" && e.Event == fleet.EventReady {
			if !slices.Equal(e.Requests, []string{"a-1", "b-2"}) || !slices.Equal(e.Labels, []string{"etl"}) {
				t.Fatalf("p1's ready event carries %v %v, want both requests and the label", e.Requests, e.Labels)
			}
			return
		}
	}
	t.Fatal("no ready event of p1")
}

// The later request wins: a stop replaces a start still waiting (whose
// request ends "cancelled"); a start already at GeeLark is not recalled:
// its request ends with the phone's next end, the stop's.
func TestAStopReplacesAWaitingStartAndFollowsOneAtGeeLark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	stop := fleet.Intent{Action: fleet.ActionStop, Request: "s-1"}
	// Waiting: replaced.
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "a-1"}, "waiting")
	ps := place(t, st, stop, "waiting")
	if !ps[0].New || ps[0].Superseded == "" {
		t.Fatalf("stop of a waiting start: %+v, want its start task named superseded", ps[0])
	}
	if r := request(t, st, "a-1"); r.Ended.IsZero() || r.Outcomes["waiting"].State != fleet.StateCancelled ||
		r.Outcomes["waiting"].Reason != fleet.ReasonSuperseded {
		t.Fatalf("the replaced start's request: %+v", r)
	}
	// At GeeLark: carried.
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "a-2"}, "inflight")
	token, _ := claim(t, st, fleet.ActionStart, "inflight")
	ps = place(t, st, fleet.Intent{Action: fleet.ActionStop, Request: "s-2"}, "inflight")
	if !ps[0].New || ps[0].Superseded != "" {
		t.Fatalf("stop of a start in a call: %+v", ps[0])
	}
	// The stop waits while the start is in its call.
	if _, got := claim(t, st, fleet.ActionStop, "inflight"); got[0].Verdict != fleet.ClaimWait {
		t.Fatalf("stop claim during the start call: %s, want wait", got[0].Verdict)
	}
	res := settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, Due: clk.Now(), Deadline: clk.Now()}, "inflight")
	if res[0].Outcome != fleet.SettledSuperseded {
		t.Fatalf("start settle after the stop: %s, want superseded", res[0].Outcome)
	}
	if p, _ := st.Phone(ctx, "inflight"); p.State != fleet.StateStopping || p.Call != "" {
		t.Fatalf("record after the start settled: %+v, want stopping, out of the call", p)
	}
	stoken, got := claim(t, st, fleet.ActionStop, "inflight")
	if got[0].Verdict != fleet.ClaimGo {
		t.Fatalf("stop claim after the start call: %s", got[0].Verdict)
	}
	settle(t, st, fleet.ActionStop, stoken, fleet.Settle{To: fleet.ToStopped}, "inflight")
	for _, rid := range []string{"a-2", "s-2"} {
		if r := request(t, st, rid); r.Ended.IsZero() || r.Outcomes["inflight"].State != fleet.StateStopped {
			t.Fatalf("request %s: %+v, want ended, the phone stopped", rid, r)
		}
	}
	if c, _ := st.Counts(ctx); c.ByState[fleet.StateStopping] != 1 || c.ByState[fleet.StateSending] != 0 {
		t.Fatalf("counts %+v: want the waiting phone's stop alone", c.ByState)
	}
}

// Cancel calls off what waits (its requests end "cancelled"), leaves a
// phone in a call, and has nothing to call off for a phone that started.
func TestCancelCallsOffOnlyWhatWaits(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "a-1"}, "queued", "sending", "booting")
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "a-1", Due: clk.Now().Add(time.Hour)}, "later")
	claim(t, st, fleet.ActionStart, "sending")
	token, _ := claim(t, st, fleet.ActionStart, "booting")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, Due: clk.Now(), Deadline: clk.Now()}, "booting")
	got, err := st.Cancel(context.Background(), []string{"queued", "later", "sending", "booting", "never"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"queued": "cancelled", "later": "cancelled", "sending": "active", "booting": "none", "never": "none"}
	for _, c := range got {
		if c.Outcome != want[c.ID] {
			t.Errorf("%s: %s, want %s", c.ID, c.Outcome, want[c.ID])
		}
	}
	r := request(t, st, "a-1")
	if r.Outcomes["queued"].State != fleet.StateCancelled || r.Outcomes["later"].State != fleet.StateCancelled || r.Open != 2 {
		t.Fatalf("request %+v: want queued and later cancelled, 2 open", r)
	}
}

// A phone whose start call's answer was lost may be running at GeeLark: a
// cancel leaves it to its status check (active), rather than end it
// cancelled with no billing guard and nothing to stop it.
func TestCancelLeavesAPhoneWhoseStartAnswerWasLost(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "a-1", StopAfter: time.Hour}, "lost", "refused")
	token, _ := claim(t, st, fleet.ActionStart, "lost", "refused")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToRetry, Due: clk.Now().Add(time.Minute), Unanswered: true}, "lost")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToRetry, Due: clk.Now().Add(time.Minute), Code: 47002}, "refused")
	got, err := st.Cancel(context.Background(), []string{"lost", "refused"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"lost": "active", "refused": "cancelled"}
	for _, c := range got {
		if c.Outcome != want[c.ID] {
			t.Errorf("%s: %s, want %s", c.ID, c.Outcome, want[c.ID])
		}
	}
	if p, _ := st.Phone(context.Background(), "lost"); p.State != fleet.StateRetry || !p.Unanswered {
		t.Errorf("lost after the cancel: %s (unanswered %v), want retry, unanswered: its check decides", p.State, p.Unanswered)
	}
}

// A claim moves only phones whose task is the record's current one: a task
// of another generation or number does nothing; a phone whose start call
// was out when its worker died is checked; a phone whose other action is
// in a call waits.
func TestClaimVerdicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	ps := start(t, st, "fresh", "lost", "stale", "stopping")
	stale := ps[2]
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "x"}, "stale") // a duplicate: same generation
	claim(t, st, fleet.ActionStart, "lost")                                      // its worker died in the call
	place(t, st, fleet.Intent{Action: fleet.ActionStop}, "stopping")
	stoken, _ := claim(t, st, fleet.ActionStop, "stopping")
	_ = stoken
	place(t, st, fleet.Intent{Action: fleet.ActionStart}, "stopping") // a start while the stop is in its call
	cs := claims(t, st, "fresh", "lost", "stopping")
	cs = append(cs, fleet.Claim{ID: "stale", Gen: stale.Gen, Task: 2}, fleet.Claim{ID: "stale", Gen: stale.Gen - 1, Task: 1})
	got, err := st.ClaimCall(ctx, fleet.ActionStart, fleet.NewToken(fleet.ActionStart), cs)
	if err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for _, c := range got {
		verdicts = append(verdicts, c.Verdict)
	}
	want := []string{fleet.ClaimGo, fleet.ClaimCheck, fleet.ClaimWait, fleet.ClaimNoop, fleet.ClaimNoop}
	if !slices.Equal(verdicts, want) {
		t.Fatalf("verdicts %v, want %v", verdicts, want)
	}
	if got[0].Attempt != 1 {
		t.Fatalf("fresh: attempt %d, want 1", got[0].Attempt)
	}
}

// A settle takes effect only for phones in the call of its token.
func TestSettleIsFencedByTheCallToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	start(t, st, "p1")
	claim(t, st, fleet.ActionStart, "p1")
	before, _ := st.Phone(ctx, "p1")
	res := settle(t, st, fleet.ActionStart, fleet.NewToken(fleet.ActionStart), fleet.Settle{To: fleet.ToDead, Code: 42001}, "p1")
	if res[0].Outcome != fleet.SettledLost {
		t.Fatalf("settle under another token: %s, want lost", res[0].Outcome)
	}
	if after, _ := st.Phone(ctx, "p1"); after.Ver != before.Ver || after.State != fleet.StateSending {
		t.Fatalf("record changed by a settle under another token: %+v", after)
	}
	if n, _ := st.Ledger().Count(ctx); n != 0 {
		t.Fatalf("%d dead entries written by a settle under another token", n)
	}
}

// A request whose last phone ended is marked ended once, in the step that
// ended the phone, and its notification is queued in that same step; with
// each-phone notifications, one a phone too.
func TestRequestEndQueuesItsNotificationOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "r-1", Notify: "https://hook", Each: true}, "p1", "p2")
	token, _ := claim(t, st, fleet.ActionStart, "p1", "p2")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToReady}, "p1")
	if r := request(t, st, "r-1"); !r.Ended.IsZero() || r.Open != 1 {
		t.Fatalf("after one of two ended: %+v", r)
	}
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToDead, Code: 42001}, "p2")
	if r := request(t, st, "r-1"); r.Ended.IsZero() || r.Open != 0 {
		t.Fatalf("after both ended: %+v", r)
	}
	box, err := rdb.LRange(ctx, st.Space().Key("outbox"), 0, -1).Result()
	want := []string{"phone r-1 p1", "phone r-1 p2", "request r-1"}
	if err != nil || !slices.Equal(box, want) {
		t.Fatalf("outbox %v, %v; want %v", box, err, want)
	}
	// A phone's later lives do not touch the ended request.
	start(t, st, "p1")
	if r := request(t, st, "r-1"); r.Outcomes["p1"].State != fleet.StateReady {
		t.Fatalf("p1's new start changed the ended request: %+v", r.Outcomes["p1"])
	}
}

// The reconciler writes the task of a phone whose record waits for one
// that does not exist (a producer died between the two writes), leaves a
// phone whose task exists, and marks a phone whose start call was out as
// unanswered, so that it is checked before a second start.
func TestReconcilerWritesMissingTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newFakeClock()
	st, rdb := newStore(t, clk)
	aq := asynq.NewClientFromRedisClient(rdb)
	ps := start(t, st, "missing", "present", "lostcall")
	task, err := st.Space().NewTask(fleet.TaskSpec{Action: fleet.ActionStart, ID: "present", Gen: ps[1].Gen, Task: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.WriteTask(ctx, aq, task); err != nil {
		t.Fatal(err)
	}
	claim(t, st, fleet.ActionStart, "lostcall")
	if s, err := st.Reconcile(ctx, 100); err != nil || s.Looked != 0 {
		t.Fatalf("before the grace: %+v, %v; want nothing looked at", s, err)
	}
	clk.Advance(fleet.DefaultGrace + time.Second)
	s, err := st.Reconcile(ctx, 100)
	if err != nil || s.Looked != 3 || s.Rewritten != 2 {
		t.Fatalf("Reconcile: %+v, %v; want 3 looked at, 2 rewritten", s, err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, id := range []string{"missing", "lostcall"} {
		p, _ := st.Phone(ctx, id)
		if p.Task != 2 {
			t.Errorf("%s: task %d, want 2", id, p.Task)
		}
		if _, err := insp.GetTaskInfo(st.Space().StartQueue(), tasks.TaskID(id, p.Gen, p.Task)); err != nil {
			t.Errorf("%s: its task: %v", id, err)
		}
	}
	if p, _ := st.Phone(ctx, "lostcall"); p.State != fleet.StateRetry || !p.Unanswered || p.Call != "" {
		t.Errorf("lostcall: %+v, want retry, unanswered, out of the call", p)
	}
	if p, _ := st.Phone(ctx, "present"); p.Task != 1 {
		t.Errorf("present: task %d, want its own, 1", p.Task)
	}
	if s, _ := st.Reconcile(ctx, 100); s.Looked != 0 {
		t.Fatalf("a second round at once looked at %d phones, want none", s.Looked)
	}
}

// A request's outcome keeps GeeLark's message as it was, whatever it holds.
func TestOutcomeKeepsAnyMessage(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st, _ := newStore(t, clk)
	msg := "say \"no\" \\ to 云手机\n\ttab"
	place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: "r-1"}, "p1")
	token, _ := claim(t, st, fleet.ActionStart, "p1")
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToDead, Code: 42001, Reason: fleet.ReasonGeeLark, Msg: msg}, "p1")
	if o := request(t, st, "r-1").Outcomes["p1"]; o.Msg != msg || o.Code != 42001 || o.Action != fleet.ActionStart {
		t.Fatalf("outcome %+v, want the message %q kept", o, msg)
	}
}
