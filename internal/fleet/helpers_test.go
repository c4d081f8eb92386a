package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/fleet"
	"github.com/phonestart/phonestart/internal/redistest"
)

// fakeClock is a clock that moves only when told to. Sleep moves it by the
// time slept, so code that waits on it runs at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// newFakeClock starts at the current time, to the millisecond, so that keys
// Redis expires by its own clock (the pause) live as long as they would.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Truncate(time.Millisecond)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// newRedis returns a client of a Redis of the test's own.
func newRedis(t testing.TB) (*redistest.Redis, *redis.Client) {
	t.Helper()
	r := redistest.New(t)
	return r, r.Client(t)
}

// newStore returns the records of a Redis of the test's own, on clk.
func newStore(t *testing.T, clk *fakeClock) (*fleet.Store, *redis.Client) {
	t.Helper()
	_, rdb := newRedis(t)
	st, err := fleet.NewStore(rdb, fleet.StoreConfig{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return st, rdb
}

// place gives ids intent in, and returns what it did to each.
func place(t *testing.T, st *fleet.Store, in fleet.Intent, ids ...string) []fleet.Placed {
	t.Helper()
	ps, err := st.Place(t.Context(), in, ids)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// start enqueues ids as a start of their own request.
func start(t *testing.T, st *fleet.Store, ids ...string) []fleet.Placed {
	t.Helper()
	return place(t, st, fleet.Intent{Action: fleet.ActionStart, Request: fleet.NewRequestID(st.Now())}, ids...)
}

// claims are the claims of ids' current tasks.
func claims(t *testing.T, st *fleet.Store, ids ...string) []fleet.Claim {
	t.Helper()
	ps, err := st.Phones(t.Context(), ids...)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]fleet.Claim, len(ps))
	for i, p := range ps {
		out[i] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
	}
	return out
}

// claim claims ids for a call of action and returns the token and the
// verdicts.
func claim(t *testing.T, st *fleet.Store, action string, ids ...string) (string, []fleet.Claimed) {
	t.Helper()
	token := fleet.NewToken(action)
	got, err := st.ClaimCall(t.Context(), action, token, claims(t, st, ids...))
	if err != nil {
		t.Fatal(err)
	}
	return token, got
}

// settle settles ids, claimed under token, all alike: s with each ID.
func settle(t *testing.T, st *fleet.Store, action, token string, s fleet.Settle, ids ...string) []fleet.Settled {
	t.Helper()
	ps, err := st.Phones(t.Context(), ids...)
	if err != nil {
		t.Fatal(err)
	}
	ss := make([]fleet.Settle, len(ids))
	for i, p := range ps {
		ss[i] = s
		ss[i].ID, ss[i].Gen = p.ID, p.Gen
	}
	got, err := st.SettleCall(t.Context(), action, token, 0, ss)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// toBooting enqueues ids and takes them through a start call to booting,
// started now by the store's clock, first due at due.
func toBooting(t *testing.T, st *fleet.Store, due time.Time, ids ...string) {
	t.Helper()
	start(t, st, ids...)
	token, _ := claim(t, st, fleet.ActionStart, ids...)
	settle(t, st, fleet.ActionStart, token, fleet.Settle{To: fleet.ToBooting, Due: due, Deadline: st.Now().Add(5 * time.Minute)}, ids...)
}

// toDead takes phone id's current intent through a call to dead with code.
func toDead(t *testing.T, st *fleet.Store, action, id string, code int, msg string) {
	t.Helper()
	token, got := claim(t, st, action, id)
	if got[0].Verdict != fleet.ClaimGo {
		t.Fatalf("claim of %s for a %s: %s", id, action, got[0].Verdict)
	}
	settle(t, st, action, token, fleet.Settle{To: fleet.ToDead, Code: code, Reason: fleet.ReasonGeeLark, Msg: msg}, id)
}
