package cli_test

import (
	"context"
	"time"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/tasks"
)

// Phones' records, read and moved as the workers do: a test that needs a
// phone booting, ready, dead or stopped takes it there through the calls a
// worker makes (fleet.Store's ClaimCall and SettleCall), so that the
// record, its counts, the events stream, the ledger and the requests all
// move together, as they do in production.

// store returns the records of the test's Redis, in the default namespace.
func (h *harness) store() *fleet.Store {
	h.t.Helper()
	st, err := fleet.NewStore(h.r.Client(h.t), fleet.StoreConfig{})
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// record returns phone id's record (State "" when there is none).
func (h *harness) record(id string) fleet.Phone {
	h.t.Helper()
	p, err := h.store().Phone(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// records returns the records of ids, in order.
func (h *harness) records(ids ...string) []fleet.Phone {
	h.t.Helper()
	ps, err := h.store().Phones(context.Background(), ids...)
	if err != nil {
		h.t.Fatal(err)
	}
	return ps
}

// started reports whether state is that of a phone GeeLark accepted a
// start of: booting, or ready.
func started(state string) bool { return state == fleet.StateBooting || state == fleet.StateReady }

// state returns phone id's state, "none" when phonestart has no record of
// it.
func (h *harness) state(id string) string {
	h.t.Helper()
	if s := h.record(id).State; s != "" {
		return s
	}
	return "none"
}

// taskID is the asynq task ID of phone id's current task.
func (h *harness) taskID(id string) string {
	h.t.Helper()
	p := h.record(id)
	if !p.Known() {
		h.t.Fatalf("phone %s has no record", id)
	}
	return tasks.TaskID(id, p.Gen, max(p.Task, 1))
}

// claim puts ids into one call of action, as a worker about to send it
// does, and returns the call's token. Each must be claimed.
func (h *harness) claim(action string, ids ...string) string {
	h.t.Helper()
	st := h.store()
	ps, err := st.Phones(context.Background(), ids...)
	if err != nil {
		h.t.Fatal(err)
	}
	cs := make([]fleet.Claim, len(ps))
	for i, p := range ps {
		cs[i] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
	}
	token := fleet.NewToken(action)
	got, err := st.ClaimCall(context.Background(), action, token, cs)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range got {
		if c.Verdict != fleet.ClaimGo {
			h.t.Fatalf("claim of phone %s for a %s: %s, want %s", c.ID, action, c.Verdict, fleet.ClaimGo)
		}
	}
	return token
}

// settle writes the answer of the call token of action on ids, s for each.
func (h *harness) settle(action, token string, s fleet.Settle, ids ...string) {
	h.t.Helper()
	st := h.store()
	ps, err := st.Phones(context.Background(), ids...)
	if err != nil {
		h.t.Fatal(err)
	}
	ss := make([]fleet.Settle, len(ps))
	for i, p := range ps {
		ss[i] = s
		ss[i].ID, ss[i].Gen = p.ID, p.Gen
	}
	got, err := st.SettleCall(context.Background(), action, token, 0, ss)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, x := range got {
		if x.Outcome != fleet.SettledOK {
			h.t.Fatalf("settle of phone %s: %s, want %s", x.ID, x.Outcome, fleet.SettledOK)
		}
	}
}

// call takes ids through one call of action answered s.
func (h *harness) call(action string, s fleet.Settle, ids ...string) {
	h.t.Helper()
	h.settle(action, h.claim(action, ids...), s, ids...)
}

// ready starts ids as a worker whose start call GeeLark accepted and found
// them up: "started", then "ready", with url.
func (h *harness) ready(url string, ids ...string) {
	h.t.Helper()
	h.call(fleet.ActionStart, fleet.Settle{To: fleet.ToReady, Event: fleet.EventStarted + "+" + fleet.EventReady, URL: url}, ids...)
}

// booting starts ids as a worker whose start call GeeLark accepted: they
// boot, first checked in an hour.
func (h *harness) booting(url string, ids ...string) {
	h.t.Helper()
	now := time.Now()
	h.call(fleet.ActionStart, fleet.Settle{To: fleet.ToBooting, URL: url, Due: now.Add(time.Hour), Deadline: now.Add(time.Hour)}, ids...)
}

// bootReady ends the boot of booting ids as a worker does on GeeLark's
// word that they are up (a callback's): "ready".
func (h *harness) bootReady(ids ...string) {
	h.t.Helper()
	st := h.store()
	ctx := context.Background()
	for _, id := range ids {
		if ok, err := st.Verdict(ctx, id, true); err != nil || !ok {
			h.t.Fatalf("verdict on phone %s: %v, %v; want it booting", id, ok, err)
		}
	}
	ps, _, err := st.ClaimBoots(ctx, len(ids), time.Minute, fleet.Checks{Poll: time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(ps) != len(ids) {
		h.t.Fatalf("claimed %d boots, want %d", len(ps), len(ids))
	}
	ss := make([]fleet.BootSettle, len(ps))
	for i, p := range ps {
		ss[i] = fleet.BootSettle{ID: p.ID, Ver: p.Ver, To: fleet.BootReady}
	}
	got, err := st.SettleBoots(ctx, 0, ss)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, x := range got {
		if !x.OK {
			h.t.Fatalf("boot settle of phone %s did not take", x.ID)
		}
	}
}

// retry fails one attempt of ids' action with code and msg: they are tried
// again in an hour.
func (h *harness) retry(action string, code int, msg string, ids ...string) {
	h.t.Helper()
	h.call(action, fleet.Settle{To: fleet.ToRetry, Code: code, Reason: fleet.ReasonGeeLark, Msg: msg, Due: time.Now().Add(time.Hour)}, ids...)
}

// die fails ids' action for good with code and msg: they are
// dead-lettered.
func (h *harness) die(action string, code int, msg string, ids ...string) {
	h.t.Helper()
	h.call(action, fleet.Settle{To: fleet.ToDead, Code: code, Reason: fleet.ReasonGeeLark, Msg: msg}, ids...)
}

// stopped stops ids as a worker whose stop call GeeLark accepted.
func (h *harness) stopped(ids ...string) {
	h.t.Helper()
	h.call(fleet.ActionStop, fleet.Settle{To: fleet.ToStopped}, ids...)
}
